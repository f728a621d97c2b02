"""Drive a Python aggregate function (``@udaf``) — the one code path both engines use.

Contract (:class:`UdafRunner`, one per aggregate call and operator):
- ``create()`` → a fresh accumulator; ``accumulate(acc, arrays)`` / ``retract(acc, arrays)``
  fold one group's rows of a batch (one ``pa.Array`` per argument) into it and return the
  accumulator (the function's return value, or ``acc`` when it returned None: changed in
  place); ``merge(acc, others)``; ``value(acc)`` → the Python result value.
- ``results(values)`` → a ``pa.Array`` of the declared result type.
- Any exception of the function raises ``ExecutionError`` naming the SQL function and the
  method (and, for accumulate/retract, the first offending row's arguments, found by
  folding the rows one by one into a fresh accumulator, on this error path only). A function
  without ``retract`` fed a retraction: ``NotSupportedError`` saying to define retract.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from flowsql.errors import ExecutionError, FlowSQLError, NotSupportedError
from flowsql.types import to_arrow
from flowsql.udf.api import AggregateFunction
from flowsql.udf.invoke import _RESULT_ERRORS, MAX_PROBE_ROWS, _first_line, row_text


class UdafRunner:
    def __init__(self, fn: AggregateFunction, sql_name: str) -> None:
        self.fn = fn
        self.name = sql_name
        self.impl = fn.instance()
        self.type = to_arrow(fn.result_type)

    def _fail(self, method: str, exc: BaseException, args: list[pa.Array] | None = None) -> ExecutionError:
        if args:
            for i in range(min(len(args[0]), MAX_PROBE_ROWS)):
                try:
                    getattr(self.impl, method)(self.impl.create_accumulator(),
                                               *[a.slice(i, 1) for a in args])
                except Exception as row_exc:  # noqa: BLE001 - user code
                    return ExecutionError(
                        f"Python aggregate function '{self.name}' raised {_first_line(row_exc)} "
                        f"in {method} on the row with arguments {row_text(args, i)}",
                        hint="fix the function or filter such rows out before aggregating",
                    )
        return ExecutionError(f"Python aggregate function '{self.name}' raised "
                              f"{_first_line(exc)} in {method}")

    def _call(self, method: str, *args: Any, arrays: list[pa.Array] | None = None) -> Any:
        try:
            return getattr(self.impl, method)(*args)
        except FlowSQLError:
            raise
        except Exception as exc:  # noqa: BLE001 - user code
            raise self._fail(method, exc, arrays) from None

    def create(self) -> Any:
        return self._call("create_accumulator")

    def accumulate(self, acc: Any, arrays: list[pa.Array]) -> Any:
        out = self._call("accumulate", acc, *arrays, arrays=arrays)
        return acc if out is None else out

    def retract(self, acc: Any, arrays: list[pa.Array]) -> Any:
        if not self.fn.can_retract:
            raise NotSupportedError(
                f"Python aggregate function {self.name} over an updating (retracting) input",
                hint="define retract(acc, *args) in its class",
            )
        out = self._call("retract", acc, *arrays, arrays=arrays)
        return acc if out is None else out

    def merge(self, acc: Any, others: list[Any]) -> Any:
        if not self.fn.can_merge:
            raise NotSupportedError(f"Python aggregate function {self.name} without merge()")
        out = self._call("merge", acc, others)
        return acc if out is None else out

    def value(self, acc: Any) -> Any:
        return self._call("get_value", acc)

    def results(self, values: list[Any]) -> pa.Array:
        try:
            return pa.array(values, type=self.type)
        except _RESULT_ERRORS as exc:
            raise ExecutionError(
                f"Python aggregate function '{self.name}' returned values that are not "
                f"{self.fn.result_type}: {_first_line(exc)}",
                hint="get_value returns one Python value of the declared result type",
            ) from None
