"""The envelope every aggregating operator's snapshot shares.

Contract: :func:`seal` adds to an operator's state tables a one-row ``meta`` table (the
operator's scalar fields, e.g. watermark and sequence counter) and, when the accumulators
know their input schema, an empty ``input_schema`` table carrying it. :func:`unseal` takes
both off again on restore, sets the accumulators' input schema, and returns the scalars and
the remaining state tables.
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
