"""The ``flink`` sqlglot dialect: Flink SQL (Calcite flavour) queries and expressions.

Contract:
- Importing this module registers :class:`Flink` under the name ``"flink"``, so
  ``sqlglot.parse_one(sql, read="flink")`` and ``expr.sql(dialect="flink")`` work.
- flink → flink regeneration is a round trip: parse(generate(parse(sql))) == parse(sql), and
  Flink function names keep their Flink spelling (``DATE_FORMAT``, ``CHAR_LENGTH``,
  ``SPLIT_INDEX``, ``TO_TIMESTAMP_LTZ``, ``IF`` ...); ``IF(c, a, b)`` stays a typed ``exp.If``.
- Lexical rules: backquoted identifiers (``"..."`` is accepted as an identifier too), strings in
  single quotes with ``''`` as the only escape (a backslash is an ordinary character, as in
  Flink regexes), ``||`` concatenation, case-sensitive identifiers, 1-based array indexes.
- Types: ``STRING``, ``BYTES``, ``TIMESTAMP_LTZ(p)``, ``TIMESTAMP(p) WITH LOCAL TIME ZONE``,
  ``ARRAY<T>``, ``MAP<K, V>``, ``ROW<a T, ...>`` and ``ROW(a T, ...)`` (a ``STRUCT`` node,
  printed back as ``ROW<...>``).
- ``TABLE(TUMBLE|HOP|CUMULATE|SESSION(...))`` anywhere a table may appear parses to
  :class:`flowsql.sql.expressions.WindowTVF` (positional or ``NAME => value`` arguments);
  ``DESCRIPTOR(c)`` elsewhere to :class:`flowsql.sql.expressions.Descriptor`.
- ``t FOR SYSTEM_TIME AS OF expr [AS a]`` is an ``exp.Version`` on the table.
- SQL/JSON syntax: ``JSON_VALUE``/``JSON_QUERY``/``JSON_EXISTS`` (RETURNING, wrappers,
  ``... ON EMPTY``/``... ON ERROR``) and ``JSON_ARRAY(... NULL|ABSENT ON NULL)`` parse to the
  nodes of :mod:`flowsql.sql.expressions`; ``JSON_OBJECT([KEY] k VALUE v, ...)`` to sqlglot's
  ``exp.JSONObject`` (any expression as value); ``x IS JSON [kind]`` to ``exp.Is``/``exp.JSON``.
- Query hints, ``SELECT /*+ NAME(...) [, NAME(...)] */ ...``, are sqlglot's ``exp.Hint`` in
  ``select.args['hint']``; a second hint block after the first is a parse error (sqlglot would
  drop it silently).

Built on sqlglot's base dialect (the closest to Calcite's standard SQL; Hive/Spark would bring
backslash escapes and Java-time-format rewriting we would have to undo) through its class
tables: tokenizer ``KEYWORDS``, parser ``FUNCTIONS``, generator ``TYPE_MAPPING`` /
``TRANSFORMS``. Functions that sqlglot would otherwise turn into a node printed under another
name are left as ``exp.Anonymous`` (see :data:`VERBATIM_FUNCTIONS`), so they print verbatim.
"""

from __future__ import annotations

from sqlglot import exp, generator, parser, tokens
from sqlglot.dialects.dialect import Dialect, NormalizationStrategy
from sqlglot.tokens import TokenType

from flowsql.sql.expressions import (
    WINDOW_KINDS,
    Descriptor,
    JsonArray,
    JsonBehavior,
    JsonExists,
    JsonQuery,
    JsonValue,
    WindowTVF,
)

# Flink built-ins that sqlglot maps to a node printed under another name or with other
# arguments; keeping them anonymous preserves the user's spelling and argument list.
VERBATIM_FUNCTIONS = frozenset(
    {
        "DATE_FORMAT", "TO_TIMESTAMP", "TO_TIMESTAMP_LTZ", "TO_DATE", "UNIX_TIMESTAMP",
        "FROM_UNIXTIME", "SPLIT_INDEX", "REGEXP_EXTRACT", "REGEXP_REPLACE", "REGEXP",
        "CHAR_LENGTH", "CHARACTER_LENGTH", "IFNULL", "MOD", "LOG10", "LOG2", "LOG", "LN",
        "DAYOFMONTH", "DAYOFWEEK", "DAYOFYEAR", "TIMESTAMPADD", "TIMESTAMPDIFF", "DATE_ADD",
        "DATE_SUB", "DATEDIFF", "POSITION", "LOCATE", "INSTR", "TRUNCATE", "FROM_BASE64",
        "TO_BASE64", "APPROX_COUNT_DISTINCT", "LISTAGG", "STR_TO_MAP", "SPLIT", "CONCAT",
        "CONCAT_WS", "SUBSTR", "SUBSTRING", "TRIM", "LTRIM", "RTRIM", "NOW", "CONVERT_TZ",
        "JSON_VALUE", "JSON_QUERY", "JSON_EXISTS", "JSON_OBJECT", "JSON_ARRAY", "DECODE",
        "ENCODE", "HASH_CODE", "CURRENT_WATERMARK", "SOURCE_WATERMARK", "PROCTIME",
        "CURRENT_ROW_TIMESTAMP", "UUID", "RAND", "RAND_INTEGER", "ELEMENT", "CARDINALITY",
        "FIRST_VALUE", "LAST_VALUE", "LEFT", "RIGHT", "LPAD", "RPAD", "REPEAT", "REVERSE",
        "REPLACE", "INITCAP", "OVERLAY", "ASCII", "CHR", "MD5", "SHA1", "SHA2", "SHA256",
        "SHA512", "HEX", "BIN", "UNHEX", "DATE", "YEAR", "QUARTER", "MONTH",
        "WEEK", "HOUR", "MINUTE", "SECOND", "TUMBLE", "HOP", "SESSION", "CUMULATE",
        "TUMBLE_START", "TUMBLE_END", "TUMBLE_ROWTIME", "TUMBLE_PROCTIME", "HOP_START",
        "HOP_END", "HOP_ROWTIME", "HOP_PROCTIME", "SESSION_START", "SESSION_END",
        "SESSION_ROWTIME", "SESSION_PROCTIME", "GREATEST", "LEAST", "POWER", "POW",
        "STDDEV", "STDDEV_POP", "STDDEV_SAMP", "VARIANCE", "VAR_POP", "VAR_SAMP", "COLLECT",
        "ARRAY_CONTAINS", "ARRAY_DISTINCT", "ARRAY_JOIN", "MAP_KEYS", "MAP_VALUES",
        "UNNEST",
    }
)

_SPECIAL_SYNTAX = frozenset(
    {"TRIM", "POSITION", "SUBSTRING", "JSON_OBJECT", "JSON_ARRAY", "JSON_VALUE", "JSON_QUERY",
     "JSON_EXISTS", "OVERLAY", "DECODE"}
)

_TVF_ARG_NAMES = {
    "DATA": "table", "TIMECOL": "time_col", "SIZE": "size", "SLIDE": "slide", "STEP": "step",
    "GAP": "gap", "OFFSET": "offset",
}
# Interval argument names per window kind, in Flink's positional order.
_TVF_INTERVALS = {
    "TUMBLE": ("SIZE",), "HOP": ("SLIDE", "SIZE"), "CUMULATE": ("STEP", "SIZE"),
    "SESSION": ("GAP",),
}


class FlinkParser(parser.Parser):
    """sqlglot parser with Flink's window TVFs, ROW types and verbatim built-ins."""

    FUNCTIONS = {k: v for k, v in parser.Parser.FUNCTIONS.items() if k not in VERBATIM_FUNCTIONS}
    FUNCTION_PARSERS = {
        # Special-syntax parsers (TRIM(BOTH .. FROM ..), POSITION(a IN b), JSON_OBJECT(KEY ..))
        # stay; only names whose output sqlglot would respell are kept verbatim.
        **{
            k: v
            for k, v in parser.Parser.FUNCTION_PARSERS.items()
            if k not in VERBATIM_FUNCTIONS or k in _SPECIAL_SYNTAX
        },
        "DESCRIPTOR": lambda self: self._parse_descriptor_args(),
        "JSON_VALUE": lambda self: self._parse_json_value(),
        "JSON_QUERY": lambda self: self._parse_json_query(),
        "JSON_EXISTS": lambda self: self._parse_json_exists(),
        "JSON_ARRAY": lambda self: self._parse_json_array(),
    }
    FUNC_TOKENS = {*parser.Parser.FUNC_TOKENS, TokenType.SESSION}
    NO_PAREN_FUNCTIONS = {
        k: v
        for k, v in parser.Parser.NO_PAREN_FUNCTIONS.items()
        if k not in (TokenType.CURRENT_USER,)
    }

    def _parse_hint(self):  # type: ignore[no-untyped-def]
        # sqlglot keeps the first /*+ ... */ block after SELECT and drops any further one
        # silently; Flink (Calcite) takes one hint block per query block, so a second is an error.
        hint = super()._parse_hint()
        if hint is not None and self._curr is not None and self._prev is not None and (
            "/*+" in self.sql[self._prev.end + 1 : self._curr.start]
        ):
            self.raise_error("a SELECT takes one hint block /*+ ... */: put its hints in one "
                             "block, separated by commas", self._prev)
        return hint

    def _parse_descriptor_args(self) -> Descriptor:
        # Called after "DESCRIPTOR(" was consumed; the caller of FUNCTION_PARSERS eats ")".
        return self.expression(Descriptor(expressions=self._parse_csv(self._parse_column)))

    # --- window table-valued functions ------------------------------------------------------

    def _at_window_tvf(self) -> bool:
        return (
            self._curr is not None
            and self._curr.token_type == TokenType.TABLE
            and self._next is not None
            and self._next.token_type == TokenType.L_PAREN
            and self._index + 3 < len(self._tokens)
            and self._tokens[self._index + 2].text.upper() in WINDOW_KINDS
            and self._tokens[self._index + 3].token_type == TokenType.L_PAREN
        )

    def _parse_window_tvf(self) -> WindowTVF:
        self._advance(2)  # TABLE (
        kind = self._curr.text.upper()
        self._advance(2)  # KIND (
        named: dict[str, exp.Expression] = {}
        positional: list[exp.Expression] = []
        partition_by: list[exp.Expression] | None = None
        while True:
            arg_name = None
            if self._next is not None and self._next.token_type == TokenType.FARROW:
                arg_name = self._curr.text.upper()
                if arg_name not in _TVF_ARG_NAMES:
                    self.raise_error(f"unknown {kind} argument {self._curr.text}")
                self._advance(2)
            if self._match(TokenType.TABLE) or self._curr.token_type == TokenType.L_PAREN:
                value: exp.Expression | None = (
                    self._parse_table_parts()
                    if self._curr.token_type != TokenType.L_PAREN
                    else self._parse_select(table=True)
                )
                if self._match(TokenType.PARTITION_BY):
                    if self._match(TokenType.L_PAREN):
                        partition_by = self._parse_csv(self._parse_column)
                        self._match_r_paren()
                    else:
                        partition_by = [self._parse_column()]
            elif self._curr is not None and self._curr.text.upper() == "DESCRIPTOR":
                self._advance()
                self._match_l_paren()
                value = self._parse_column()
                self._match_r_paren()
            else:
                value = self._parse_assignment()
            if value is None:
                self.raise_error(f"expected an argument of {kind}")
            if arg_name:
                named[arg_name] = value  # type: ignore[assignment]
            else:
                positional.append(value)  # type: ignore[arg-type]
            if not self._match(TokenType.COMMA):
                break
        self._match_r_paren()  # KIND(...)
        self._match_r_paren()  # TABLE(...)
        table = named.pop("DATA", positional.pop(0) if positional else None)
        time_col = named.pop("TIMECOL", positional.pop(0) if positional else None)
        intervals = [
            named.pop(n) if n in named else (positional.pop(0) if positional else None)
            for n in _TVF_INTERVALS[kind]
        ]
        offset = named.pop("OFFSET", positional.pop(0) if positional else None)
        if table is None or time_col is None or any(i is None for i in intervals) or positional:
            self.raise_error(f"{kind} takes (TABLE t, DESCRIPTOR(col), {_signature(kind)})")
        if named:
            self.raise_error(f"{kind} has no argument {', '.join(named)}")
        node = WindowTVF(
            this=kind, table=table, time_col=time_col, intervals=intervals,
            partition_by=partition_by, offset=offset,
        )
        alias = self._parse_table_alias()
        if alias:
            node.set("alias", alias)
        return node

    # --- SQL/JSON functions (flowsql.sql.expressions) ----------------------------------------

    def _parse_json_behavior(self, on: str, *kinds: str) -> JsonBehavior | None:
        index = self._index
        for kind in kinds:
            if self._match_text_seq(*kind.split(), "ON", on):
                return JsonBehavior(this=kind, on=on)
        if self._match(TokenType.DEFAULT):
            value = self._parse_bitwise()
            if self._match_text_seq("ON", on):
                return JsonBehavior(this="DEFAULT", on=on, default=value)
        self._retreat(index)
        return None

    def _parse_json_key_value(self) -> exp.JSONKeyValue | None:
        # Flink: [KEY] key VALUE value, where the value is any expression (sqlglot stops at a
        # comparison such as `VALUE v > 0`)
        self._match_text_seq("KEY")
        key = self._parse_bitwise()
        if key is None:
            return None
        if not self._match_text_seq("VALUE"):
            self.raise_error("expected VALUE after the JSON_OBJECT key")
        return self.expression(exp.JSONKeyValue(this=key, expression=self._parse_assignment()))

    def _parse_json_common(self) -> dict:
        this = self._parse_assignment()
        if not self._match(TokenType.COMMA):
            self.raise_error("expected ', <json path>' after the JSON argument")
        return {"this": this, "path": self._parse_bitwise()}

    def _parse_json_value(self) -> JsonValue:
        args = self._parse_json_common()
        if self._match_text_seq("RETURNING"):
            args["returning"] = self._parse_types()
        args["on_empty"] = self._parse_json_behavior("EMPTY", "NULL", "ERROR")
        args["on_error"] = self._parse_json_behavior("ERROR", "NULL", "ERROR")
        return self.expression(JsonValue(**args))

    def _parse_json_query(self) -> JsonQuery:
        args = self._parse_json_common()
        if self._match_text_seq("WITHOUT"):
            self._match_text_seq("ARRAY")
            if not self._match_text_seq("WRAPPER"):
                self.raise_error("expected WITHOUT [ARRAY] WRAPPER")
            args["wrapper"] = "WITHOUT"
        elif self._match_text_seq("WITH"):
            wrapper = "CONDITIONAL" if self._match_text_seq("CONDITIONAL") else "UNCONDITIONAL"
            self._match_text_seq("UNCONDITIONAL")
            self._match_text_seq("ARRAY")
            if not self._match_text_seq("WRAPPER"):
                self.raise_error("expected WITH [CONDITIONAL|UNCONDITIONAL] [ARRAY] WRAPPER")
            args["wrapper"] = wrapper
        kinds = ("NULL", "ERROR", "EMPTY ARRAY", "EMPTY OBJECT")
        args["on_empty"] = self._parse_json_behavior("EMPTY", *kinds)
        args["on_error"] = self._parse_json_behavior("ERROR", *kinds)
        return self.expression(JsonQuery(**args))

    def _parse_json_exists(self) -> JsonExists:
        args = self._parse_json_common()
        args["on_error"] = self._parse_json_behavior("ERROR", "TRUE", "FALSE", "UNKNOWN", "ERROR")
        return self.expression(JsonExists(**args))

    def _parse_json_array(self) -> JsonArray:
        values = self._parse_csv(self._parse_assignment)
        handling = None
        for kind in ("NULL", "ABSENT"):
            if self._match_text_seq(kind, "ON", "NULL"):
                handling = kind
        return self.expression(JsonArray(expressions=values, null_handling=handling))

    def _parse_csv(self, parse_method, sep=TokenType.COMMA):  # type: ignore[no-untyped-def]
        # sqlglot silently drops empty list items ("SELECT a, FROM t", "f(a,,b)", "IN (1,)");
        # Calcite rejects them, so an item missing after a separator is an error here.
        calls = 0

        def item():  # type: ignore[no-untyped-def]
            nonlocal calls
            calls += 1
            result = parse_method()
            if result is None and calls > 1 and self._prev is not None and self._prev.token_type == sep:
                self.raise_error(f"unexpected '{self._prev.text}': an item is missing after it", self._prev)
            return result

        return super()._parse_csv(item, sep)

    def _parse_select(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        # Flink has no DuckDB-style leading FROM ("FROM t SELECT ..."); refusing it makes a
        # typo such as "FROM FROM t" an error instead of a silent subquery.
        if self._curr is not None and self._curr.token_type == TokenType.FROM:
            return None
        return super()._parse_select(*args, **kwargs)

    def _parse_table(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self._at_window_tvf():
            return self._parse_window_tvf()
        return super()._parse_table(*args, **kwargs)

    # --- ROW types ---------------------------------------------------------------------------

    def _parse_types(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self._curr is not None and self._curr.text.upper() == "ROW" and self._next is not None:
            if self._next.token_type in (TokenType.LT, TokenType.L_PAREN):
                index = self._index
                row = self._parse_row_type()
                if row is not None:
                    return row
                self._retreat(index)
        return super()._parse_types(*args, **kwargs)

    def _parse_row_type(self) -> exp.DataType | None:
        self._advance()
        close = TokenType.GT if self._curr.token_type == TokenType.LT else TokenType.R_PAREN
        self._advance()
        fields: list[exp.Expression] = []
        while not self._match(close):
            if fields and not self._match(TokenType.COMMA):
                return None
            name = self._parse_id_var(any_token=True)
            if name is None or self._curr is None:
                return None
            kind = self._parse_types()
            if kind is None:
                return None
            fields.append(exp.ColumnDef(this=name, kind=kind))
            if self._curr is None:
                return None
        dtype = exp.DataType(this=exp.DType.STRUCT, expressions=fields, nested=True)
        if self._match_text_seq("NOT", "NULL"):
            return dtype
        return dtype


def _signature(kind: str) -> str:
    return ", ".join(f"INTERVAL <{n.lower()}>" for n in _TVF_INTERVALS[kind])


def _window_tvf_sql(self: generator.Generator, e: WindowTVF) -> str:
    table = self.sql(e, "table")
    if isinstance(e.args["table"], exp.Table):
        table = f"TABLE {table}"
    partition = e.args.get("partition_by")
    if partition:
        keys = ", ".join(self.sql(p) for p in partition)
        table += f" PARTITION BY {keys if len(partition) == 1 else f'({keys})'}"
    args = [table, f"DESCRIPTOR({self.sql(e, 'time_col')})"]
    args += [self.sql(i) for i in e.args["intervals"]]
    if e.args.get("offset") is not None:
        args.append(self.sql(e, "offset"))
    alias = self.sql(e, "alias")
    return f"TABLE({e.kind}({', '.join(args)}))" + (f" AS {alias}" if alias else "")


def _trim_sql(self: generator.Generator, e: exp.Trim) -> str:
    target = self.sql(e, "this")
    head = " ".join(p for p in (e.text("position").upper(), self.sql(e, "expression")) if p)
    return f"TRIM({head} FROM {target})" if head else f"TRIM({target})"


def _position_sql(self: generator.Generator, e: exp.StrPosition) -> str:
    if e.args.get("position") is not None:
        return self.func("LOCATE", e.args.get("substr"), e.this, e.args.get("position"))
    return f"POSITION({self.sql(e, 'substr')} IN {self.sql(e, 'this')})"


def _substring_sql(self: generator.Generator, e: exp.Substring) -> str:
    length = self.sql(e, "length")
    return f"SUBSTRING({self.sql(e, 'this')} FROM {self.sql(e, 'start')}" + (
        f" FOR {length})" if length else ")"
    )


def _array_sql(self: generator.Generator, e: exp.Array) -> str:
    if e.args.get("value_constructor"):
        return f"ARRAY({self.expressions(e, flat=True)})"
    return f"ARRAY[{self.expressions(e, flat=True)}]"


def _json_behaviors(self: generator.Generator, e: exp.Expression) -> str:
    out = ""
    for key, on in (("on_empty", "EMPTY"), ("on_error", "ERROR")):
        b = e.args.get(key)
        if b is not None:
            kind = f"DEFAULT {self.sql(b, 'default')}" if b.kind == "DEFAULT" else b.kind
            out += f" {kind} ON {on}"
    return out


def _json_value_sql(self: generator.Generator, e: JsonValue) -> str:
    returning = self.sql(e, "returning")
    returning = f" RETURNING {returning}" if returning else ""
    return (f"JSON_VALUE({self.sql(e, 'this')}, {self.sql(e, 'path')}{returning}"
            f"{_json_behaviors(self, e)})")


def _json_query_sql(self: generator.Generator, e: JsonQuery) -> str:
    wrapper = e.args.get("wrapper")
    wrapper = "" if not wrapper else (" WITHOUT ARRAY WRAPPER" if wrapper == "WITHOUT"
                                      else f" WITH {wrapper} ARRAY WRAPPER")
    return (f"JSON_QUERY({self.sql(e, 'this')}, {self.sql(e, 'path')}{wrapper}"
            f"{_json_behaviors(self, e)})")


def _json_array_sql(self: generator.Generator, e: JsonArray) -> str:
    handling = e.args.get("null_handling")
    return (f"JSON_ARRAY({self.expressions(e, flat=True)}"
            + (f" {handling} ON NULL" if handling else "") + ")")


class FlinkGenerator(generator.Generator):
    """sqlglot generator printing Flink spellings of types, TVFs and temporal joins."""

    TYPE_MAPPING = {
        **generator.Generator.TYPE_MAPPING,
        exp.DType.TEXT: "STRING",
        exp.DType.TIMESTAMPLTZ: "TIMESTAMP_LTZ",
        exp.DType.STRUCT: "ROW",
        exp.DType.DATETIME: "TIMESTAMP",
    }
    TRANSFORMS = {
        **generator.Generator.TRANSFORMS,
        WindowTVF: _window_tvf_sql,
        Descriptor: lambda self, e: f"DESCRIPTOR({self.expressions(e, flat=True)})",
        exp.Array: _array_sql,
        exp.Trim: _trim_sql,
        exp.StrPosition: _position_sql,
        exp.Substring: _substring_sql,
        exp.If: lambda self, e: self.func("IF", e.this, e.args.get("true"), e.args.get("false")),
        exp.CurrentTimestamp: lambda self, e: "CURRENT_TIMESTAMP",
        exp.CurrentTime: lambda self, e: "CURRENT_TIME",
        exp.CurrentDate: lambda self, e: "CURRENT_DATE",
        JsonValue: _json_value_sql,
        JsonQuery: _json_query_sql,
        JsonExists: lambda self, e: (f"JSON_EXISTS({self.sql(e, 'this')}, {self.sql(e, 'path')}"
                                     f"{_json_behaviors(self, e)})"),
        JsonArray: _json_array_sql,
        exp.JSONKeyValue: lambda self, e: f"KEY {self.sql(e, 'this')} VALUE {self.sql(e, 'expression')}",
    }

    def version_sql(self, expression: exp.Version) -> str:
        return f"FOR SYSTEM_TIME AS OF {self.sql(expression, 'expression')}"

    def datatype_sql(self, expression: exp.DataType) -> str:
        if expression.is_type(exp.DType.VARBINARY) and not expression.expressions:
            return "BYTES"
        return super().datatype_sql(expression)


class Flink(Dialect):
    """Flink SQL. Registered as ``flink``."""

    NORMALIZATION_STRATEGY = NormalizationStrategy.CASE_SENSITIVE
    INDEX_OFFSET = 1
    ALIAS_POST_VERSION = True

    class Tokenizer(tokens.Tokenizer):
        QUOTES = ["'"]
        IDENTIFIERS = ["`", '"']
        STRING_ESCAPES = ["'"]
        # No statement is swallowed as an opaque command: the statement shell is ours.
        COMMANDS: set[TokenType] = set()
        KEYWORDS = {
            **tokens.Tokenizer.KEYWORDS,
            "STRING": TokenType.TEXT,
            "BYTES": TokenType.VARBINARY,
            "TIMESTAMP_LTZ": TokenType.TIMESTAMPLTZ,
        }

    Parser = FlinkParser
    Generator = FlinkGenerator
