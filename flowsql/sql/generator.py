"""Regenerate Flink SQL text from statement dataclasses and sqlglot expressions.

Contract:
- :func:`statement_sql` prints any :class:`flowsql.sql.statements.Statement` as Flink SQL such
  that ``parse_statement(statement_sql(s)) == s`` (``text``/position fields aside).
- :func:`expression_sql` prints a sqlglot expression (or query) in the ``flink`` dialect.
- Names are backquoted only when needed; strings use ``''`` escapes.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlglot import exp

import flowsql.sql.dialect  # noqa: F401  (registers the "flink" dialect)
from catalog.ddl import column_sql  # the one column renderer (SHOW CREATE TABLE too)
from flowsql.sql import statements as st

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z_0-9]*$")
# Words that cannot stand unquoted as a name in our statement shell or in Flink SQL.
_RESERVED = frozenset(
    {
        "AS", "AND", "OR", "NOT", "NULL", "SELECT", "FROM", "WHERE", "GROUP", "ORDER", "BY",
        "TABLE", "VIEW", "CREATE", "DROP", "WITH", "LIKE", "COMMENT", "PRIMARY", "KEY",
        "CONSTRAINT", "WATERMARK", "FOR", "METADATA", "VIRTUAL", "PARTITIONED", "IF",
        "EXISTS", "INSERT", "INTO", "VALUES", "TIMESTAMP", "DATE", "TIME", "INTERVAL", "USER",
        "CASE", "WHEN", "THEN", "ELSE", "END", "JOIN", "ON", "IN", "IS", "BETWEEN", "UNION",
        "ALL", "DISTINCT", "HAVING", "LIMIT", "OVER", "PARTITION", "ROW", "ROWS", "SET",
        "RESET", "TRUE", "FALSE", "DATABASE", "CATALOG", "TO", "CAST", "CURRENT",
        "LEFT", "RIGHT", "FULL", "INNER", "OUTER", "CROSS", "NATURAL", "USING", "EXCEPT",
        "INTERSECT", "SYSTEM_TIME", "OF", "DESCRIPTOR", "FILTER", "WINDOW", "ARRAY", "MAP",
        "VALUE", "YEAR", "MONTH", "DAY", "HOUR", "MINUTE", "SECOND", "STRING", "BYTES",
    }
)


def quote(name: str) -> str:
    """A name part, backquoted when it is not a plain unreserved identifier."""
    if _PLAIN.match(name) and name.upper() not in _RESERVED:
        return name
    return "`" + name.replace("`", "``") + "`"


def name_sql(name: tuple[str, ...] | str) -> str:
    parts = (name,) if isinstance(name, str) else name
    return ".".join(quote(p) for p in parts)


def string_sql(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def expression_sql(e: exp.Expression) -> str:
    """Flink SQL for a sqlglot expression or query."""
    return e.sql(dialect="flink")


def _names(names: tuple[str, ...]) -> str:
    return "(" + ", ".join(quote(n) for n in names) + ")"


def _create_table(s: st.CreateTable) -> str:
    head = "CREATE " + ("TEMPORARY " if s.temporary else "") + "TABLE "
    head += ("IF NOT EXISTS " if s.if_not_exists else "") + name_sql(s.name)
    parts = [column_sql(c, quote) for c in s.columns]
    if s.primary_key is not None:
        pk = s.primary_key
        text = f"CONSTRAINT {quote(pk.name)} " if pk.name else ""
        text += f"PRIMARY KEY {_names(pk.columns)}" + ("" if pk.enforced else " NOT ENFORCED")
        parts.append(text)
    if s.watermark is not None:
        parts.append(f"WATERMARK FOR {quote(s.watermark.column)} AS {s.watermark.expression}")
    out = head
    if parts:
        out += " (\n  " + ",\n  ".join(parts) + "\n)"
    if s.comment is not None:
        out += f"\nCOMMENT {string_sql(s.comment)}"
    if s.partition_keys:
        out += f"\nPARTITIONED BY {_names(s.partition_keys)}"
    if s.options:
        opts = ",\n  ".join(f"{string_sql(k)} = {string_sql(v)}" for k, v in s.options.items())
        out += f"\nWITH (\n  {opts}\n)"
    if s.like is not None:
        out += f"\nLIKE {name_sql(tuple(s.like.source.split('.')))}"
        if s.like.options:
            out += " (" + ", ".join(s.like.options) + ")"
    return out


def _create_view(s: st.CreateView) -> str:
    out = "CREATE " + ("TEMPORARY " if s.temporary else "") + "VIEW "
    out += ("IF NOT EXISTS " if s.if_not_exists else "") + name_sql(s.name)
    if s.column_names:
        out += " " + _names(s.column_names)
    if s.comment is not None:
        out += f" COMMENT {string_sql(s.comment)}"
    return out + f" AS\n{expression_sql(s.query)}"


def _drop(s: st.DropTable | st.DropView) -> str:
    kind = "TABLE" if isinstance(s, st.DropTable) else "VIEW"
    return (
        "DROP " + ("TEMPORARY " if s.temporary else "") + kind + " "
        + ("IF EXISTS " if s.if_exists else "") + name_sql(s.name)
    )


def _create_function(s: st.CreateFunction) -> str:
    scope = ("TEMPORARY " if s.temporary else "") + ("SYSTEM " if s.system else "")
    out = (f"CREATE {scope}FUNCTION " + ("IF NOT EXISTS " if s.if_not_exists else "")
           + f"{name_sql(s.name)} AS {string_sql(s.path)}")
    return out + (f" LANGUAGE {s.language}" if s.language_given else "")


def _drop_function(s: st.DropFunction) -> str:
    scope = ("TEMPORARY " if s.temporary else "") + ("SYSTEM " if s.system else "")
    return f"DROP {scope}FUNCTION " + ("IF EXISTS " if s.if_exists else "") + name_sql(s.name)


def _create_database(s: st.CreateDatabase) -> str:
    out = "CREATE DATABASE " + ("IF NOT EXISTS " if s.if_not_exists else "") + name_sql(s.name)
    return out + (f" COMMENT {string_sql(s.comment)}" if s.comment is not None else "")


def _drop_database(s: st.DropDatabase) -> str:
    out = "DROP DATABASE " + ("IF EXISTS " if s.if_exists else "") + name_sql(s.name)
    return out + (" CASCADE" if s.cascade else "")


def _insert(s: st.Insert) -> str:
    out = ("INSERT OVERWRITE " if s.overwrite else "INSERT INTO ") + name_sql(s.target)
    if s.columns:
        out += " " + _names(s.columns)
    return out + "\n" + expression_sql(s.query)


def _statement_set(s: st.StatementSet) -> str:
    body = "".join(f"{_insert(i)};\n" for i in s.inserts)
    return f"EXECUTE STATEMENT SET\nBEGIN\n{body}END"


def _set(s: st.Set) -> str:
    if s.key is None:
        return "SET"
    return f"SET {string_sql(s.key)} = {string_sql(s.value or '')}"


def _stop(s: st.StopJob) -> str:
    out = f"STOP JOB {string_sql(s.job_id)}"
    return out + (" WITH SAVEPOINT" if s.with_savepoint else "") + (" WITH DRAIN" if s.with_drain else "")


_GENERATORS: dict[type, Callable] = {
    st.CreateTable: _create_table,
    st.CreateView: _create_view,
    st.DropTable: _drop,
    st.DropView: _drop,
    st.CreateDatabase: _create_database,
    st.CreateFunction: _create_function,
    st.DropFunction: _drop_function,
    st.DropDatabase: _drop_database,
    st.UseCatalog: lambda s: f"USE CATALOG {quote(s.name)}",
    st.UseDatabase: lambda s: f"USE {name_sql(s.name)}",
    st.Show: lambda s: f"SHOW {s.what}",
    st.ShowCreate: lambda s: f"SHOW CREATE {s.kind} {name_sql(s.name)}",
    st.Describe: lambda s: f"DESCRIBE {name_sql(s.name)}",
    st.Explain: lambda s: f"EXPLAIN PLAN FOR\n{statement_sql(s.statement)}",
    st.Set: _set,
    st.Reset: lambda s: "RESET" if s.key is None else f"RESET {string_sql(s.key)}",
    st.Query: lambda s: expression_sql(s.query),
    st.Insert: _insert,
    st.StatementSet: _statement_set,
    st.StopJob: _stop,
}


def statement_sql(stmt: st.Statement) -> str:
    """Flink SQL text for ``stmt`` (no trailing ``;``)."""
    gen = _GENERATORS.get(type(stmt))
    if gen is None:
        raise TypeError(f"no SQL generator for {type(stmt).__name__}")
    return gen(stmt)
