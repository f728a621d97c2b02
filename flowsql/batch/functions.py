"""Flink built-in functions and casts → DuckDB expressions (one sqlglot transform).

Contract: :func:`map_functions` rewrites a Flink-dialect expression tree in place so that
generating it with sqlglot's ``duckdb`` dialect gives DuckDB SQL with Flink semantics:

- ``DATE_FORMAT(ts, 'yyyy-MM-dd HH:mm:ss')`` → ``strftime(CAST(ts AS TIMESTAMP), '%Y-%m-%d %H:%M:%S')``
  (Java date patterns read by :mod:`flowsql.date_patterns`, the reading the streaming
  engine uses too);
- ``TO_TIMESTAMP_LTZ(n, 0|3)``, ``TO_TIMESTAMP(s[, fmt])`` (NULL when unparsable),
  ``UNIX_TIMESTAMP([s[, fmt]])``, ``FROM_UNIXTIME(n[, fmt])``;
- ``SPLIT_INDEX(s, sep, i)`` (0-based, NULL when out of range), ``REGEXP_EXTRACT(s, re[, g])``
  (NULL when there is no match, as Flink), ``CHAR_LENGTH``, ``CONCAT`` (NULL if any argument is
  NULL), ``CONCAT_WS`` (skips NULL arguments);
- JSON_VALUE, JSON_QUERY, JSON_EXISTS, IS JSON, JSON_OBJECT, JSON_ARRAY, JSON_STRING
  (:mod:`flowsql.batch.json`);
- ``CAST``/``TRY_CAST`` target types go through :mod:`flowsql.types` (``STRING`` → ``VARCHAR``,
  ``TIMESTAMP(3)`` → ``TIMESTAMP_MS``, ``DECIMAL`` → ``DECIMAL(10, 0)`` ...).

Functions that DuckDB already evaluates with Flink's semantics pass through (typed sqlglot
nodes such as ``Upper``, ``Substring``, ``If``, ``Extract``, aggregates, window functions).
Any other *unknown* function (``exp.Anonymous`` not listed in :data:`PASSTHROUGH`) raises
``NotSupportedError`` before DuckDB sees it: the batch engine only runs functions it knows,
which also keeps DuckDB-only table/file functions away from user SQL.

Java date patterns are converted by :mod:`flowsql.date_patterns` (shared with the
streaming engine): sqlglot's Hive time mapping works only at parse time and only when the
dialect declares it; this one is applied to whatever format string the Flink dialect leaves
in the tree.
"""

from __future__ import annotations

from sqlglot import exp

from flowsql.batch.json import map_json
from flowsql.batch.numeric import (
    flink_division,
    flink_integer_cast,
    flink_modulo,
    is_integer_target,
)
from flowsql.date_patterns import Strftime, parse_pattern
from flowsql.errors import NotSupportedError, ValidationError

# Anonymous functions whose DuckDB namesake has the same semantics as Flink's.
PASSTHROUGH = frozenset(
    {
        "ABS", "ACOS", "ASIN", "ATAN", "ATAN2", "CEIL", "CEILING", "COS", "COT", "DEGREES", "EXP",
        "FLOOR", "LN", "LOG10", "LOG2", "PI", "POWER", "RADIANS", "ROUND", "SIGN", "SIN", "SQRT",
        "TAN", "LPAD", "RPAD", "LTRIM", "RTRIM", "TRIM", "REPEAT", "REPLACE", "REVERSE", "ASCII",
        "CHR", "MD5", "SHA1", "SHA256", "LEFT", "RIGHT", "NULLIF", "COALESCE", "UPPER", "LOWER",
        "INSTR", "SUBSTRING", "YEAR", "QUARTER", "MONTH", "WEEK", "DAYOFMONTH", "DAYOFYEAR",
        "HOUR", "MINUTE", "SECOND", "STDDEV", "STDDEV_POP", "STDDEV_SAMP", "VARIANCE", "VAR_POP",
        "VAR_SAMP", "FIRST_VALUE", "LAST_VALUE", "LAG", "LEAD", "RANK", "DENSE_RANK",
        "ROW_NUMBER", "PERCENT_RANK", "CUME_DIST", "NTILE", "COUNT", "SUM", "AVG", "MIN", "MAX",
        "APPROX_COUNT_DISTINCT", "CURRENT_DATE", "CURRENT_TIMESTAMP", "LOCALTIMESTAMP", "NOW",
        "HEX", "BIN",
    }
)

def _java_pattern(node: exp.Expression | None, default: str) -> str:
    """The text of a date format argument (a string literal; ``default`` when absent)."""
    if node is None:
        return default
    if not (isinstance(node, exp.Literal) and node.is_string):
        raise NotSupportedError("a date format that is not a string literal")
    return node.this


def _strptime_literal(node: exp.Expression | None, default: str) -> exp.Literal:
    """A format argument as a DuckDB strptime literal (a Java pattern converted by
    :mod:`flowsql.date_patterns`; a strftime format passes through)."""
    text = _java_pattern(node, default)
    return exp.Literal.string(text if "%" in text else parse_pattern(text).strptime())


def _strftime(ts: exp.Expression, node: exp.Expression | None, default: str) -> exp.Expression:
    """Format ``ts`` with a Java pattern: one STRFTIME, or pieces joined with ``||`` where
    DuckDB's strftime has no code for a field (fractions of 1, 2, 4, 5, 7 or 8 digits)."""
    text = _java_pattern(node, default)
    if "%" in text:
        return _fn("STRFTIME", ts, exp.Literal.string(text))
    pieces: list[exp.Expression] = []
    for seg in parse_pattern(text).segments("duckdb"):
        if isinstance(seg, Strftime):
            pieces.append(_fn("STRFTIME", ts, exp.Literal.string(seg.format)))
        else:  # a fraction: the first digits of the nanoseconds
            nanos = _fn("STRFTIME", ts, exp.Literal.string("%n"))
            pieces.append(_fn("SUBSTR", nanos, exp.Literal.number(1), exp.Literal.number(seg.digits)))
    if not pieces:
        return exp.Literal.string("")
    out = pieces[0]
    for piece in pieces[1:]:
        out = exp.DPipe(this=out, expression=piece)
    return out


def _fn(name: str, *args: exp.Expression) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


def _cast(node: exp.Expression, duck_type: str) -> exp.Cast:
    return exp.Cast(this=node, to=exp.DataType.build(duck_type, dialect="duckdb"))


def _parse_duck(sql: str) -> exp.Expression:
    import sqlglot

    return sqlglot.parse_one(sql, read="duckdb")


_SIMPLE_TYPES = {
    "TEXT": "VARCHAR", "VARCHAR": "VARCHAR", "NVARCHAR": "VARCHAR", "CHAR": "VARCHAR",
    "NCHAR": "VARCHAR", "BINARY": "BLOB", "VARBINARY": "BLOB", "BLOB": "BLOB",
    "BOOLEAN": "BOOLEAN", "TINYINT": "TINYINT", "SMALLINT": "SMALLINT", "INT": "INTEGER",
    "BIGINT": "BIGINT", "FLOAT": "FLOAT", "DOUBLE": "DOUBLE", "DATE": "DATE", "TIME": "TIME",
    "TIMESTAMPLTZ": "TIMESTAMPTZ", "TIMESTAMPTZ": "TIMESTAMPTZ",
}


def duck_type(dt: exp.DataType) -> exp.DataType:
    """The DuckDB type for a Flink type node (precision kept where DuckDB needs it)."""
    name = dt.this.name if hasattr(dt.this, "name") else str(dt.this)
    params = [int(p.name) for p in dt.expressions if isinstance(p, exp.DataTypeParam) and p.name.isdigit()]
    if name in ("TIMESTAMP", "DATETIME", "TIMESTAMP_MS", "TIMESTAMP_S"):
        precision = params[0] if params else (3 if name != "TIMESTAMP" else 6)
        return exp.DataType.build("TIMESTAMP_MS" if precision <= 3 else "TIMESTAMP", dialect="duckdb")
    if name == "DECIMAL":
        p, s = (params + [10, 0][len(params):])[:2] if params else (10, 0)
        return exp.DataType.build(f"DECIMAL({min(p, 38)}, {s})", dialect="duckdb")
    if name in _SIMPLE_TYPES:
        return exp.DataType.build(_SIMPLE_TYPES[name], dialect="duckdb")
    if name in ("ARRAY", "MAP", "STRUCT"):
        kids = [duck_type(k) if isinstance(k, exp.DataType) else k for k in dt.expressions]
        return exp.DataType(this=dt.this, expressions=kids, nested=True)
    return dt


def _args(node: exp.Anonymous) -> list[exp.Expression]:
    return list(node.expressions)


def _split_index(args: list[exp.Expression]) -> exp.Expression:
    if len(args) != 3:
        raise ValidationError("SPLIT_INDEX takes (string, separator, index)")
    s, sep, idx = args
    one_based = exp.Add(this=exp.Paren(this=idx), expression=exp.Literal.number(1))
    item = _fn("LIST_EXTRACT", _fn("STRING_SPLIT", s, sep), one_based)
    # Negative indexes count from the end in DuckDB lists; Flink returns NULL for them.
    return exp.Case(ifs=[exp.If(this=exp.GTE(this=idx.copy(), expression=exp.Literal.number(0)), true=item)])


def _regexp_extract(s: exp.Expression, pattern: exp.Expression, group: exp.Expression | None) -> exp.Expression:
    group = group or exp.Literal.number(0)
    extract = _fn("REGEXP_EXTRACT", s, pattern, group)
    return exp.Case(ifs=[exp.If(this=_fn("REGEXP_MATCHES", s.copy(), pattern.copy()), true=extract)])


def _to_timestamp(args: list[exp.Expression]) -> exp.Expression:
    if len(args) == 1:
        return exp.TryCast(this=args[0], to=exp.DataType.build("TIMESTAMP_MS", dialect="duckdb"))
    return _cast(_fn("TRY_STRPTIME", args[0], _strptime_literal(args[1], "")), "TIMESTAMP_MS")


def _to_timestamp_ltz(args: list[exp.Expression]) -> exp.Expression:
    precision = args[1].name if len(args) > 1 else "3"
    if precision not in ("0", "3"):
        raise NotSupportedError(f"TO_TIMESTAMP_LTZ precision {precision} (use 0 or 3)")
    millis = exp.Cast(this=args[0], to=exp.DataType.build("BIGINT"))
    if precision == "0":
        millis = exp.Mul(this=millis, expression=exp.Literal.number(1000))
    return _cast(_fn("EPOCH_MS", millis), "TIMESTAMP_MS")


def _unix_timestamp(args: list[exp.Expression]) -> exp.Expression:
    if not args:
        ts: exp.Expression = exp.CurrentTimestamp()
    else:
        ts = _fn("STRPTIME", args[0],
                 _strptime_literal(args[1] if len(args) > 1 else None, "yyyy-MM-dd HH:mm:ss"))
    return _cast(_fn("EPOCH", ts), "BIGINT")


def _from_unixtime(args: list[exp.Expression]) -> exp.Expression:
    millis = exp.Mul(this=_cast(args[0], "BIGINT"), expression=exp.Literal.number(1000))
    return _strftime(_fn("EPOCH_MS", millis), args[1] if len(args) > 1 else None,
                     "yyyy-MM-dd HH:mm:ss")


def _date_format(ts: exp.Expression, fmt: exp.Expression | None) -> exp.Expression:
    return _strftime(_cast(ts, "TIMESTAMP"), fmt, "yyyy-MM-dd HH:mm:ss")


def _concat(args: list[exp.Expression]) -> exp.Expression:
    if not args:
        raise ValidationError("CONCAT needs at least one argument")
    out = args[0]
    for a in args[1:]:
        out = exp.DPipe(this=out, expression=a)
    return exp.Paren(this=out) if len(args) > 1 else out


_ANONYMOUS = {
    "DATE_FORMAT": lambda a: _date_format(a[0], a[1] if len(a) > 1 else None),
    "TO_TIMESTAMP": _to_timestamp,
    "TO_TIMESTAMP_LTZ": _to_timestamp_ltz,
    "SPLIT_INDEX": _split_index,
    "REGEXP_EXTRACT": lambda a: _regexp_extract(a[0], a[1], a[2] if len(a) > 2 else None),
    "CHAR_LENGTH": lambda a: _fn("LENGTH", *a),
    "CHARACTER_LENGTH": lambda a: _fn("LENGTH", *a),
    "UNIX_TIMESTAMP": _unix_timestamp,
    "FROM_UNIXTIME": _from_unixtime,
    "CONCAT": _concat,
    "CONCAT_WS": lambda a: _fn("CONCAT_WS", *a),
    "MOD": lambda a: flink_modulo(a[0], a[1]),
    "SUBSTR": lambda a: _fn("SUBSTRING", *a),
    "IFNULL": lambda a: _fn("COALESCE", *a),
    "IF": lambda a: exp.Case(ifs=[exp.If(this=a[0], true=a[1])], default=a[2] if len(a) > 2 else None),
    "LOG": lambda a: _fn("LN", a[0]) if len(a) == 1 else exp.Div(
        this=_fn("LN", a[1]), expression=_fn("LN", a[0])
    ),
    "POW": lambda a: _fn("POWER", *a),
    "DAYOFWEEK": lambda a: exp.Paren(this=exp.Add(this=_fn("DAYOFWEEK", *a), expression=exp.Literal.number(1))),
    "RAND": lambda a: _fn("RANDOM"),
    "PROCTIME": lambda a: exp.CurrentTimestamp(),  # the query's start time (lookup joins)
    "UUID": lambda a: _cast(_fn("UUID"), "VARCHAR"),
    "REGEXP": lambda a: _fn("REGEXP_MATCHES", *a),
    "REGEXP_REPLACE": lambda a: _fn("REGEXP_REPLACE", *a, exp.Literal.string("g")),
    "LISTAGG": lambda a: _fn("STRING_AGG", a[0], a[1] if len(a) > 1 else exp.Literal.string(",")),
    "TO_DATE": lambda a: _cast(
        _fn("TRY_STRPTIME", a[0], _strptime_literal(a[1], "")) if len(a) > 1 else exp.TryCast(
            this=a[0], to=exp.DataType.build("DATE")
        ),
        "DATE",
    ),
    "GREATEST": lambda a: _null_if_any_null("GREATEST", a),
    "LEAST": lambda a: _null_if_any_null("LEAST", a),
}


def _null_if_any_null(name: str, args: list[exp.Expression]) -> exp.Expression:
    """Flink's GREATEST/LEAST return NULL when an argument is NULL (DuckDB's skip NULLs)."""
    any_null = exp.or_(*[exp.Is(this=a.copy(), expression=exp.Null()) for a in args])
    return exp.Case(ifs=[exp.If(this=any_null, true=exp.Null())], default=_fn(name, *args))


def _map_node(node: exp.Expression) -> exp.Expression:
    mapped = map_json(node)
    if mapped is not None:
        return mapped
    if isinstance(node, exp.Anonymous):
        name = node.name.upper()
        if name in _ANONYMOUS:
            args = _args(node)
            try:
                return _ANONYMOUS[name](args)
            except IndexError:  # a rewrite read an argument the call does not have
                raise ValidationError(
                    f"wrong number of arguments for {name}(): got {len(args)}"
                ) from None
        if name in PASSTHROUGH or name.startswith("__UDF_"):  # Python UDFs: flowsql.batch.udfs
            return node
        raise NotSupportedError(f"function {name}()", hint="FlowSQL runs Flink's built-in functions; register a Python "
                                  "function with CREATE FUNCTION (docs/udf.md)")
    if isinstance(node, exp.TimeToStr):
        inner = node.this
        if isinstance(inner, exp.TimeStrToTime):
            inner = inner.this
        return _date_format(inner, node.args.get("format"))
    if isinstance(node, exp.RegexpExtract):
        return _regexp_extract(node.this, node.expression, node.args.get("group") or node.args.get("position"))
    if isinstance(node, exp.StrToUnix):
        this = node.this
        if isinstance(this, exp.CurrentTimestamp):
            return _unix_timestamp([])
        return _unix_timestamp([this] + ([node.args["format"]] if node.args.get("format") else []))
    if isinstance(node, exp.UnixToStr):
        return _from_unixtime([node.this] + ([node.args["format"]] if node.args.get("format") else []))
    if isinstance(node, exp.Concat):
        return _concat(list(node.expressions))
    if isinstance(node, exp.ConcatWs):
        return _fn("CONCAT_WS", *node.expressions)
    if isinstance(node, exp.Length):
        return _fn("LENGTH", node.this)
    if isinstance(node, exp.Mod):
        return flink_modulo(node.this, node.expression)
    if isinstance(node, exp.Div):
        return flink_division(node, node.meta.get("flink_sql") or node.sql())
    if isinstance(node, exp.Cast | exp.TryCast) and isinstance(node.args.get("to"), exp.DataType):
        integer = is_integer_target(node.args["to"])
        node.set("to", duck_type(node.args["to"]))
        return flink_integer_cast(node) if integer else node
    return node


def map_functions(tree: exp.Expression) -> exp.Expression:
    """Rewrite Flink functions/casts in ``tree`` in place (returns the new root).

    Nodes are visited children first, so arguments are already rewritten when their
    function is (sqlglot's ``transform`` does not descend into replaced nodes). A division
    remembers its Flink text first, for its division-by-zero error.
    """
    for div in tree.find_all(exp.Div):
        div.meta["flink_sql"] = div.sql()
    return transform_post_order(tree, _map_node)


def transform_post_order(tree: exp.Expression, fun) -> exp.Expression:
    """Apply ``fun`` to every node of ``tree``, children before parents; returns the new root."""
    root = tree
    for node in reversed(list(tree.walk(bfs=False))):
        parent, arg_key, index = node.parent, node.arg_key, node.index
        new = fun(node)
        if new is node:
            continue
        if node is root:
            root = new
        elif parent is not None and arg_key:
            parent.set(arg_key, new, index)
    return root
