"""The envelope every aggregating operator's snapshot shares.

Contract: :func:`seal` adds to an operator's state tables a one-row ``meta`` table (the
operator's scalar fields, e.g. watermark and sequence counter) and, when the accumulators
know their input schema, an empty ``input_schema`` table carrying it. :func:`unseal` takes
both off again on restore, sets the accumulators' input schema, and returns the scalars and
the remaining state tables. :func:`clock_meta` / :func:`read_clock_meta` are the ``meta``
table of operators that buffer rows until the watermark (watermark and next arrival number).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from flowsql.operators.accumulators import Accumulators


def seal(snap: dict[str, pa.Table], accs: Accumulators, **meta: Any) -> dict[str, pa.Table]:
    snap["meta"] = pa.table({k: [v] for k, v in meta.items()})
    if accs.input_schema is not None:
        snap["input_schema"] = accs.input_schema.empty_table()
    return snap


def unseal(
    state: dict[str, pa.Table], accs: Accumulators
) -> tuple[dict[str, Any], dict[str, pa.Table]]:
    state = dict(state)
    meta = state.pop("meta")
    schema = state.pop("input_schema", None)
    if schema is not None:
        accs.input_schema = schema.schema
    return {name: meta.column(name)[0].as_py() for name in meta.column_names}, state


def clock_meta(watermark: int, seq: int) -> pa.Table:
    return pa.table({"watermark": [watermark], "seq": [seq]})


def read_clock_meta(state: dict[str, pa.Table], default: tuple[int, int]) -> tuple[int, int]:
    """(watermark, next arrival number) from a :func:`clock_meta` table, else ``default``."""
    meta = state.get("meta")
    if meta is None:
        return default
    return meta.column("watermark")[0].as_py(), meta.column("seq")[0].as_py()
