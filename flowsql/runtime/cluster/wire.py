"""Plain-data forms of what the control calls carry: errors, job infos, process stats.

Contract: every function maps a runtime value to JSON-able data and back, so the JobManager,
the TaskManagers and clients exchange only plain data (architecture §4). Errors keep their
FlowSQL class, message, hint and operator id (:mod:`flowsql.runtime.network.codec`).
"""

from __future__ import annotations

from typing import Any

import orjson

from flowsql.errors import ExecutionError, FlowSQLError
from flowsql.runtime.descriptors import TaskReport
from flowsql.runtime.jobmanager.jobmanager import JobInfo, JobTotals
from flowsql.runtime.network.codec import decode_error, encode_error


def error_to_data(error: FlowSQLError | None) -> dict[str, Any] | None:
    return None if error is None else orjson.loads(encode_error(error))


def error_from_data(data: dict[str, Any] | None) -> ExecutionError | None:
    if data is None:
        return None
    err = decode_error(orjson.dumps(data))
    if isinstance(err, ExecutionError):
        return err
    out = ExecutionError(err.message, hint=err.hint)
    out.__cause__ = err
    return out


def report_to_data(report: TaskReport) -> dict[str, Any]:
    return {"tm_id": report.tm_id, "registration": report.registration,
            "task_id": report.task_id, "state": report.state,
            "error": error_to_data(report.error), "details": report.details,
            "metrics": report.metrics}


def report_from_data(data: dict[str, Any]) -> TaskReport:
    return TaskReport(str(data["tm_id"]), int(data["registration"]), str(data["task_id"]),
                      str(data["state"]), error_from_data(data.get("error")),
                      data.get("details"), data.get("metrics") or {})


def info_to_data(info: JobInfo) -> dict[str, Any]:
    return dict(info.__dict__)


def info_from_data(data: dict[str, Any]) -> JobInfo:
    return JobInfo(**{k: data.get(k) for k in JobInfo.__dataclass_fields__})


def totals_from_data(data: dict[str, Any]) -> JobTotals:
    return JobTotals(**{k: int(data.get(k, 0)) for k in JobTotals.__dataclass_fields__})
