"""Table DDL on catalog records: validation, ``LIKE`` merging, DESCRIBE and SHOW CREATE.

Contract:
- :func:`validate_table` checks a :class:`TableDefinition` built from ``CREATE TABLE`` and
  returns its normal form: column names unique (also ignoring case, since DuckDB and most
  formats fold case), data types parse and are printed canonically (``INTEGER`` → ``INT``),
  PRIMARY KEY columns exist, are physical, are NOT NULL (as in Flink) and NOT ENFORCED;
  WATERMARK and PARTITIONED BY columns exist; the watermark column is TIMESTAMP(p) or
  TIMESTAMP_LTZ(p) with p ≤ 3, or a computed column. Column references are matched
  case-sensitively with a unique case-insensitive fallback and stored with the column's own
  spelling. Connector options are recorded as given, never validated here.
- :func:`merge_like` applies Flink's ``LIKE`` merging (``MergeTableLikeUtil``): the source's
  physical columns come first; per feature (CONSTRAINTS, GENERATED, METADATA, OPTIONS,
  PARTITIONS, WATERMARKS, or ALL) INCLUDING / EXCLUDING / OVERWRITING as in Flink, with
  Flink's defaults (INCLUDING everything, OVERWRITING OPTIONS).
- :func:`describe_table` returns Flink's DESCRIBE columns ``name, type, null, key, extras,
  watermark``; :func:`show_create_table` / :func:`show_create_view` print DDL that recreates
  the object exactly (running it again in a fresh catalog yields an equal definition).

Computed-column types are derived at planning; DESCRIBE shows them for the common shapes
(``PROCTIME()``, ``CAST(... AS T)``, a column, ``col ± INTERVAL``, ``TO_TIMESTAMP[_LTZ]``)
by reading the expression text, and leaves the type blank otherwise.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable
from typing import Any

import pyarrow as pa

from catalog.table import Column, PrimaryKey, TableDefinition, ViewDefinition, WatermarkSpec
from flowsql.errors import ValidationError
from flowsql.types import FlinkType, parse_type

FEATURES = ("ALL", "CONSTRAINTS", "GENERATED", "METADATA", "OPTIONS", "PARTITIONS", "WATERMARKS")
STRATEGIES = ("INCLUDING", "EXCLUDING", "OVERWRITING")
DEFAULT_LIKE = {
    "CONSTRAINTS": "INCLUDING",
    "GENERATED": "INCLUDING",
    "METADATA": "INCLUDING",
    "OPTIONS": "OVERWRITING",
    "PARTITIONS": "INCLUDING",
    "WATERMARKS": "INCLUDING",
}


def quote(name: str) -> str:
    """A backquoted Flink identifier."""
    return "`" + name.replace("`", "``") + "`"


def literal(text: str) -> str:
    """A single-quoted Flink string literal."""
    return "'" + text.replace("'", "''") + "'"


def column_sql(c: Column, quote_name: Callable[[str], str] = quote) -> str:
    """One column definition of a CREATE TABLE (physical, computed or metadata).

    ``quote_name`` decides how the column name is quoted (SHOW CREATE TABLE always backquotes;
    :mod:`flowsql.sql.generator` quotes only when needed). It lives here, in the catalog that
    owns :class:`Column`, so the SQL generator imports the catalog and never the reverse.
    """
    out = quote_name(c.name)
    if c.kind == "computed":
        out += f" AS {c.expression}"
    else:
        out += f" {c.data_type}"
        if c.kind == "metadata":
            out += " METADATA"
            if c.metadata_key is not None:
                out += f" FROM {literal(c.metadata_key)}"
            if c.virtual:
                out += " VIRTUAL"
    if c.comment is not None:
        out += f" COMMENT {literal(c.comment)}"
    return out


# -- validation ------------------------------------------------------------------------------
def _column_ref(defn: TableDefinition, name: str, what: str) -> Column:
    col = defn.column(name)
    if col is None:
        raise ValidationError(
            f"{what} column '{name}' is not defined in table '{defn.name.name}'",
            hint="available columns: " + ", ".join(c.name for c in defn.columns),
        )
    return col


def _canonical_type(col: Column) -> str | None:
    if col.data_type is None:
        if col.kind == "computed":
            return None
        raise ValidationError(f"column '{col.name}' has no data type")
    try:
        return str(parse_type(col.data_type))
    except ValidationError as e:
        raise ValidationError(f"column '{col.name}': {e.message}", hint=e.hint) from e


def validate_table(defn: TableDefinition) -> TableDefinition:
    """Check ``defn`` (see module contract) and return its normal form."""
    if not defn.columns:
        raise ValidationError(f"table '{defn.name.name}' has no columns")
    seen: dict[str, str] = {}
    columns: list[Column] = []
    for col in defn.columns:
        if not col.name:
            raise ValidationError("a column name must not be empty")
        other = seen.get(col.name.lower())
        if other is not None:
            detail = (
                ""
                if other == col.name
                else f" (conflicts with '{other}'; names differ only in case)"
            )
            raise ValidationError(f"duplicate column name '{col.name}'{detail}")
        seen[col.name.lower()] = col.name
        if col.kind == "computed" and not (col.expression or "").strip():
            raise ValidationError(f"computed column '{col.name}' has no expression")
        columns.append(dataclasses.replace(col, data_type=_canonical_type(col)))
    defn = dataclasses.replace(defn, columns=tuple(columns))

    primary_key = defn.primary_key
    if primary_key is not None:
        if primary_key.enforced:
            raise ValidationError(
                "Flink doesn't support ENFORCED mode for PRIMARY KEY constraints",
                hint="write PRIMARY KEY (...) NOT ENFORCED: the engine does not own the data",
            )
        key_cols = [_column_ref(defn, k, "PRIMARY KEY") for k in primary_key.columns]
        names = [c.name for c in key_cols]
        if len(set(names)) != len(names):
            raise ValidationError(f"PRIMARY KEY lists a column twice: {', '.join(names)}")
        for c in key_cols:
            if c.kind != "physical":
                raise ValidationError(
                    f"PRIMARY KEY column '{c.name}' is a {c.kind} column",
                    hint="a PRIMARY KEY must be declared on physical columns",
                )
        primary_key = dataclasses.replace(primary_key, columns=tuple(names))
        not_null = {
            c.name: str(parse_type(c.data_type or "").with_nullable(False)) for c in key_cols
        }
        columns = [
            dataclasses.replace(c, data_type=not_null[c.name]) if c.name in not_null else c
            for c in defn.columns
        ]
        defn = dataclasses.replace(defn, columns=tuple(columns), primary_key=primary_key)

    if defn.watermark is not None:
        col = _column_ref(defn, defn.watermark.column, "WATERMARK")
        if not defn.watermark.expression.strip():
            raise ValidationError(f"the watermark for column '{col.name}' has no expression")
        if col.kind != "computed":
            t = parse_type(col.data_type or "")
            if not (t.is_time_attribute_capable and (t.precision or 0) <= 3):
                raise ValidationError(
                    f"invalid type {t.with_nullable(True)} of the watermark column '{col.name}'",
                    hint="the rowtime column must be TIMESTAMP(p) or TIMESTAMP_LTZ(p) with "
                    "p from 0 to 3, e.g. TIMESTAMP(3), or a computed column",
                )
        defn = dataclasses.replace(
            defn, watermark=WatermarkSpec(col.name, defn.watermark.expression)
        )

    if defn.partition_keys:
        keys = tuple(_column_ref(defn, k, "PARTITIONED BY").name for k in defn.partition_keys)
        if len(set(keys)) != len(keys):
            raise ValidationError(f"PARTITIONED BY lists a column twice: {', '.join(keys)}")
        defn = dataclasses.replace(defn, partition_keys=keys)

    bad = [k for k, v in defn.options.items() if not isinstance(k, str) or not isinstance(v, str)]
    if bad:
        raise ValidationError(f"option values must be strings: {', '.join(map(str, bad))}")
    return defn


# -- LIKE ------------------------------------------------------------------------------------
def like_strategies(options: Iterable[str]) -> dict[str, str]:
    """Feature → strategy for ``LIKE`` options such as ``('EXCLUDING ALL', 'INCLUDING OPTIONS')``."""
    strategies = dict(DEFAULT_LIKE)
    for text in options:
        words = text.upper().split()
        if len(words) != 2 or words[0] not in STRATEGIES or words[1] not in FEATURES:
            raise ValidationError(
                f"invalid LIKE option '{text}'",
                hint=f"use one of {', '.join(STRATEGIES)} followed by one of {', '.join(FEATURES)}",
            )
        strategy, feature = words
        if feature == "ALL":
            strategies = dict.fromkeys(DEFAULT_LIKE, strategy)
        elif strategy == "OVERWRITING" and feature in ("CONSTRAINTS", "PARTITIONS"):
            raise ValidationError(f"Illegal merging strategy 'OVERWRITING' for '{feature}' option")
        else:
            strategies[feature] = strategy
    return strategies


def merge_like(
    source: TableDefinition, derived: TableDefinition, options: Iterable[str] = ()
) -> TableDefinition:
    """The table ``CREATE TABLE derived (...) LIKE source (options)`` defines."""
    strategy = like_strategies(options)
    feature_of = {"computed": "GENERATED", "metadata": "METADATA"}

    columns: dict[str, Column] = {}
    for col in source.columns:
        if col.kind == "physical" or strategy[feature_of[col.kind]] != "EXCLUDING":
            columns[col.name] = col
    for col in derived.columns:
        base = columns.get(col.name)
        if base is None:
            columns[col.name] = col
            continue
        feature = feature_of.get(col.kind)
        if feature and base.kind == col.kind and strategy[feature] == "OVERWRITING":
            columns[col.name] = col  # replaced in place, as Flink's LinkedHashMap does
        elif feature and base.kind == col.kind:
            word = "generated" if col.kind == "computed" else "metadata"
            raise ValidationError(
                f"A {word} column named '{col.name}' already exists in the base table",
                hint=f"you might want to specify EXCLUDING {feature} or OVERWRITING {feature}",
            )
        else:
            raise ValidationError(f"A column named '{col.name}' already exists in the base table")

    watermark = source.watermark if strategy["WATERMARKS"] != "EXCLUDING" else None
    if derived.watermark is not None:
        if watermark is not None and strategy["WATERMARKS"] == "INCLUDING":
            raise ValidationError(
                f"There already exists a watermark spec for column '{watermark.column}' in the "
                "base table",
                hint="you might want to specify EXCLUDING WATERMARKS or OVERWRITING WATERMARKS",
            )
        watermark = derived.watermark

    primary_key = _merge_one(
        source.primary_key,
        derived.primary_key,
        strategy["CONSTRAINTS"],
        "The base table already has a primary key",
        "CONSTRAINTS",
    )
    partitions = _merge_one(
        source.partition_keys or None,
        derived.partition_keys or None,
        strategy["PARTITIONS"],
        "The base table already has partitions defined",
        "PARTITIONS",
    )

    if strategy["OPTIONS"] == "EXCLUDING":
        merged_options = dict(derived.options)
    else:
        merged_options = dict(source.options)
        for key, value in derived.options.items():
            if key in merged_options and strategy["OPTIONS"] == "INCLUDING":
                raise ValidationError(
                    f"There already exists an option ['{key}' -> '{merged_options[key]}'] in the "
                    "base table",
                    hint="you might want to specify EXCLUDING OPTIONS or OVERWRITING OPTIONS",
                )
            merged_options[key] = value

    return dataclasses.replace(
        derived,
        columns=tuple(columns.values()),
        watermark=watermark,
        primary_key=primary_key,
        partition_keys=tuple(partitions or ()),
        options=merged_options,
    )


def _merge_one(source: Any, derived: Any, strategy: str, clash: str, feature: str) -> Any:
    """Merge a feature that cannot be combined (primary key, partition keys)."""
    if strategy == "EXCLUDING":
        return derived
    if source is not None and derived is not None and strategy == "INCLUDING":
        raise ValidationError(clash, hint=f"you might want to specify EXCLUDING {feature}")
    return derived if derived is not None else source


# -- DESCRIBE --------------------------------------------------------------------------------
def _call(text: str) -> tuple[str, str] | None:
    """``NAME(args)`` → (NAME upper-cased, args) when the whole text is one call."""
    m = re.match(r"\s*([A-Za-z_][A-Za-z_0-9]*)\s*\(", text)
    if not m or not text.rstrip().endswith(")"):
        return None
    depth, quote_char = 0, None
    body = text.rstrip()
    for i in range(m.end() - 1, len(body)):
        ch = body[i]
        if quote_char:
            if ch == quote_char:
                quote_char = None
        elif ch in "'`\"":
            quote_char = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0 and i != len(body) - 1:
                return None
    return m.group(1).upper(), body[m.end() : -1]


def _plain_column(text: str, defn: TableDefinition) -> Column | None:
    m = re.fullmatch(r"\s*(?:`((?:[^`]|``)+)`|([A-Za-z_][A-Za-z_0-9]*))\s*", text)
    if not m:
        return None
    name = m.group(1).replace("``", "`") if m.group(1) else m.group(2)
    col = defn.column(name)
    return col if col is not None and col.data_type else None


def computed_type(col: Column, defn: TableDefinition) -> tuple[FlinkType | None, str]:
    """Best-effort (type, marker) of a computed column; marker is '*PROCTIME*' or ''."""
    expr = col.expression or ""
    try:
        if col.data_type:
            return parse_type(col.data_type), ""
        call = _call(expr)
        if call and call[0] == "PROCTIME" and not call[1].strip():
            return FlinkType("TIMESTAMP_LTZ", (3,), nullable=False), "*PROCTIME*"
        if call and call[0] in ("CAST", "TRY_CAST"):
            parts = re.split(r"\s+AS\s+", call[1], flags=re.IGNORECASE)
            return parse_type(parts[-1]), ""
        if call and call[0] == "TO_TIMESTAMP_LTZ":
            return FlinkType("TIMESTAMP_LTZ", (3,)), ""
        if call and call[0] == "TO_TIMESTAMP":
            return FlinkType("TIMESTAMP", (3,)), ""
        m = re.fullmatch(r"(.+?)\s*[-+]\s*INTERVAL\s.*", expr, flags=re.IGNORECASE | re.DOTALL)
        ref = _plain_column(m.group(1) if m else expr, defn)
        if ref is not None and ref.data_type:
            return parse_type(ref.data_type), ""
    except ValidationError:
        pass
    return None, ""


def describe_table(defn: TableDefinition) -> pa.Table:
    """Flink's DESCRIBE output for a table."""
    key_cols = set(defn.primary_key.columns) if defn.primary_key else set()
    key_text = "PRI(" + ", ".join(defn.primary_key.columns) + ")" if defn.primary_key else ""
    rows: dict[str, list] = {k: [] for k in ("name", "type", "null", "key", "extras", "watermark")}
    for col in defn.columns:
        marker, extras = "", ""
        if col.kind == "computed":
            t, marker = computed_type(col, defn)
            extras = f"AS {col.expression}"
        else:
            t = parse_type(col.data_type or "")
            if col.kind == "metadata":
                extras = "METADATA"
                if col.metadata_key:
                    extras += f" FROM {literal(col.metadata_key)}"
                if col.virtual:
                    extras += " VIRTUAL"
        is_rowtime = defn.watermark is not None and defn.watermark.column == col.name
        if is_rowtime and t is not None and t.is_time_attribute_capable:
            marker = "*ROWTIME*"
        type_text = str(t.with_nullable(True)) if t is not None else ""
        rows["name"].append(col.name)
        rows["type"].append(f"{type_text} {marker}".strip())
        rows["null"].append(t.nullable if t is not None else True)
        rows["key"].append(key_text if col.name in key_cols else "")
        rows["extras"].append(extras)
        rows["watermark"].append(defn.watermark.expression if is_rowtime and defn.watermark else "")
    schema = pa.schema(
        [
            ("name", pa.string()),
            ("type", pa.string()),
            ("null", pa.bool_()),
            ("key", pa.string()),
            ("extras", pa.string()),
            ("watermark", pa.string()),
        ]
    )
    return pa.table(rows, schema=schema)


def describe_view(view: ViewDefinition, schema: list[tuple[str, str]] | None = None) -> pa.Table:
    """DESCRIBE for a view: ``schema`` (name, type) when the planner derived it, else the
    declared column names with blank types."""
    pairs = schema if schema is not None else [(n, "") for n in view.column_names]
    blank = [""] * len(pairs)
    return pa.table(
        {
            "name": pa.array([n for n, _ in pairs], pa.string()),
            "type": pa.array([t for _, t in pairs], pa.string()),
            "null": pa.array([True] * len(pairs), pa.bool_()),
            "key": pa.array(blank, pa.string()),
            "extras": pa.array(blank, pa.string()),
            "watermark": pa.array(blank, pa.string()),
        }
    )


# -- SHOW CREATE -----------------------------------------------------------------------------
def _key_sql(key: PrimaryKey) -> str:
    text = f"CONSTRAINT {quote(key.name)} " if key.name else ""
    cols = ", ".join(quote(c) for c in key.columns)
    return text + f"PRIMARY KEY ({cols}) {'ENFORCED' if key.enforced else 'NOT ENFORCED'}"


def show_create_table(defn: TableDefinition) -> str:
    """DDL that recreates ``defn`` exactly (fully qualified, backquoted)."""
    lines = [column_sql(c, quote) for c in defn.columns]
    if defn.watermark is not None:
        lines.append(f"WATERMARK FOR {quote(defn.watermark.column)} AS {defn.watermark.expression}")
    if defn.primary_key is not None:
        lines.append(_key_sql(defn.primary_key))
    temporary = "TEMPORARY " if defn.temporary else ""
    text = f"CREATE {temporary}TABLE {defn.name} (\n  " + ",\n  ".join(lines) + "\n)"
    if defn.comment is not None:
        text += f"\nCOMMENT {literal(defn.comment)}"
    if defn.partition_keys:
        text += "\nPARTITIONED BY (" + ", ".join(quote(k) for k in defn.partition_keys) + ")"
    if defn.options:
        opts = ",\n  ".join(f"{literal(k)} = {literal(v)}" for k, v in defn.options.items())
        text += f"\nWITH (\n  {opts}\n)"
    return text


def show_create_view(view: ViewDefinition) -> str:
    """DDL that recreates ``view`` exactly."""
    temporary = "TEMPORARY " if view.temporary else ""
    text = f"CREATE {temporary}VIEW {view.name}"
    if view.column_names:
        text += " (" + ", ".join(quote(c) for c in view.column_names) + ")"
    if view.comment is not None:
        text += f"\nCOMMENT {literal(view.comment)}"
    return text + f"\nAS {view.query}"
