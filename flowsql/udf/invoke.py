"""Call a vectorized scalar or table UDF on Arrow arrays — the one code path both engines use.

Contract of :func:`call_scalar(fn, sql_name, args, num_rows)`:
1. call ``fn.func(*args)`` once with the whole arrays (no per-row Python);
2. the result (a pyarrow Array / ChunkedArray, a list or a numpy array) becomes a
   ``pa.Array`` of ``num_rows`` values cast to the declared result type;
3. any failure raises ``ExecutionError`` naming the SQL function. When the function itself
   raised, the message shows the first offending row's arguments, found by calling the
   function again on one-row slices (on this error path only, at most
   :data:`MAX_PROBE_ROWS` rows), and the exception's type and first line — no traceback.
   A wrong result length or a result that does not cast to the declared type is named too.

:func:`call_table` does the same for a table function (its result shape is documented there).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from flowsql.errors import ExecutionError, FlowSQLError
from flowsql.types import to_arrow
from flowsql.udf.api import ScalarFunction, TableFunction

MAX_PROBE_ROWS = 10_000


def _first_line(exc: BaseException) -> str:
    text = (str(exc).splitlines() or [""])[0]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def row_text(args: list[pa.Array], i: int) -> str:
    """``(arg1, arg2, …)`` of row ``i`` as SQL-ish literals."""
    def lit(v: Any) -> str:
        if v is None:
            return "NULL"
        if isinstance(v, str):
            return "'" + v.replace("'", "''") + "'"
        return str(v)

    return "(" + ", ".join(lit(a[i].as_py()) for a in args) + ")"


def first_failing_row(func: Any, args: list[pa.Array], num_rows: int) -> tuple[int, BaseException] | None:
    """The first row (index, exception) on which ``func`` raises when called row by row."""
    for i in range(min(num_rows, MAX_PROBE_ROWS)):
        try:
            func(*[a.slice(i, 1) for a in args])
        except Exception as exc:  # noqa: BLE001 - user code
            return i, exc
    return None


def failure(sql_name: str, args: list[pa.Array], num_rows: int, exc: BaseException,
            func: Any) -> ExecutionError:
    """The ExecutionError for a UDF that raised ``exc`` on a batch (see step 3)."""
    found = first_failing_row(func, args, num_rows) if args else None
    if found is not None:
        i, row_exc = found
        return ExecutionError(
            f"Python function '{sql_name}' raised {_first_line(row_exc)} on the row with "
            f"arguments {row_text(args, i)}",
            hint="fix the function or filter such rows out before calling it",
        )
    return ExecutionError(f"Python function '{sql_name}' raised {_first_line(exc)}",
                          hint="fix the function; it is called with whole pyarrow arrays")


def _run(func: Any, sql_name: str, args: list[pa.Array], num_rows: int) -> Any:
    """``func(*args)``; an exception of the user's code becomes :func:`failure`'s error."""
    try:
        return func(*args)
    except FlowSQLError:
        raise
    except Exception as exc:  # noqa: BLE001 - user code
        raise failure(sql_name, args, num_rows, exc, func) from None


_RESULT_ERRORS = (pa.ArrowException, TypeError, ValueError, OverflowError)


def call_scalar(fn: ScalarFunction, sql_name: str, args: list[pa.Array], num_rows: int) -> pa.Array:
    """One batch through a scalar UDF (see the module contract)."""
    target = to_arrow(fn.result_type)
    out = _run(fn.func, sql_name, args, num_rows)
    try:
        if isinstance(out, pa.ChunkedArray):
            out = out.combine_chunks()
        if not isinstance(out, pa.Array):
            out = pa.array(out, type=target)
        if len(out) != num_rows:
            raise ExecutionError(
                f"Python function '{sql_name}' returned {len(out)} values for {num_rows} rows",
                hint="a vectorized function returns one value per input row",
            )
        return out if out.type == target else out.cast(target)
    except FlowSQLError:
        raise
    except _RESULT_ERRORS as exc:
        raise ExecutionError(
            f"Python function '{sql_name}' returned values that are not {fn.result_type}: "
            f"{_first_line(exc)}",
            hint="return a pyarrow array of the declared result type",
        ) from None


ROW = "$row"


def call_table(fn: TableFunction, sql_name: str, args: list[pa.Array], num_rows: int) -> pa.Table:
    """One batch through a table function: a table of ``$row`` (int64, the input row each
    output row belongs to, ascending) and the declared columns, cast to their types.

    The function returns a ``pa.Table`` / ``pa.RecordBatch`` / dict of columns holding
    ``$row`` and the declared columns by name (errors as in :func:`call_scalar`)."""
    out = _run(fn.func, sql_name, args, num_rows)
    try:
        if isinstance(out, dict):
            out = pa.table(out)
        elif isinstance(out, pa.RecordBatch):
            out = pa.Table.from_batches([out])
        if not isinstance(out, pa.Table):
            raise TypeError(f"it returned {type(out).__name__}")
        missing = [n for n in (ROW, *fn.names) if n not in out.column_names]
        if missing:
            raise TypeError("the result lacks column(s) " + ", ".join(missing))
        rows = out.column(ROW).cast(pa.int64())
        if len(rows) and (pc.min(rows).as_py() < 0 or pc.max(rows).as_py() >= num_rows
                          or rows.null_count):
            raise ValueError(f"'{ROW}' must index the {num_rows} input rows")
        cols = {ROW: rows}
        for name, ftype in zip(fn.names, fn.result_types, strict=True):
            cols[name] = out.column(name).cast(to_arrow(ftype))
        table = pa.table(cols)
        order = pc.sort_indices(table.column(ROW))  # stable: keeps each row's output order
        return table.take(order)
    except FlowSQLError:
        raise
    except _RESULT_ERRORS as exc:
        raise ExecutionError(
            f"Python table function '{sql_name}' returned an unusable result: {_first_line(exc)}",
            hint=f"return a pyarrow table (or dict of columns) with '{ROW}' (input row index) "
                 f"and {', '.join(fn.names)}",
        ) from None
