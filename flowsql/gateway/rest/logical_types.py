"""Arrow result columns as Flink ``LogicalType`` JSON (``results.columns[].logicalType``).

Contract: :func:`logical_type` maps an Arrow type (through :func:`flowsql.types.from_arrow`,
the one Arrow → Flink mapping) to the JSON Flink's ``LogicalTypeJsonSerializer`` writes:
``{"type": <LogicalTypeRoot>, "nullable": bool, ...}`` with ``length`` (CHAR, VARCHAR,
BINARY, VARBINARY), ``precision``/``scale`` (DECIMAL), ``precision`` (TIME, TIMESTAMP,
TIMESTAMP_LTZ), ``elementType`` (ARRAY), ``keyType``/``valueType`` (MAP) and ``fields``
(ROW: ``[{"name", "fieldType"}]``); the NULL type is ``{"type": "NULL"}`` alone.
A type FlowSQL cannot map (an Arrow duration, say) is described as ``VARCHAR`` and its
values are sent as text (:mod:`.results` does the same), so a client always gets a column.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from flowsql.errors import ValidationError
from flowsql.types import STRING_MAX, FlinkType, from_arrow

_ROOTS = {
    "INT": "INTEGER",
    "TIME": "TIME_WITHOUT_TIME_ZONE",
    "TIMESTAMP": "TIMESTAMP_WITHOUT_TIME_ZONE",
    "TIMESTAMP_LTZ": "TIMESTAMP_WITH_LOCAL_TIME_ZONE",
    "STRING": "VARCHAR",
    "BYTES": "VARBINARY",
}
_LENGTH = {"CHAR", "VARCHAR", "BINARY", "VARBINARY"}
_PRECISION = {"TIME", "TIMESTAMP", "TIMESTAMP_LTZ"}


def flink_type(dt: pa.DataType, nullable: bool = True) -> FlinkType:
    """The Flink type of an Arrow column type; unmappable types read as STRING."""
    try:
        return from_arrow(dt, nullable)
    except ValidationError:
        return FlinkType("VARCHAR", (STRING_MAX,), nullable=nullable)


def logical_type(dt: pa.DataType, nullable: bool = True) -> dict[str, Any]:
    return to_json(flink_type(dt, nullable))


def to_json(t: FlinkType) -> dict[str, Any]:
    root = t.root
    out: dict[str, Any] = {"type": _ROOTS.get(root, root)}
    if root == "NULL":
        return out
    out["nullable"] = t.nullable
    if root in _LENGTH:
        out["length"] = t.params[0] if t.params else 1
    elif root == "DECIMAL":
        out["precision"] = t.params[0] if t.params else 10
        out["scale"] = t.params[1] if len(t.params) > 1 else 0
    elif root in _PRECISION:
        out["precision"] = t.params[0] if t.params else (0 if root == "TIME" else 6)
    elif root == "ARRAY":
        out["elementType"] = to_json(t.children[0])
    elif root == "MAP":
        out["keyType"], out["valueType"] = to_json(t.children[0]), to_json(t.children[1])
    elif root == "ROW":
        out["fields"] = [{"name": n, "fieldType": to_json(c)}
                         for n, c in zip(t.field_names, t.children, strict=True)]
    return out
