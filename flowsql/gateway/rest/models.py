"""Request and response bodies of the REST API, with Flink's exact JSON field names.

Contract: request bodies accept Flink's fields and ignore unknown ones (as Flink's Jackson
mapping does for forward compatibility); response models document the shapes in the OpenAPI
document. Fetch results are encoded by :mod:`.results` (not through pydantic: a page is
encoded once, with orjson).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class OpenSessionRequest(Body):
    sessionName: str | None = None
    properties: dict[str, str] = Field(default_factory=dict)


class OpenSessionResponse(BaseModel):
    sessionHandle: str


class SessionConfigResponse(BaseModel):
    properties: dict[str, str]


class StatusResponse(BaseModel):
    status: str


class ApiVersionsResponse(BaseModel):
    versions: list[str]


class InfoResponse(BaseModel):
    productName: str
    version: str


class ConfigureSessionRequest(Body):
    statement: str
    executionTimeout: int | None = Field(default=None, ge=0)


class CompleteStatementRequest(Body):
    statement: str = ""
    position: int = Field(default=0, ge=0)


class CompleteStatementResponse(BaseModel):
    candidates: list[str]


class ExecuteStatementRequest(Body):
    statement: str
    executionConfig: dict[str, str] = Field(default_factory=dict)
    executionTimeout: int | None = Field(default=None, ge=0)


class ExecuteStatementResponse(BaseModel):
    operationHandle: str


class ColumnInfo(BaseModel):
    name: str
    logicalType: dict[str, Any]
    comment: str | None = None


class RowData(BaseModel):
    kind: str
    fields: list[Any]


class ResultInfo(BaseModel):
    columns: list[ColumnInfo]
    rowFormat: str
    data: list[RowData]


class FetchResultsResponse(BaseModel):
    resultType: str
    isQueryResult: bool | None = None
    jobID: str | None = None
    resultKind: str | None = None
    results: ResultInfo | None = None
    nextResultUri: str | None = None


class ErrorResponse(BaseModel):
    errors: list[str]


class Empty(BaseModel):
    """Flink answers heartbeat and configure-session with an empty object."""
