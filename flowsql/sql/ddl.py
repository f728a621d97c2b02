"""``CREATE TABLE``: Flink's table DDL parsed into :class:`flowsql.sql.statements.CreateTable`.

Grammar (keywords case-insensitive)::

    CREATE [TEMPORARY] TABLE [IF NOT EXISTS] [cat.][db.]name (
        element [, element]*
    ) [COMMENT 'text'] [PARTITIONED BY (c, ...)] [WITH ('k' = 'v', ...)]
      [LIKE source [(INCLUDING|EXCLUDING|OVERWRITING ALL|OPTIONS|WATERMARKS|... , ...)]]

    element := c TYPE [NOT NULL] [METADATA [FROM 'key'] [VIRTUAL]] [PRIMARY KEY NOT ENFORCED]
                 [COMMENT 'text']                                      -- physical / metadata
             | c AS expression [COMMENT 'text']                        -- computed
             | [CONSTRAINT n] PRIMARY KEY (c, ...) [NOT ENFORCED]
             | WATERMARK FOR c AS expression

Contract: types are normalized with :func:`flowsql.types.parse_type` (``str()`` of the result;
a bare ``VARCHAR``/``VARBINARY`` means ``STRING``/``BYTES`` as in Flink SQL, whose type system
gives them the maximum length); computed-column and watermark expressions are stored as SQL
text regenerated in the ``flink`` dialect; option keys and values are kept exactly as given.
The table body may also be omitted when ``LIKE`` supplies it (``CREATE TABLE t WITH (...)
LIKE s``).
"""

from __future__ import annotations

import re

from sqlglot.tokens import TokenType

from catalog.table import Column, LikeClause, PrimaryKey, WatermarkSpec
from flowsql.errors import ValidationError
from flowsql.sql import statements as st
from flowsql.sql.cursor import Cursor
from flowsql.types import parse_type

_COLUMN_STOPS = ("METADATA", "COMMENT", "PRIMARY", "CONSTRAINT", "VIRTUAL")
_BARE_VARIABLE = re.compile(r"(?<![`\w])(VARCHAR|VARBINARY)(?![\w`])(?!\s*\()", re.IGNORECASE)
_LIKE_VERBS = ("INCLUDING", "EXCLUDING", "OVERWRITING")


def flink_type_text(cur: Cursor, start: int, end: int) -> str:
    """Normalized Flink type text for ``cur.origin.text[start:end]``."""
    raw = cur.origin.text[start:end]
    text = _BARE_VARIABLE.sub(
        lambda m: "STRING" if m.group(1).upper() == "VARCHAR" else "BYTES", raw
    )
    try:
        return str(parse_type(text))
    except ValidationError as e:
        raise cur.origin.error(e.message, start, hint=e.hint) from None


def _expression_text(cur: Cursor, start: int, end: int) -> str:
    from flowsql.sql.generator import expression_sql
    from flowsql.sql.parser import expression_at

    return expression_sql(expression_at(cur.origin, start, end))


def parse_create_table(cur: Cursor, *, temporary: bool) -> st.CreateTable:
    """Parse from ``TABLE`` (``CREATE [TEMPORARY]`` already consumed)."""
    cur.expect("TABLE")
    if_not_exists = cur.accept("IF", "NOT", "EXISTS")
    name = cur.name("a table name")
    columns: list[Column] = []
    watermark: WatermarkSpec | None = None
    primary_key: PrimaryKey | None = None
    if cur.accept_type(TokenType.L_PAREN):
        while True:
            if cur.at("WATERMARK", "FOR"):
                if watermark is not None:
                    cur.fail("a table has at most one WATERMARK")
                cur.i += 2
                column = cur.identifier("the event-time column")
                cur.expect("AS")
                watermark = WatermarkSpec(column=column, expression=_expression_text(cur, *cur.span()))
            elif cur.at("PRIMARY", "KEY") or cur.at("CONSTRAINT"):
                if primary_key is not None:
                    cur.fail("a table has at most one PRIMARY KEY")
                primary_key = _table_primary_key(cur)
            else:
                column, inline_pk = _column(cur)
                columns.append(column)
                if inline_pk:
                    if primary_key is not None:
                        cur.fail("a table has at most one PRIMARY KEY", back=1)
                    primary_key = PrimaryKey(columns=(column.name,))
            if cur.accept_type(TokenType.COMMA):
                continue
            cur.expect_type(TokenType.R_PAREN, "',' or ')' in the column list")
            break
    comment: str | None = None
    partition_keys: tuple[str, ...] = ()
    options: dict[str, str] = {}
    like: LikeClause | None = None
    while not cur.at_end():
        if cur.accept("COMMENT"):
            comment = cur.string("a quoted comment")
        elif cur.accept("PARTITIONED", "BY"):
            partition_keys = cur.paren_names()
        elif cur.at("WITH"):
            cur.i += 1
            options = _options(cur)
        elif cur.accept("LIKE"):
            like = _like(cur)
        else:
            cur.fail("expected COMMENT, PARTITIONED BY, WITH or LIKE after the column list")
    if not columns and like is None:
        cur.fail("a table needs a column list (or LIKE another table)")
    return st.CreateTable(
        name=name, columns=tuple(columns), watermark=watermark, primary_key=primary_key,
        partition_keys=partition_keys, comment=comment, options=options, like=like,
        if_not_exists=if_not_exists, temporary=temporary,
    )


def _column(cur: Cursor) -> tuple[Column, bool]:
    name = cur.identifier("a column name")
    if cur.accept("AS"):
        expression = _expression_text(cur, *cur.span(stop_words=("COMMENT",)))
        comment = cur.string("a quoted comment") if cur.accept("COMMENT") else None
        return Column(name=name, data_type=None, kind="computed", expression=expression, comment=comment), False
    if cur.at_end() or cur.peek().token_type in (TokenType.COMMA, TokenType.R_PAREN):  # type: ignore[union-attr]
        cur.fail(f"expected a data type for column {name}")
    data_type = flink_type_text(cur, *cur.span(stop_words=_COLUMN_STOPS, angle=True))
    kind = "physical"
    metadata_key: str | None = None
    virtual = False
    inline_pk = False
    comment = None
    while True:
        if cur.accept("METADATA"):
            kind = "metadata"
            if cur.accept("FROM"):
                metadata_key = cur.string("a quoted metadata key")
            virtual = cur.accept("VIRTUAL")
        elif cur.accept("PRIMARY", "KEY"):
            inline_pk = True
            if cur.accept("NOT"):
                cur.expect("ENFORCED")
        elif cur.accept("COMMENT"):
            comment = cur.string("a quoted comment")
        else:
            break
    column = Column(
        name=name, data_type=data_type, kind=kind,  # type: ignore[arg-type]
        metadata_key=metadata_key, virtual=virtual, comment=comment,
    )
    return column, inline_pk


def _table_primary_key(cur: Cursor) -> PrimaryKey:
    constraint = cur.identifier("a constraint name") if cur.accept("CONSTRAINT") else None
    cur.expect("PRIMARY", "KEY")
    columns = cur.paren_names()
    enforced = True
    if cur.accept("NOT"):
        cur.expect("ENFORCED")
        enforced = False
    return PrimaryKey(columns=columns, name=constraint, enforced=enforced)


def _options(cur: Cursor) -> dict[str, str]:
    cur.expect_type(TokenType.L_PAREN, "( after WITH")
    options: dict[str, str] = {}
    if cur.accept_type(TokenType.R_PAREN):
        return options
    while True:
        key_tok = cur.peek()
        if key_tok is not None and key_tok.token_type == TokenType.STRING:
            cur.i += 1
            key = key_tok.text
        else:
            key = ".".join(cur.name("a quoted option key"))
        if not cur.accept_type(TokenType.EQ):
            cur.fail(f"expected '=' after option '{key}'")
        value_tok = cur.peek()
        if value_tok is None or value_tok.token_type not in (
            TokenType.STRING, TokenType.NUMBER, TokenType.VAR, TokenType.TRUE, TokenType.FALSE,
        ):
            cur.fail(f"expected a quoted value for option '{key}'")
        cur.i += 1
        options[key] = value_tok.text  # type: ignore[union-attr]
        if cur.accept_type(TokenType.COMMA):
            continue
        cur.expect_type(TokenType.R_PAREN, "',' or ')' in the WITH options")
        return options


def _like(cur: Cursor) -> LikeClause:
    source = ".".join(cur.name("the LIKE source table"))
    items: list[str] = []
    if cur.accept_type(TokenType.L_PAREN):
        while not cur.accept_type(TokenType.R_PAREN):
            verb = cur.word()
            if verb not in _LIKE_VERBS:
                cur.fail("expected INCLUDING, EXCLUDING or OVERWRITING")
            cur.i += 1
            what = cur.word()
            if not what:
                cur.fail(f"expected what {verb} applies to (ALL, OPTIONS, WATERMARKS, ...)")
            cur.i += 1
            items.append(f"{verb} {what}")
            cur.accept_type(TokenType.COMMA)
    return LikeClause(source=source, options=tuple(items))
