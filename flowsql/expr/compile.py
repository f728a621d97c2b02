"""Compile a Flink SQL expression (sqlglot AST) into a vectorized function over RecordBatches.

Contract:
- :func:`compile_expression(expr, schema)` resolves every column against ``schema`` at
  compile time and type-checks the whole tree with Flink's rules; it returns a
  :class:`CompiledExpr` whose ``evaluate(batch)`` gives a ``pa.Array`` of ``batch.num_rows``
  values (``.type`` Arrow type, ``.flink_type`` Flink type). Batches must have the compile
  schema's columns (matched by name; extra columns such as the row kind are ignored).
- Errors: unknown column → ``ValidationError`` naming it and listing the available columns,
  closest first; operator/function type mismatch → ``ValidationError`` naming the operator
  and the types; unknown function → ``ValidationError`` with the closest known names; a
  construct the compiler cannot run → ``NotSupportedError('not supported yet: …')``;
  failures while evaluating (CAST of a bad value, integer division by zero) →
  ``ExecutionError``. No raw pyarrow exception escapes ``evaluate``.
- Evaluation is ``pyarrow.compute`` over whole columns; sub-expressions whose inputs are all
  constants are folded once at compile time (except non-deterministic ones such as
  CURRENT_TIMESTAMP, which are evaluated once per batch).
- Common sub-expressions: a sub-expression occurring more than once (same canonical SQL,
  e.g. ``REGEXP_EXTRACT(url, …)`` in a filter and in a CASE branch) is compiled once and
  evaluated once per batch (:class:`Cse`). Results are memoized per batch *object*, so a
  lazy CASE branch evaluated on a filtered sub-batch never sees whole-batch values.
  :func:`compile_expression` does this within one expression; a Calc shares one
  :class:`Cse` between its filter and projections (``cse=``) and clears it per batch.
- SQL semantics: three-valued AND/OR/NOT; comparisons with NULL are NULL; CASE/IF/filters
  treat a NULL condition as false; integer arithmetic wraps like Java; ``INT / INT`` is an
  integer division truncating toward zero (Flink); DECIMAL precision/scale per Flink
  (:mod:`flowsql.expr.typing`).

Node kinds are compiled by the small ``_compile_*`` functions of
:mod:`flowsql.expr.operators`; named functions go through the declarative table in
:mod:`flowsql.expr.functions`. This module holds the public entry points and name resolution.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import sqlglot
from sqlglot import exp

from flowsql.errors import ExecutionError, FlowSQLError, SqlParseError, ValidationError
from flowsql.expr.kernels import Value, as_array, broadcast
from flowsql.expr.typing import arrow_type
from flowsql.types import FlinkType, from_arrow

Fn = Callable[[pa.RecordBatch | None], Value]


@dataclass(frozen=True, eq=False)
class CompiledExpr:
    """A compiled expression. ``fn(batch)`` gives an array or a scalar (broadcast)."""

    fn: Fn
    flink_type: FlinkType
    sql: str
    constant: bool = False  # independent of the batch and deterministic: folded
    deterministic: bool = True
    may_fail: bool = False  # evaluation can raise on some rows (CAST, integer division)

    @property
    def type(self) -> pa.DataType:
        return arrow_type(self.flink_type)

    @property
    def value(self) -> Any:
        """Python value of a constant expression (None for NULL)."""
        if not self.constant:
            raise ValueError(f"{self.sql} is not a constant")
        v = self.fn(None)
        return v.as_py() if isinstance(v, pa.Scalar) else v

    def evaluate_value(self, batch: pa.RecordBatch) -> Value:
        """The raw result (array, or scalar standing for every row); errors as ExecutionError."""
        try:
            return self.fn(batch)
        except FlowSQLError:
            raise
        except (pa.ArrowException, ArithmeticError, ValueError, TypeError, OverflowError) as exc:
            raise ExecutionError(_runtime_message(self.sql, exc)) from exc

    def evaluate(self, batch: pa.RecordBatch) -> pa.Array:
        """One value per row of ``batch`` as a ``pa.Array`` of :attr:`type`."""
        value = self.evaluate_value(batch)
        out = as_array(broadcast(value, batch.num_rows))
        if out.type != self.type:
            try:
                out = out.cast(self.type)
            except pa.ArrowException as exc:
                raise ExecutionError(_runtime_message(self.sql, exc)) from exc
        return out


def _runtime_message(sql: str, exc: BaseException) -> str:
    text = str(exc)
    if "divide by zero" in text.lower() or isinstance(exc, ZeroDivisionError):
        return f"division by zero in '{sql}'"
    if "overflow" in text.lower():
        return f"numeric overflow in '{sql}'"
    return f"cannot evaluate '{sql}': {text.splitlines()[0] if text else type(exc).__name__}"


@dataclass
class Scope:
    """What names resolve to while compiling: the input schema and session settings."""

    schema: pa.Schema
    flink_types: dict[str, FlinkType] = field(default_factory=dict)
    session_tz: str = "UTC"
    cse: Cse | None = None

    def column_type(self, name: str) -> FlinkType:
        if name in self.flink_types:
            return self.flink_types[name]
        f = self.schema.field(name)
        return from_arrow(f.type, f.nullable)


def compile_expression(
    expr: exp.Expression | str,
    schema: pa.Schema,
    *,
    flink_types: dict[str, FlinkType] | None = None,
    session_time_zone: str = "UTC",
    cse: Cse | None = None,
) -> CompiledExpr:
    """Compile ``expr`` (a sqlglot expression, or Flink SQL text) against ``schema``.

    ``flink_types`` optionally gives the declared Flink type of columns whose Arrow type
    loses information (CHAR(n), VARCHAR(n)); ``session_time_zone`` is
    ``table.local-time-zone`` (TIMESTAMP_LTZ rendering). ``cse`` shares common
    sub-expressions with other expressions compiled with the same :class:`Cse` (built from
    all of their trees); without it, repeats within ``expr`` alone are shared."""
    from flowsql.expr.operators import compile_node

    if isinstance(expr, str):
        expr = parse_expression(expr)
    if cse is None:
        cse = Cse.for_trees([expr], max_batches=4)
    scope = Scope(schema, dict(flink_types or {}), session_time_zone,
                  cse if cse.shared else None)
    return compile_node(expr, scope)


# nodes never memoized: leaves are as cheap as a lookup; Paren/Alias delegate to their child
_NO_CSE = (exp.Column, exp.Literal, exp.Boolean, exp.Null, exp.Paren, exp.Alias, exp.Star,
           exp.Identifier, exp.DataType, exp.Var, exp.Interval)


def cse_key(node: exp.Expression) -> str | None:
    """The memo key of a node (its canonical SQL), or None when it is not memoized."""
    if isinstance(node, _NO_CSE) or not isinstance(node, exp.Expression):
        return None
    return f"{type(node).__name__}:{node.sql()}"


def split_key(node: exp.Expression) -> str | None:
    """Key of the ``split(text, sep)`` inside ``SPLIT_INDEX(text, sep, i)``: calls on the
    same text and separator share one split (:func:`flowsql.expr.strings.split_parts`)."""
    if isinstance(node, exp.Anonymous) and node.name.upper() == "SPLIT_INDEX" \
            and len(node.expressions) == 3:
        text, sep = node.expressions[0], node.expressions[1]
        return f"split:{text.sql()}|{sep.sql()}"
    return None


class Cse:
    """Common sub-expressions of a group of expression trees (see the module contract).

    ``shared``: keys occurring more than once; ``compiled``: key → the one CompiledExpr;
    per-batch values are held until :meth:`clear` (or, with ``max_batches``, until that many
    batches are cached), keyed by batch identity (the batch is kept referenced, so an id is
    never reused while its entry lives)."""

    def __init__(self, shared: set[str], max_batches: int | None = None) -> None:
        self.shared = shared
        self.compiled: dict[str, CompiledExpr] = {}
        self.max_batches = max_batches
        self._values: dict[int, tuple[pa.RecordBatch, dict[str, Value]]] = {}

    @classmethod
    def for_trees(cls, trees: list[exp.Expression], max_batches: int | None = None) -> Cse:
        counts: dict[str, int] = {}
        for tree in trees:
            for node in tree.walk():
                for key in (cse_key(node), split_key(node)):
                    if key is not None:
                        counts[key] = counts.get(key, 0) + 1
        return cls({k for k, n in counts.items() if n > 1}, max_batches)

    def memoized(self, key: str, fn: Fn) -> Fn:
        """``fn`` evaluated at most once per batch object while the entry lives."""
        values = self._values

        def cached(batch: pa.RecordBatch | None) -> Value:
            if batch is None:
                return fn(batch)
            entry = values.get(id(batch))
            if entry is None or entry[0] is not batch:
                if self.max_batches is not None and len(values) >= self.max_batches:
                    values.clear()
                entry = (batch, {})
                values[id(batch)] = entry
            memo = entry[1]
            if key in memo:
                return memo[key]
            value = fn(batch)
            memo[key] = value
            return value

        return cached

    def carry(self, batch: pa.RecordBatch, filtered: pa.RecordBatch, mask: pa.Array,
              keys: set[str]) -> None:
        """Make the values of ``keys`` computed on ``batch`` available for ``filtered``
        (``batch.filter(mask)``), so a filter's sub-expressions are not recomputed by the
        projections."""
        entry = self._values.get(id(batch))
        if entry is None or entry[0] is not batch:
            return
        memo: dict[str, Value] = {}
        for key, value in entry[1].items():
            if key not in keys:
                continue
            if isinstance(value, pa.Scalar):
                memo[key] = value
            elif len(value) == batch.num_rows:
                memo[key] = value.filter(mask)
        if memo:
            self._values[id(filtered)] = (filtered, memo)

    def clear(self) -> None:
        self._values.clear()


def parse_expression(text: str) -> exp.Expression:
    """Parse one Flink SQL expression with the Flink dialect (``flowsql.sql.parser``) when it
    is available, else with sqlglot's default dialect (same nodes for ordinary expressions)."""
    try:
        from flowsql.sql.parser import parse_expression as parse_flink
    except ImportError:
        parse_flink = None
    if parse_flink is not None:
        return parse_flink(text)
    try:
        return sqlglot.parse_one(text)
    except sqlglot.errors.ParseError as exc:
        err = exc.errors[0] if exc.errors else {}
        raise SqlParseError(
            f"cannot parse expression '{text}': {err.get('description', str(exc))}",
            line=int(err.get("line") or 1),
            col=int(err.get("col") or 1),
            source_line=text.splitlines()[0] if text else "",
        ) from None


def column_ref(name: str, scope: Scope, sql: str) -> CompiledExpr:
    """A reference to top-level column ``name`` (already checked to exist)."""
    index = scope.schema.get_field_index(name)

    def fn(batch: pa.RecordBatch | None, _i: int = index, _name: str = name) -> Value:
        assert batch is not None
        if _i < batch.num_columns and batch.schema.names[_i] == _name:
            return batch.column(_i)
        i = batch.schema.get_field_index(_name)
        if i < 0:
            raise ExecutionError(f"input batch has no column '{_name}'")
        return batch.column(i)

    return CompiledExpr(fn, scope.column_type(name), sql)


def resolve_column(parts: list[str], scope: Scope, sql: str) -> CompiledExpr:
    """Resolve ``a``, ``t.a``, ``a.f`` (ROW field), ``t.a.f.g`` … against the schema:
    the first part that names a column starts the path; earlier parts are qualifiers."""
    from flowsql.expr.operators import struct_field

    names = scope.schema.names
    for start in range(len(parts)):
        if parts[start] in names:
            if names.count(parts[start]) > 1:
                raise ValidationError(f"column reference '{parts[start]}' is ambiguous")
            compiled = column_ref(parts[start], scope, parts[start])
            for f in parts[start + 1 :]:
                compiled = struct_field(compiled, f, sql)
            return compiled
    raise unknown_column(".".join(parts), scope.schema.names)


def unknown_column(name: str, available: list[str]) -> ValidationError:
    """ValidationError naming ``name`` and listing ``available`` closest first."""
    def score(candidate: str) -> float:
        return difflib.SequenceMatcher(None, name.lower(), candidate.lower()).ratio()

    ranked = sorted(available, key=lambda c: -score(c))
    listing = ", ".join(f"`{c}`" for c in ranked) if ranked else "(none)"
    hint = f"did you mean `{ranked[0]}`?" if ranked and score(ranked[0]) >= 0.6 else None
    return ValidationError(
        f"column '{name}' not found; available columns: {listing}", hint=hint
    )

