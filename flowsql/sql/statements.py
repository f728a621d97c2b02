"""Statements: the classified, typed form of every SQL statement FlowSQL accepts.

Contract:
- :func:`split_script` cuts a script into statements on ``;`` while respecting quotes,
  backquotes, ``--`` and ``/* */`` comments and ``EXECUTE STATEMENT SET BEGIN … END;`` blocks;
  each piece keeps its 1-based line/column in the script so errors point into the script.
- :func:`parse_statement` turns one statement's text into one of the frozen dataclasses below
  (names unresolved: a tuple of 1–3 parts), or raises ``SqlParseError`` with line, column
  and the offending source line. Queries stay sqlglot expressions in the Flink dialect.
- Every statement keeps its original ``text``; ``to_sql(stmt)`` regenerates equivalent Flink
  SQL, and ``parse_statement(to_sql(s)) == s`` modulo ``text`` (round-trip property).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp

from catalog.table import Column, LikeClause, PrimaryKey, WatermarkSpec

Name = tuple[str, ...]  # 1-3 identifier parts, unresolved: ("t",), ("db", "t"), ("cat", "db", "t")


@dataclass(frozen=True, kw_only=True)
class Statement:
    text: str = field(default="", compare=False)
    line: int = field(default=1, compare=False)
    col: int = field(default=1, compare=False)


@dataclass(frozen=True, kw_only=True)
class CreateTable(Statement):
    name: Name
    columns: tuple[Column, ...]
    watermark: WatermarkSpec | None = None
    primary_key: PrimaryKey | None = None
    partition_keys: tuple[str, ...] = ()
    comment: str | None = None
    options: dict[str, str] = field(default_factory=dict)
    like: LikeClause | None = None
    if_not_exists: bool = False
    temporary: bool = False


@dataclass(frozen=True, kw_only=True)
class CreateView(Statement):
    name: Name
    query: exp.Expression
    column_names: tuple[str, ...] = ()
    comment: str | None = None
    if_not_exists: bool = False
    temporary: bool = False


@dataclass(frozen=True, kw_only=True)
class DropTable(Statement):
    name: Name
    if_exists: bool = False
    temporary: bool = False


@dataclass(frozen=True, kw_only=True)
class DropView(Statement):
    name: Name
    if_exists: bool = False
    temporary: bool = False


@dataclass(frozen=True, kw_only=True)
class CreateFunction(Statement):
    """``CREATE [TEMPORARY [SYSTEM]] FUNCTION [IF NOT EXISTS] name AS 'path' [LANGUAGE l]``."""

    name: Name
    path: str  # 'package.module.attr' (or a Java class name, refused at execution)
    language: str = "PYTHON"  # as written (upper-cased): PYTHON, JAVA, SCALA, ...
    language_given: bool = False
    if_not_exists: bool = False
    temporary: bool = False
    system: bool = False


@dataclass(frozen=True, kw_only=True)
class DropFunction(Statement):
    name: Name
    if_exists: bool = False
    temporary: bool = False
    system: bool = False


@dataclass(frozen=True, kw_only=True)
class CreateDatabase(Statement):
    name: Name  # (db,) or (catalog, db)
    if_not_exists: bool = False
    comment: str | None = None


@dataclass(frozen=True, kw_only=True)
class DropDatabase(Statement):
    name: Name
    if_exists: bool = False
    cascade: bool = False


@dataclass(frozen=True, kw_only=True)
class UseCatalog(Statement):
    name: str


@dataclass(frozen=True, kw_only=True)
class UseDatabase(Statement):
    name: Name  # (db,) or (catalog, db)


SHOW_KINDS = (
    "CATALOGS", "DATABASES", "TABLES", "VIEWS", "FUNCTIONS", "USER FUNCTIONS", "JOBS",
    "CURRENT CATALOG", "CURRENT DATABASE",
)


@dataclass(frozen=True, kw_only=True)
class Show(Statement):
    what: str  # one of SHOW_KINDS


@dataclass(frozen=True, kw_only=True)
class ShowCreate(Statement):
    kind: str  # 'TABLE' | 'VIEW'
    name: Name


@dataclass(frozen=True, kw_only=True)
class Describe(Statement):
    name: Name


@dataclass(frozen=True, kw_only=True)
class Explain(Statement):
    statement: Statement  # a Query, Insert or StatementSet


@dataclass(frozen=True, kw_only=True)
class Set(Statement):
    key: str | None = None  # None: list all settings
    value: str | None = None


@dataclass(frozen=True, kw_only=True)
class Reset(Statement):
    key: str | None = None  # None: reset all


@dataclass(frozen=True, kw_only=True)
class Query(Statement):
    query: exp.Expression  # exp.Select | exp.Union | exp.Values | ... in the Flink dialect


@dataclass(frozen=True, kw_only=True)
class Insert(Statement):
    target: Name
    query: exp.Expression  # the SELECT / VALUES producing the rows
    columns: tuple[str, ...] = ()
    overwrite: bool = False


@dataclass(frozen=True, kw_only=True)
class StatementSet(Statement):
    inserts: tuple[Insert, ...]


@dataclass(frozen=True, kw_only=True)
class StopJob(Statement):
    job_id: str
    with_savepoint: bool = False
    with_drain: bool = False


@dataclass(frozen=True, kw_only=True)
class ScriptStatement:
    """One statement cut from a script, with its 1-based start position in the script."""

    text: str
    line: int
    col: int


def split_script(text: str) -> list[ScriptStatement]:
    """Cut a script into statements (see module contract). Implemented in flowsql.sql.splitter."""
    from flowsql.sql.splitter import split

    return split(text)


def parse_statement(text: str, *, line: int = 1, col: int = 1) -> Statement:
    """Parse one statement; positions in errors are offset by ``line``/``col``."""
    from flowsql.sql.parser import parse_one_statement

    return parse_one_statement(text, line=line, col=col)


def parse_script(text: str) -> list[Statement]:
    """Split and parse a whole script; errors show the script's own source line."""
    from flowsql.errors import SqlParseError

    out: list[Statement] = []
    for p in split_script(text):
        try:
            out.append(parse_statement(p.text, line=p.line, col=p.col))
        except SqlParseError as e:
            lines = text.splitlines()
            if 1 <= e.line <= len(lines):
                e.source_line = lines[e.line - 1]
            raise
    return out


def to_sql(stmt: Statement) -> str:
    """Regenerate Flink SQL for a statement (round-trips through parse_statement)."""
    from flowsql.sql.generator import statement_sql

    return statement_sql(stmt)
