"""Python UDFs in batch mode: resolved calls become DuckDB Arrow functions.

Contract (:class:`BatchUdfs`, one per transpiled statement):
- :meth:`BatchUdfs.bind` replaces every ``PYTHON_UDF('f', 'pkg.mod.f', args…)`` of a query
  tree (see :mod:`flowsql.udf.resolve`) by a call of a DuckDB function with a name unique to
  this statement (``__udf_<token>_<k>``), imports the function, and remembers it. A call of
  a Python aggregate function ``g(x, y)`` becomes ``__udf_…(ARRAY_AGG(x), ARRAY_AGG(y))``:
  DuckDB collects each group's arguments (NULLs included, the lists in the same row order)
  and the function folds them with :class:`flowsql.udf.aggregate.UdafRunner` (one
  ``accumulate`` per group). ``LATERAL TABLE(f(x)) AS T(a, b)`` becomes ``LATERAL (SELECT
  UNNEST(__udf_…(x), recursive := true)) AS T(a, b)``: per input row the function's rows as
  a list of structs (:func:`flowsql.udf.invoke.call_table`), unnested by DuckDB; with
  ``LEFT JOIN ... ON TRUE`` an input row without rows keeps NULLs, as in streaming mode.
- :meth:`BatchUdfs.register` registers them on a sandbox connection as vectorized Arrow
  functions (``create_function(..., type='arrow', null_handling='special')``: NULLs reach
  the function, as in streaming mode) and :meth:`BatchUdfs.unregister` removes them; the
  shared batch database sees every cursor's functions, hence the unique names.
- Each call goes through :func:`flowsql.udf.invoke.call_scalar`, the streaming engine's call
  path. DuckDB wraps a Python exception into its own error text, so the first failure is
  kept in :attr:`BatchUdfs.error` (an ``ExecutionError`` naming the function and the first
  offending row) for the runner to raise instead.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import sqlglot
from sqlglot import exp

from flowsql.errors import ExecutionError, FlowSQLError, NotSupportedError, ValidationError
from flowsql.types import to_arrow, to_duckdb
from flowsql.udf.aggregate import UdafRunner
from flowsql.udf.api import AggregateFunction, ScalarFunction, TableFunction
from flowsql.udf.invoke import ROW, call_scalar, call_table
from flowsql.udf.loader import load_function
from flowsql.udf.resolve import is_udf_call, lateral_call, udf_parts

_HUGEINT = pa.decimal128(38, 0)


def flink_argument(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    """An argument as the streaming engine would pass it: DuckDB's HUGEINT (its SUM of
    integers, Arrow ``decimal128(38, 0)``) becomes BIGINT as in Flink, when the values fit;
    a list column (a Python aggregate's arguments) likewise in its values."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.type == _HUGEINT:
        try:
            return arr.cast(pa.int64())
        except pa.ArrowInvalid:
            return arr
    if pa.types.is_list(arr.type) and arr.type.value_type == _HUGEINT:
        try:
            return arr.cast(pa.list_(pa.int64()))
        except pa.ArrowInvalid:
            return arr
    return arr


@dataclass
class BatchUdfs:
    token: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    functions: dict[str, tuple[str, ScalarFunction | AggregateFunction]] = field(default_factory=dict)
    error: ExecutionError | None = None

    def bind(self, tree: exp.Expression) -> exp.Expression:
        """Replace resolved UDF calls by this statement's DuckDB function names."""
        by_path: dict[tuple[str, str], str] = {}

        def rewrite(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Lateral):
                return self._lateral(node)
            if not is_udf_call(node):
                return node
            name, path, args = udf_parts(node)
            key = (name.lower(), path)
            duck = by_path.get(key)
            if duck is None:
                fn = load_function(path, name)
                if isinstance(fn, TableFunction):
                    raise ValidationError(
                        f"table function {name} is not allowed here",
                        hint=f"call it in FROM: ... CROSS JOIN LATERAL TABLE({name}(...))",
                    )
                duck = f"__udf_{self.token}_{len(self.functions)}"
                self.functions[duck] = (name, fn)
                by_path[key] = duck
            if isinstance(self.functions[duck][1], AggregateFunction):
                # one list per argument, collected by DuckDB per group (same row order)
                if isinstance(node.parent, exp.Filter):
                    raise NotSupportedError(f"FILTER (WHERE ...) on Python aggregate function {name}")
                lists = [exp.ArrayAgg(this=a.copy()) for a in args]
                return exp.Anonymous(this=duck, expressions=lists)
            return exp.Anonymous(this=duck, expressions=[a.copy() for a in args])

        return tree.transform(rewrite)

    def _lateral(self, node: exp.Lateral) -> exp.Expression:
        """``LATERAL TABLE(f(x)) [AS T(a, b)]`` → ``LATERAL (SELECT UNNEST(__udf_…(x),
        recursive := true)) AS T(a, b)``: the function returns, per input row, the list of
        its output rows as structs, which DuckDB unnests into columns."""
        inner = lateral_call(node)
        if not is_udf_call(inner, "table"):
            return node
        name, path, args = udf_parts(inner)
        fn = load_function(path, name)
        if not isinstance(fn, TableFunction):
            raise ValidationError(f"{name} is a {fn.kind} function, not a table function")
        duck = f"__udf_{self.token}_{len(self.functions)}"
        self.functions[duck] = (name, fn)
        call = exp.Anonymous(this=duck, expressions=[a.copy() for a in args])
        select = sqlglot.parse_one("SELECT UNNEST(__f, recursive := true)", read="duckdb")
        select.find(exp.Column).replace(call)
        alias = node.args.get("alias")
        if alias is None or not alias.columns:
            alias = exp.TableAlias(
                this=exp.to_identifier(alias.name if alias is not None and alias.name else name),
                columns=[exp.to_identifier(c, quoted=True) for c in fn.names])
        return exp.Lateral(this=exp.Subquery(this=select), alias=alias.copy())

    def _table(self, name: str, fn: TableFunction):
        """Arguments → per input row, a list of structs (the rows the function returns)."""
        struct = pa.struct([pa.field(n, to_arrow(t)) for n, t in zip(fn.names, fn.result_types,
                                                                     strict=True)])

        def call(*columns: Any) -> pa.Array:
            arrays = [flink_argument(c) for c in columns]
            rows = len(arrays[0]) if arrays else 1
            try:
                result = call_table(fn, name, arrays, rows)
            except FlowSQLError as e:
                if self.error is None:
                    self.error = e if isinstance(e, ExecutionError) else ExecutionError(e.message)
                raise RuntimeError(e.message) from None
            index = result.column(ROW).to_numpy()
            counts = np.bincount(index, minlength=rows) if len(index) else np.zeros(rows, int)
            offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]).astype(np.int32))
            values = pa.StructArray.from_arrays(
                [result.column(n).combine_chunks() for n in fn.names], fields=list(struct))
            return pa.ListArray.from_arrays(offsets, values)

        return call, pa.list_(struct)

    def _wrapper(self, name: str, fn: ScalarFunction):
        def call(*columns: Any) -> pa.Array:
            arrays = [flink_argument(c) for c in columns]
            rows = len(arrays[0]) if arrays else 1
            try:
                return call_scalar(fn, name, arrays, rows)
            except FlowSQLError as e:
                if self.error is None:
                    self.error = e if isinstance(e, ExecutionError) else ExecutionError(e.message)
                raise RuntimeError(e.message) from None

        return call

    def _aggregate(self, name: str, fn: AggregateFunction):
        """The group's argument lists (one ListArray per argument) → one result per group."""
        runner = UdafRunner(fn, name)

        def call(*columns: Any) -> pa.Array:
            lists = [flink_argument(c) for c in columns]
            try:
                values = []
                for i in range(len(lists[0]) if lists else 0):
                    acc = runner.create()
                    if lists[0][i].is_valid:
                        acc = runner.accumulate(acc, [la[i].values for la in lists])
                    values.append(runner.value(acc))
                return runner.results(values)
            except FlowSQLError as e:
                if self.error is None:
                    self.error = e if isinstance(e, ExecutionError) else ExecutionError(e.message)
                raise RuntimeError(e.message) from None

        return call

    def register(self, con: duckdb.DuckDBPyConnection) -> None:
        for duck, (name, fn) in self.functions.items():
            if isinstance(fn, TableFunction):
                wrapper, arrow_type = self._table(name, fn)
                fields = ", ".join(f'"{n}" {to_duckdb(t.with_nullable(True))}'
                                   for n, t in zip(fn.names, fn.result_types, strict=True))
                returns = duckdb.sqltype(f"STRUCT({fields})[]")
            else:
                wrapper = self._aggregate(name, fn) if isinstance(fn, AggregateFunction) \
                    else self._wrapper(name, fn)
                returns = duckdb.sqltype(to_duckdb(fn.result_type.with_nullable(True)))
            con.create_function(duck, wrapper, None, returns, type="arrow",
                                null_handling="special", side_effects=not fn.deterministic)

    def unregister(self, con: duckdb.DuckDBPyConnection) -> None:
        for duck in self.functions:
            try:
                con.remove_function(duck)
            except duckdb.Error:
                pass
