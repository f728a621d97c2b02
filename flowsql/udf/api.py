"""The decorator API for Python user-defined functions: ``@udf``, ``@udtf``, ``@udaf``.

Contract:
- ``@udf`` (or ``@udf(result_type='BIGINT', deterministic=True)``) makes a
  :class:`ScalarFunction`. The function is **vectorized**: it is called once per batch with
  one ``pyarrow.Array`` per SQL argument (a constant argument arrives as an array of the
  batch's length) and returns an array (or a list / numpy array) of the same length. The
  result type is ``result_type`` (Flink type text such as ``'BIGINT'`` or ``'DECIMAL(10, 2)'``,
  or a ``pyarrow.DataType``), else inferred from the return annotation: a pyarrow type
  (``-> pa.int64()``) or a Python type (``int`` → BIGINT, ``float`` → DOUBLE, ``str`` →
  STRING, ``bool`` → BOOLEAN, ``bytes`` → BYTES, ``datetime.date`` → DATE,
  ``datetime.datetime`` → TIMESTAMP(3), ``decimal.Decimal`` → DECIMAL(38, 18)). Neither →
  ``ValidationError`` at decoration time.
- ``@udtf(result_types=[...], names=[...])`` makes a :class:`TableFunction`: called once per
  batch with one array per argument, it returns a table (``pa.Table`` / ``RecordBatch`` /
  dict of columns) with ``$row`` (the input row each output row belongs to) and the declared
  columns (:func:`flowsql.udf.invoke.call_table`).
- ``@udaf(result_type=..., accumulator_type=...)`` on a class with ``create_accumulator()``,
  ``accumulate(acc, *arrays)``, ``get_value(acc)`` and optionally ``retract(acc, *arrays)``
  and ``merge(acc, others)`` makes an :class:`AggregateFunction`. ``accumulate`` and
  ``retract`` receive the arrays of one group's rows of a batch and return the new
  accumulator (or None after changing it in place); ``merge`` folds a list of accumulators
  into ``acc``. Accumulators must be picklable (they are kept in snapshots).
- The wrapped objects stay callable as the plain Python function / class, so a UDF module
  can be unit-tested without FlowSQL.
"""

from __future__ import annotations

import datetime
import decimal
import inspect
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from flowsql.errors import ValidationError
from flowsql.types import FlinkType, from_arrow, parse_type

_PY_TYPES: dict[type, str] = {
    bool: "BOOLEAN", int: "BIGINT", float: "DOUBLE", str: "STRING", bytes: "BYTES",
    datetime.datetime: "TIMESTAMP(3)", datetime.date: "DATE", decimal.Decimal: "DECIMAL(38, 18)",
}
EXAMPLE = (
    "from flowsql.udf import udf\n"
    "@udf(result_type='BIGINT')\n"
    "def count_char(s, c): return pyarrow.compute.count_substring(s, c[0].as_py())"
)


def flink_type(value: Any, what: str) -> FlinkType:
    """A declared type (Flink type text, a FlinkType, a pyarrow type or a Python type)."""
    if isinstance(value, FlinkType):
        return value
    if isinstance(value, str):
        return parse_type(value)
    if isinstance(value, pa.DataType):
        return from_arrow(value)
    if isinstance(value, type) and value in _PY_TYPES:
        return parse_type(_PY_TYPES[value])
    raise ValidationError(
        f"{what}: cannot use {value!r} as a SQL type",
        hint="give Flink type text ('BIGINT', 'STRING', 'DECIMAL(10, 2)'), a pyarrow type "
             "(pa.int64()) or int / float / str / bool / bytes",
    )


def _annotated_result(fn: Callable) -> Any:
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # noqa: BLE001 - e.g. '-> pa.int64()' under postponed annotations
        hints = {}
        raw = inspect.signature(fn).return_annotation
        if isinstance(raw, str):
            try:
                hints["return"] = eval(raw, getattr(fn, "__globals__", {}))  # noqa: S307
            except Exception:  # noqa: BLE001 - an unreadable annotation is no annotation
                return None
        elif raw is not inspect.Signature.empty:
            hints["return"] = raw
    result = hints.get("return")
    if isinstance(result, pa.DataType) or (isinstance(result, type) and result in _PY_TYPES):
        return result
    return None


@dataclass(frozen=True, eq=False)
class ScalarFunction:
    """A vectorized scalar function (see the module contract)."""

    func: Callable[..., Any]
    result_type: FlinkType
    name: str
    deterministic: bool = True
    kind: str = field(default="scalar", init=False)

    def __call__(self, *args: Any) -> Any:
        return self.func(*args)


@dataclass(frozen=True, eq=False)
class TableFunction:
    """A table function: called per batch with one array per argument, it returns a table
    (``pa.Table`` / ``pa.RecordBatch`` / dict of columns) with a ``$row`` int column naming
    the input row each output row belongs to, plus the declared columns."""

    func: Callable[..., Any]
    result_types: tuple[FlinkType, ...]
    names: tuple[str, ...]
    name: str
    deterministic: bool = True
    kind: str = field(default="table", init=False)

    def __call__(self, *args: Any) -> Any:
        return self.func(*args)


@dataclass(frozen=True, eq=False)
class AggregateFunction:
    """An aggregate function over an accumulator (see the module contract)."""

    cls: type
    result_type: FlinkType
    name: str
    deterministic: bool = True
    kind: str = field(default="aggregate", init=False)

    def instance(self) -> Any:
        return self.cls()

    @property
    def can_retract(self) -> bool:
        return callable(getattr(self.cls, "retract", None))

    @property
    def can_merge(self) -> bool:
        return callable(getattr(self.cls, "merge", None))

    def __call__(self, *args: Any) -> Any:
        return self.cls(*args)


UserFunction = ScalarFunction | TableFunction | AggregateFunction


def udf(fn: Callable | None = None, *, result_type: Any = None, deterministic: bool = True,
        name: str | None = None) -> Any:
    """Declare a vectorized scalar function (``@udf`` or ``@udf(result_type=...)``)."""

    def wrap(f: Callable) -> ScalarFunction:
        if not callable(f):
            raise ValidationError(f"@udf decorates a function, not {f!r}")
        label = name or getattr(f, "__name__", "udf")
        declared = result_type if result_type is not None else _annotated_result(f)
        if declared is None:
            raise ValidationError(
                f"Python function '{label}' declares no result type",
                hint="write @udf(result_type='BIGINT') or annotate the return type "
                     "(-> int, -> pa.int64())",
            )
        return ScalarFunction(f, flink_type(declared, f"@udf {label}"), label, deterministic)

    return wrap(fn) if fn is not None else wrap


def udtf(fn: Callable | None = None, *, result_types: Sequence[Any] | Any = None,
         names: Sequence[str] | None = None, deterministic: bool = True,
         name: str | None = None) -> Any:
    """Declare a table function with its output columns' types (and names, default f0, f1…)."""

    def wrap(f: Callable) -> TableFunction:
        label = name or getattr(f, "__name__", "udtf")
        if result_types is None:
            raise ValidationError(f"Python table function '{label}' declares no result_types",
                                  hint="write @udtf(result_types=['STRING', 'BIGINT'])")
        declared = result_types if isinstance(result_types, list | tuple) else [result_types]
        types = tuple(flink_type(t, f"@udtf {label}") for t in declared)
        cols = tuple(names) if names is not None else tuple(f"f{i}" for i in range(len(types)))
        if len(cols) != len(types):
            raise ValidationError(f"@udtf {label}: {len(cols)} names for {len(types)} result types")
        return TableFunction(f, types, cols, label, deterministic)

    return wrap(fn) if fn is not None else wrap


_UDAF_METHODS = ("create_accumulator", "accumulate", "get_value")


def udaf(cls: type | None = None, *, result_type: Any = None, deterministic: bool = True,
         name: str | None = None) -> Any:
    """Declare an aggregate function on an accumulator class (``@udaf(result_type=...)``)."""

    def wrap(c: type) -> AggregateFunction:
        label = name or getattr(c, "__name__", "udaf")
        if not isinstance(c, type):
            raise ValidationError(f"@udaf decorates a class, not {c!r}")
        missing = [m for m in _UDAF_METHODS if not callable(getattr(c, m, None))]
        if missing:
            raise ValidationError(
                f"Python aggregate function '{label}' lacks {', '.join(missing)}",
                hint="an aggregate class defines create_accumulator(), accumulate(acc, *args), "
                     "get_value(acc), and optionally retract(acc, *args) and merge(acc, others)",
            )
        declared = result_type if result_type is not None else _annotated_result(c.get_value)
        if declared is None:
            raise ValidationError(f"Python aggregate function '{label}' declares no result type",
                                  hint="write @udaf(result_type='BIGINT')")
        return AggregateFunction(c, flink_type(declared, f"@udaf {label}"), label, deterministic)

    return wrap(cls) if cls is not None else wrap
