"""Arrow-native, mergeable partial aggregates for the aggregation operators.

Contract (one :class:`Accumulators` per list of :class:`~flowsql.operators.specs.AggCall`):
- :meth:`partial` turns raw input rows into one row per group (``group_keys`` + state
  columns) with ONE vectorized ``group_by`` over the batch. ``FILTER (WHERE f)`` is applied by
  masking the input (a NULL filter value counts as false).
- :meth:`merge` combines any number of state/partial tables (``concat`` + ``group_by`` +
  merge-aggregate); the result is again a state table, so snapshots are plain tables.
- :meth:`results` turns a state table into the output columns, one per AggCall, in order.
- State columns of agg ``i`` are named ``a{i}.cnt``, ``a{i}.sum``, ``a{i}.min``, ``a{i}.max``,
  ``a{i}.val`` and ``a{i}.seq``:

  ===============  ===========================  ==================================
  function         state                        merge
  ===============  ===========================  ==================================
  COUNT[_STAR]     cnt                          sum
  SUM              sum, cnt (non-null values)   sum, sum  (result NULL if cnt = 0)
  AVG              sum (double), cnt            sum, sum  (result sum / cnt, DOUBLE)
  MIN / MAX        min / max                    min / max
  FIRST/LAST_VALUE val, seq (arrival order)     seq min/max, val = val at that seq
  ===============  ===========================  ==================================

- Retraction (``sign`` given, +1 / -1 per row): COUNT/SUM/AVG state is signed, so -U/-D rows
  subtract. MIN/MAX/FIRST_VALUE/LAST_VALUE cannot retract: :meth:`check_retractable` raises
  :class:`~flowsql.errors.NotSupportedError`.
- DISTINCT: COUNT/SUM/AVG(DISTINCT x) are not computed by :meth:`partial`; the operator keeps
  the set of distinct ``(group, x)`` values itself (:meth:`distinct_values`) and feeds the
  de-duplicated values (or, for a changelog, the appear/disappear transitions) to
  :meth:`distinct_partial`, whose output merges like any partial. MIN/MAX/FIRST/LAST(DISTINCT x)
  equal the plain aggregates and are computed as such.
- FIRST_VALUE / LAST_VALUE skip NULLs (as Flink does) and follow arrival order: the input
  needs a unique, increasing int64 ``$seq`` column (:data:`SEQ`); the value of the row with
  the smallest (largest) seq is found with a hash lookup (``index_in``), not with a sort.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flowsql.errors import NotSupportedError
from flowsql.operators.specs import AggCall

SEQ = "$seq"
SIGN = "$sign"
VALUE = "$v"
RETRACTABLE = ("COUNT", "COUNT_STAR", "SUM", "AVG")
_ORDERED = ("FIRST_VALUE", "LAST_VALUE")
# Typed scalars for compute calls on the per-batch path: a bare Python int / None argument
# makes pyarrow's converter retry a failing optional import (dateutil) on every call.
_ZERO = pa.scalar(0, pa.int64())
_TRUE = pa.scalar(True, pa.bool_())


def _state_cols(i: int, fn: str) -> list[tuple[str, str]]:
    """(state column, merge function) pairs of agg ``i``."""
    p = f"a{i}."
    if fn in ("COUNT", "COUNT_STAR"):
        return [(p + "cnt", "sum")]
    if fn in ("SUM", "AVG"):
        return [(p + "sum", "sum"), (p + "cnt", "sum")]
    if fn == "MIN":
        return [(p + "min", "min")]
    if fn == "MAX":
        return [(p + "max", "max")]
    if fn == "FIRST_VALUE":
        return [(p + "seq", "min")]  # a{i}.val follows the seq (see merge)
    return [(p + "seq", "max")]


def concat(tables: Sequence[pa.Table]) -> pa.Table:
    """Concatenate tables whose schemas may differ by missing / null-typed columns."""
    tables = [t for t in tables if t is not None]
    if len(tables) == 1:
        return tables[0]
    return pa.concat_tables(tables, promote_options="permissive")


class Accumulators:
    """The aggregate calls of one operator, compiled to vectorized partial/merge/result steps."""

    def __init__(self, aggs: Sequence[AggCall]) -> None:
        self.aggs = tuple(aggs)
        self.distinct = tuple(
            i for i, a in enumerate(self.aggs) if a.distinct and a.function in RETRACTABLE
        )
        self.plain = tuple(i for i in range(len(self.aggs)) if i not in self.distinct)
        self.needs_seq = any(a.function in _ORDERED for a in self.aggs)
        self.input_schema: pa.Schema | None = None

    # -- planning-time facts -------------------------------------------------------------
    @property
    def retractable(self) -> bool:
        return all(a.function in RETRACTABLE for a in self.aggs)

    def check_retractable(self) -> None:
        bad = sorted({a.function for a in self.aggs if a.function not in RETRACTABLE})
        if bad:
            raise NotSupportedError(
                f"{', '.join(bad)} over an updating (retracting) input",
                hint="COUNT, SUM and AVG can retract; MIN/MAX/FIRST_VALUE/LAST_VALUE cannot yet",
            )

    def output_type(self, i: int) -> pa.DataType:
        a = self.aggs[i]
        if a.function in ("COUNT", "COUNT_STAR"):
            return pa.int64()
        if a.function == "AVG":
            return pa.float64()
        if a.function == "PYTHON_UDAF":  # the declared result type of the Python function
            from flowsql.types import to_arrow
            from flowsql.udf.loader import load_function

            return to_arrow(load_function(a.udf[1], a.udf[0]).result_type)  # type: ignore[index]
        t = self.input_schema.field(a.input).type if self.input_schema is not None else pa.null()
        if a.function == "SUM":
            if pa.types.is_integer(t) or pa.types.is_boolean(t) or pa.types.is_null(t):
                return pa.int64()
            if pa.types.is_floating(t):
                return pa.float64()
            if pa.types.is_decimal(t):
                return pa.decimal128(38, t.scale)
        return t

    def state_columns(self) -> list[tuple[str, str]]:
        """Every state column with how it merges: ``sum`` / ``min`` / ``max``, ``first`` /
        ``last`` for a FIRST_VALUE / LAST_VALUE seq (smallest / largest wins) and
        ``follow:<seq column>`` for the value that goes with that seq."""
        cols: list[tuple[str, str]] = []
        for i, a in enumerate(self.aggs):
            for col, fn in _state_cols(i, a.function):
                if a.function in _ORDERED:
                    fn = "first" if a.function == "FIRST_VALUE" else "last"
                    cols += [(col, fn), (f"a{i}.val", f"follow:{col}")]
                else:
                    cols.append((col, fn))
        return cols

    def count_columns(self) -> list[str]:
        """The count state columns (``a{i}.cnt`` of COUNT, SUM and AVG): int64, never NULL."""
        return [f"a{i}.cnt" for i, a in enumerate(self.aggs) if a.function in RETRACTABLE]

    def zero_when_empty(self) -> set[str]:
        """State columns whose empty state may be held as 0 instead of NULL, with the same
        :meth:`results`: the counts, and the sums of SUM / AVG (their count, 0, makes the
        result NULL)."""
        sums = [f"a{i}.sum" for i, a in enumerate(self.aggs) if a.function in ("SUM", "AVG")]
        return {*self.count_columns(), *sums}

    def bind(self, schema: pa.Schema) -> None:
        if self.input_schema is None:
            self.input_schema = schema

    # -- partial -------------------------------------------------------------------------
    def _masked(self, table: pa.Table, a: AggCall) -> pa.ChunkedArray | pa.Array | None:
        x = table.column(a.input) if a.input is not None else None
        if a.filter is None:
            return x
        keep = pc.fill_null(table.column(a.filter), False)
        if x is None:
            return pc.if_else(keep, _TRUE, pa.scalar(None, pa.bool_()))
        return pc.if_else(keep, x, pa.scalar(None, x.type))

    def partial(
        self,
        table: pa.Table | pa.RecordBatch,
        keys: Sequence[str],
        *,
        sign: pa.Array | None = None,
        extra: Sequence[tuple[str, str, str]] = (),
    ) -> pa.Table:
        """One row per group of ``table``: ``keys`` + state columns of the plain aggs.

        ``sign`` (int64 +1/-1 per row) makes COUNT/SUM/AVG signed. ``extra`` adds
        ``(input column, pyarrow hash function, output name)`` aggregations (e.g. session
        bounds) to the same group_by.
        """
        if isinstance(table, pa.RecordBatch):
            table = pa.Table.from_batches([table])
        self.bind(table.schema)
        cols: dict[str, pa.Array] = {k: table.column(k) for k in keys}
        aggs: list[tuple[str, str]] = []
        names: list[str] = []
        ordered: list[tuple[int, str]] = []
        for i in self.plain:
            a = self.aggs[i]
            x = self._masked(table, a)
            self._add_partial(i, a.function, x, sign, cols, aggs, names,
                              seq=table.column(SEQ) if a.function in _ORDERED else None)
            if a.function in _ORDERED:
                ordered.append((i, f"$x{i}"))
        for col, fn, name in extra:
            cols[f"$e.{name}"] = table.column(col)
            aggs.append((f"$e.{name}", fn))
            names.append(name)
        work = pa.table(cols)
        out = _group(work, keys, aggs)
        out = out.rename_columns(list(keys) + names)
        for i, xcol in ordered:
            # The seq is the arrival number of one input row: fetch its value by hash lookup.
            idx = pc.index_in(out.column(f"a{i}.seq"), value_set=_arr(work.column(f"$s{i}")))
            out = out.append_column(f"a{i}.val", pc.take(work.column(xcol), idx))
        return out

    def _add_partial(
        self,
        i: int,
        fn: str,
        x: pa.Array | pa.ChunkedArray | None,
        sign: pa.Array | None,
        cols: dict[str, pa.Array],
        aggs: list,
        names: list[str],
        seq: pa.ChunkedArray | None = None,
    ) -> None:
        """Add the work columns and hash aggregations that build agg ``i``'s state."""
        p = f"a{i}."
        if fn == "COUNT_STAR" and x is None:
            if sign is None:
                aggs.append(([], "count_all"))
            else:
                cols[f"$c{i}"] = sign
                aggs.append((f"$c{i}", "sum"))
            names.append(p + "cnt")
            return
        valid = pc.is_valid(x)
        if fn in ("COUNT", "COUNT_STAR", "SUM", "AVG"):
            if sign is None:
                cols[f"$c{i}"] = pc.cast(valid, pa.int64())
            else:
                cols[f"$c{i}"] = pc.if_else(valid, sign, _ZERO)
            if fn in ("SUM", "AVG"):
                v = pc.cast(x, pa.float64()) if fn == "AVG" else x
                if fn == "SUM" and (pa.types.is_integer(v.type) or pa.types.is_boolean(v.type)):
                    v = pc.cast(v, pa.int64())
                cols[f"$x{i}"] = v if sign is None else pc.multiply(v, sign)
                aggs.append((f"$x{i}", "sum"))
                names.append(p + "sum")
            aggs.append((f"$c{i}", "sum"))
            names.append(p + "cnt")
        elif fn in ("MIN", "MAX"):
            cols[f"$x{i}"] = x
            aggs.append((f"$x{i}", fn.lower()))
            names.append(p + fn.lower())
        else:
            cols[f"$x{i}"] = x
            cols[f"$s{i}"] = pc.if_else(valid, seq, pa.scalar(None, pa.int64()))
            aggs.append((f"$s{i}", "min" if fn == "FIRST_VALUE" else "max"))
            names.append(p + "seq")

    # -- distinct ------------------------------------------------------------------------
    def distinct_values(
        self, table: pa.Table, i: int, keys: Sequence[str], *, sign: pa.Array | None = None
    ) -> pa.Table:
        """Rows ``keys + $v (+ $sign)`` feeding DISTINCT agg ``i`` (NULL / filtered-out dropped)."""
        a = self.aggs[i]
        x = self._masked(table, a)
        cols = {k: table.column(k) for k in keys}
        cols[VALUE] = x
        if sign is not None:
            cols[SIGN] = sign
        t = pa.table(cols)
        return t.filter(pc.is_valid(x))

    def distinct_partial(
        self, values: pa.Table, i: int, keys: Sequence[str], *, signed: bool = False
    ) -> pa.Table:
        """State columns of DISTINCT agg ``i`` computed from already de-duplicated ``$v`` rows
        (``signed``: rows carry ``$sign`` = +1 appear / -1 disappear)."""
        fn = self.aggs[i].function
        cols = {k: values.column(k) for k in keys}
        aggs: list = []
        names: list[str] = []
        sign = values.column(SIGN) if signed else None
        self._add_partial(i, fn, values.column(VALUE), sign, cols, aggs, names)
        work = pa.table(cols)
        out = _group(work, keys, aggs)
        return out.rename_columns(list(keys) + names)

    # -- merge ---------------------------------------------------------------------------
    def merge(
        self,
        tables: Sequence[pa.Table],
        keys: Sequence[str],
        *,
        extra: Sequence[tuple[str, str]] = (),
    ) -> pa.Table:
        """Merge state/partial tables into one state row per group.

        ``extra`` lists ``(column, hash function)`` pairs merged alongside (output keeps the
        column name). Works on any row order: FIRST/LAST use the seq, not the position.
        """
        table = concat(tables)
        aggs: list[tuple[str, str]] = []
        names: list[str] = []
        ordered: list[int] = []
        for i, a in enumerate(self.aggs):
            for col, fn in _state_cols(i, a.function):
                if col in table.column_names:
                    aggs.append((col, fn))
                    names.append(col)
            if a.function in _ORDERED and f"a{i}.seq" in table.column_names:
                ordered.append(i)
        for col, fn in extra:
            aggs.append((col, fn))
            names.append(col)
        out = _group(table, keys, aggs)
        out = out.rename_columns(list(keys) + names)
        for i in ordered:
            idx = pc.index_in(out.column(f"a{i}.seq"), value_set=_arr(table.column(f"a{i}.seq")))
            out = out.append_column(f"a{i}.val", pc.take(table.column(f"a{i}.val"), idx))
        return out

    # -- result --------------------------------------------------------------------------
    def results(self, state: pa.Table) -> list[pa.Array]:
        """The output column of every agg, in AggCall order, for each state row."""
        n = state.num_rows
        out: list[pa.Array] = []
        for i, a in enumerate(self.aggs):
            p = f"a{i}."
            typ = self.output_type(i)

            def col(name: str, t: pa.DataType = typ) -> pa.ChunkedArray | pa.Array:
                if name in state.column_names:
                    return state.column(name)
                return pa.nulls(n, t)

            fn = a.function
            if fn in ("COUNT", "COUNT_STAR"):
                r = col(p + "cnt")
                if r.null_count:
                    r = pc.fill_null(r, _ZERO)
            elif fn == "SUM":
                cnt, total = col(p + "cnt", pa.int64()), col(p + "sum")
                if not cnt.null_count and not total.null_count and n and (
                        _arr(cnt).to_numpy() > 0).all():
                    r = total  # every group has values: no NULL sums (the common case)
                else:
                    r = pc.if_else(pc.greater(pc.fill_null(cnt, _ZERO), _ZERO), total,
                                   pa.scalar(None, total.type))
            elif fn == "AVG":
                cnt = col(p + "cnt", pa.int64())
                ok = pc.greater(pc.fill_null(cnt, _ZERO), _ZERO)
                r = pc.if_else(ok, pc.divide(pc.cast(col(p + "sum"), pa.float64()),
                                             pc.cast(cnt, pa.float64())),
                               pa.scalar(None, pa.float64()))
            elif fn in ("MIN", "MAX"):
                r = col(p + fn.lower())
            else:
                r = col(p + "val")
            if r.type != typ and not pa.types.is_null(typ):
                r = pc.cast(r, typ)
            out.append(_arr(r))
        return out

    def result_names(self) -> list[str]:
        return [a.output for a in self.aggs]


def _group(table: pa.Table, keys: Sequence[str], aggs: list) -> pa.Table:
    """``group_by(keys).aggregate(aggs)``; with no keys, one group (hash kernels, not scalar
    ones, so every aggregate function is available) and the helper key is dropped.
    Single-threaded: on batch-sized tables Acero's thread pool costs more CPU than it saves
    (2-7x the CPU time for 500-8,192 rows), and the task threads already use the cores."""
    if keys:
        fast = _group_numpy(table, keys, aggs)
        if fast is not None:
            return fast
        return table.group_by(list(keys), use_threads=False).aggregate(aggs)
    table = table.append_column("$g", pa.array(np.zeros(table.num_rows, dtype=np.int8)))
    return table.group_by(["$g"], use_threads=False).aggregate(aggs).drop_columns(["$g"])


_REDUCE = {"sum": np.add, "min": np.minimum, "max": np.maximum}


def _group_numpy(table: pa.Table, keys: Sequence[str], aggs: list) -> pa.Table | None:
    """:func:`_group`'s rows for one key column and only ``count_all`` and ``sum`` / ``min``
    / ``max`` of BIGINT columns without NULLs (the partial states of COUNT, SUM, MIN and MAX
    in a GROUP BY or a window, and their merges), or None.

    Groups are found in one of two ways, then each aggregate is one numpy reduction:
    - an integer key without NULLs that comes in runs (a window's slice ends over ordered
      input: one to three runs a batch) is cut where it changes, each run reduced with
      ``ufunc.reduceat`` and runs of the same key combined: 30 against Acero's 350 us per
      8,192 rows of MAX;
    - any other key is dictionary-encoded (a hash pass; NULL is a group of its own) and
      reduced per group code with ``ufunc.at`` / ``bincount``: 1.1 against Acero's 1.8 ms per
      64 K rows of COUNT and SUM.
    Integer sums wrap on overflow as Arrow's do. Groups come in another order than Acero's
    (its hash table's): the same rows. Key types ``dictionary_encode`` does not take go to
    Acero."""
    if len(keys) != 1 or table.num_rows == 0:
        return None
    columns = []
    for target, fn in aggs:
        if fn == "count_all" and target == []:
            columns.append(None)
        elif fn in _REDUCE and isinstance(target, str):
            col = table.column(target)
            if col.type != pa.int64() or col.null_count:
                return None
            columns.append(_arr(col).to_numpy())
        else:
            return None
    key = _arr(table.column(keys[0]))
    grouped = _runs(key)
    if grouped is None:
        try:
            encoded = pc.dictionary_encode(key, null_encoding="encode")
        except pa.ArrowNotImplementedError:
            return None
        grouped = encoded.dictionary, encoded.indices.to_numpy(), None
    group_keys, codes, starts = grouped
    m = len(group_keys)
    out: dict[str, pa.Array] = {keys[0]: group_keys}
    for (target, fn), col in zip(aggs, columns, strict=True):
        if starts is not None:  # per run first, then per key over the (few) runs
            if col is None:
                col, fn = np.diff(starts, append=len(key)), "sum"
            else:
                col = _REDUCE[fn].reduceat(col, starts)
        if col is None:
            out["count_all"] = pa.array(np.bincount(codes, minlength=m).astype(np.int64))
            continue
        if fn == "sum":
            acc = np.zeros(m, dtype=np.int64)
        else:
            acc = np.full(m, np.iinfo(np.int64).max if fn == "min" else np.iinfo(np.int64).min)
        _REDUCE[fn].at(acc, codes, col)  # every group has a row: no identity left
        out["count_all" if target == [] else f"{target}_{fn}"] = pa.array(acc)
    return pa.table(out)


def _runs(key: pa.Array) -> tuple[pa.Array, np.ndarray, np.ndarray] | None:
    """``(distinct keys, group code of each run, run starts)`` of an integer key without
    NULLs made of at most one run per 16 rows, else None."""
    if not pa.types.is_integer(key.type) or key.null_count:
        return None
    k = key.to_numpy()
    changes = np.flatnonzero(k[1:] != k[:-1])
    if len(changes) * 16 >= len(k):
        return None
    starts = np.concatenate(([0], changes + 1))
    distinct, codes = np.unique(k[starts], return_inverse=True)
    return pa.array(distinct, key.type), codes, starts


def _arr(x: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(x, pa.ChunkedArray):
        return x.combine_chunks() if x.num_chunks != 1 else x.chunk(0)
    return x
