"""Correlate: input rows joined with what a Python table function returns for them
(``LATERAL TABLE(f(x))``, planned by :mod:`flowsql.planner.lateral`).

Contract: params ``{"udf": [name, path], "args": [column, ...], "outer": bool,
"outputs": [[output column, function column], ...], "keep": [input column, ...]}``. Per
batch, the function is called once with the argument columns
(:func:`flowsql.udf.invoke.call_table`, the same call path as batch mode); each output row
is the input row its ``$row`` names (``keep`` columns, and ``$row_kind`` when the input is a
changelog) followed by the function's columns. With ``outer``, an input row the function
returned nothing for is emitted once with NULL function columns. Output rows follow the input
order. Stateless: nothing to snapshot.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from flowsql.messages import ROW_KIND
from flowsql.operators.base import Collector, Operator
from flowsql.types import to_arrow
from flowsql.udf.api import TableFunction
from flowsql.udf.invoke import ROW, call_table
from flowsql.udf.loader import load_function


class CorrelateOperator(Operator):
    def __init__(self, params: dict[str, Any]) -> None:
        name, path = params["udf"]
        fn = load_function(path, name)
        if not isinstance(fn, TableFunction):
            raise TypeError(f"{path} is not a table function")
        self.fn, self.name = fn, name
        self.args = list(params["args"])
        self.outer = bool(params["outer"])
        self.outputs = [tuple(o) for o in params["outputs"]]
        self.keep = list(params["keep"])
        types = dict(zip(fn.names, fn.result_types, strict=True))
        self.types = {f: to_arrow(types[f]) for _, f in self.outputs}

    def process_batch(self, batch: pa.RecordBatch, out: Collector, input_index: int = 0) -> None:
        self.ctx.metrics.records_in += batch.num_rows
        n = batch.num_rows
        if n == 0:
            return
        arrays = [batch.column(batch.schema.get_field_index(a)) for a in self.args]
        result = call_table(self.fn, self.name, arrays, n)
        rows = result.column(ROW).to_numpy()
        fn_cols = [result.column(f).combine_chunks() for _, f in self.outputs]
        if self.outer:
            missing = np.setdiff1d(np.arange(n, dtype=np.int64), rows, assume_unique=False)
            if len(missing):
                rows = np.concatenate([rows, missing])
                fn_cols = [pa.concat_arrays([c, pa.nulls(len(missing), self.types[f])])
                           for c, (_, f) in zip(fn_cols, self.outputs, strict=True)]
                order = np.argsort(rows, kind="stable")
                rows = rows[order]
                take = pa.array(order)
                fn_cols = [c.take(take) for c in fn_cols]
        if not len(rows):
            return
        index = pa.array(rows)
        cols = [batch.column(batch.schema.get_field_index(k)).take(index) for k in self.keep]
        names = list(self.keep) + [o for o, _ in self.outputs]
        cols += fn_cols
        if ROW_KIND in batch.schema.names:
            names.append(ROW_KIND)
            cols.append(batch.column(batch.schema.get_field_index(ROW_KIND)).take(index))
        out.emit(pa.RecordBatch.from_arrays(cols, names=names))
        self.ctx.metrics.records_out += len(rows)
