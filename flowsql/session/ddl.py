"""Handlers for DDL and introspection statements (CREATE/DROP/USE/SHOW/DESCRIBE).

Contract: ``HANDLERS`` maps a statement class of :mod:`flowsql.sql.statements` to
``handler(session, stmt) -> Result``. DDL answers Flink's ``[INFO] Execute statement
succeeded.``; SHOW and DESCRIBE answer a table with Flink's column names (``table name``,
``database name`` …). Errors are ``CatalogError`` / ``ValidationError`` naming the object.

- CREATE TABLE resolves the name, merges ``LIKE`` (see :func:`catalog.ddl.merge_like`),
  validates (:func:`catalog.ddl.validate_table`) and records the definition; connector
  options are recorded as given (Flink 1.x keys such as ``'connector.type'`` under today's
  names, with a deprecation warning: :mod:`connectors.legacy`) and validated only at planning.
- CREATE VIEW records the query as Flink SQL text and checks that the tables it reads exist.
- SHOW TABLES lists tables and views, as Flink does; SHOW VIEWS lists views only.
- SHOW FUNCTIONS lists built-in and user functions; SHOW USER FUNCTIONS the user ones
  (:mod:`catalog.functions`), as Flink does.
- SHOW JOBS belongs to the runtime and is not handled here.
- SHOW CREATE TABLE/VIEW answers one ``result`` column holding the DDL (also in
  ``Result.extra['ddl']``, for faces that print it as text).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlglot import exp

from catalog.catalog import split_identifier
from catalog.ddl import (
    describe_table,
    describe_view,
    merge_like,
    show_create_table,
    show_create_view,
    validate_table,
)
from catalog.table import TableDefinition, ViewDefinition
from connectors.legacy import modernize
from flowsql.errors import CatalogError, NotSupportedError, ValidationError
from flowsql.session.result import Result
from flowsql.sql import statements as st

if TYPE_CHECKING:
    from flowsql.session.session import Session

SUCCESS = "[INFO] Execute statement succeeded."

# SHOW FUNCTIONS: Flink's common built-in functions (a static list; the expression compiler
# decides which of them actually run).
BUILTIN_FUNCTIONS = (
    "ABS", "ACOS", "ARRAY", "ASCII", "ASIN", "ATAN", "AVG", "CARDINALITY", "CAST", "CEIL",
    "CHAR_LENGTH", "COALESCE", "CONCAT", "CONCAT_WS", "COS", "COUNT", "CUMULATE",
    "CURRENT_DATE", "CURRENT_TIMESTAMP", "CURRENT_WATERMARK", "DATE_FORMAT", "DAYOFMONTH",
    "DEGREES", "DENSE_RANK", "EXP", "EXTRACT", "FIRST_VALUE", "FLOOR", "FROM_UNIXTIME",
    "GREATEST", "HOP", "HOUR", "IF", "IFNULL", "INITCAP", "IS_ALPHA", "IS_DECIMAL", "IS_DIGIT",
    "JSON_ARRAY", "JSON_EXISTS", "JSON_OBJECT", "JSON_QUERY", "JSON_STRING", "JSON_VALUE",
    "LAG", "LAST_VALUE", "LEAD", "LEAST", "LEFT", "LN", "LOCALTIMESTAMP", "LOG", "LOG10", "LOG2", "LOWER", "LPAD", "LTRIM", "MAP", "MAX",
    "MD5", "MIN", "MINUTE", "MOD", "MONTH", "NOW", "NULLIF", "OVERLAY", "PI", "POSITION",
    "POWER", "PROCTIME", "RADIANS", "RAND", "RAND_INTEGER", "RANK", "REGEXP",
    "REGEXP_EXTRACT", "REGEXP_REPLACE", "REPEAT", "REPLACE", "REVERSE", "RIGHT", "ROUND",
    "ROW", "ROW_NUMBER", "RPAD", "RTRIM", "SECOND", "SESSION", "SHA1", "SHA256", "SIGN", "SIN",
    "SOURCE_WATERMARK", "SPLIT_INDEX", "SQRT", "STDDEV_POP", "STDDEV_SAMP", "SUBSTR",
    "SUBSTRING", "SUM", "TAN", "TIMESTAMPADD", "TIMESTAMPDIFF", "TO_DATE", "TO_TIMESTAMP",
    "TO_TIMESTAMP_LTZ", "TRIM", "TRUNCATE", "TRY_CAST", "TUMBLE", "UNIX_TIMESTAMP", "UPPER",
    "UUID", "VAR_POP", "VAR_SAMP", "WEEK", "YEAR",
)  # fmt: skip


def _names_table(column: str, names: list[str]) -> Result:
    return Result.rows(pa.table({column: pa.array(names, pa.string())}))


def _query_sql(query: exp.Expression) -> str:
    """The view query as Flink SQL text (the Flink generator once it exists)."""
    try:
        from flowsql.sql.generator import expression_sql
    except ImportError:  # the generator is not there yet: the Flink dialect directly
        return query.sql(dialect=_dialect())
    return expression_sql(query)


def _dialect() -> str | None:
    try:
        import flowsql.sql.dialect  # noqa: F401 - registers the "flink" sqlglot dialect
    except ImportError:
        return None
    return "flink"


def _referenced_tables(query: exp.Expression) -> list[tuple[str, ...]]:
    """Names of the catalog tables a query reads (CTE names excluded)."""
    ctes = {cte.alias_or_name for cte in query.find_all(exp.CTE)}
    names = []
    for table in query.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            continue
        parts = tuple(p.name for p in table.parts)
        if len(parts) == 1 and parts[0] in ctes:
            continue
        names.append(parts)
    return names


# -- CREATE / DROP ---------------------------------------------------------------------------
def _create_table(session: Session, stmt: st.CreateTable) -> Result:
    catalog = session.catalog
    options, warnings = modernize(stmt.options)
    defn = TableDefinition(
        name=catalog.resolve(stmt.name),
        columns=tuple(stmt.columns),
        options=options,
        watermark=stmt.watermark,
        primary_key=stmt.primary_key,
        partition_keys=tuple(stmt.partition_keys),
        comment=stmt.comment,
        temporary=stmt.temporary,
    )
    if stmt.like is not None:
        source = catalog.get(split_identifier(stmt.like.source))
        if not isinstance(source, TableDefinition):
            raise ValidationError(
                f"the source of LIKE must be a table, but '{source.name.name}' is a view"
            )
        defn = merge_like(source, defn, stmt.like.options)
    catalog.create_table(validate_table(defn), if_not_exists=stmt.if_not_exists)
    result = Result.ok(SUCCESS)
    result.warnings = warnings
    return result


def _create_view(session: Session, stmt: st.CreateView) -> Result:
    catalog = session.catalog
    name = catalog.resolve(stmt.name)
    for parts in _referenced_tables(stmt.query):
        catalog.get(parts)  # raises CatalogError naming the missing table
    if len(set(stmt.column_names)) != len(stmt.column_names):
        raise ValidationError(f"duplicate column name in view '{name.name}'")
    selects = stmt.query.named_selects if isinstance(stmt.query, exp.Query) else []
    if stmt.column_names and selects and "*" not in selects:
        if len(selects) != len(stmt.column_names):
            raise ValidationError(
                f"view '{name.name}' lists {len(stmt.column_names)} column name(s) but its "
                f"query returns {len(selects)} column(s)"
            )
    view = ViewDefinition(
        name=name,
        query=_query_sql(stmt.query),
        column_names=tuple(stmt.column_names),
        comment=stmt.comment,
        temporary=stmt.temporary,
    )
    catalog.create_view(view, if_not_exists=stmt.if_not_exists)
    return Result.ok(SUCCESS)


def _drop_table(session: Session, stmt: st.DropTable) -> Result:
    session.catalog.drop_table(stmt.name, if_exists=stmt.if_exists, temporary=stmt.temporary)
    return Result.ok(SUCCESS)


def _drop_view(session: Session, stmt: st.DropView) -> Result:
    session.catalog.drop_view(stmt.name, if_exists=stmt.if_exists, temporary=stmt.temporary)
    return Result.ok(SUCCESS)


def _create_database(session: Session, stmt: st.CreateDatabase) -> Result:
    session.catalog.create_database(
        stmt.name, if_not_exists=stmt.if_not_exists, comment=stmt.comment
    )
    return Result.ok(SUCCESS)


def _drop_database(session: Session, stmt: st.DropDatabase) -> Result:
    session.catalog.drop_database(stmt.name, if_exists=stmt.if_exists, cascade=stmt.cascade)
    return Result.ok(SUCCESS)


def _use_catalog(session: Session, stmt: st.UseCatalog) -> Result:
    session.catalog.use_catalog(stmt.name)
    return Result.ok(SUCCESS)


def _use_database(session: Session, stmt: st.UseDatabase) -> Result:
    session.catalog.use_database(stmt.name)
    return Result.ok(SUCCESS)


# -- SHOW / DESCRIBE -------------------------------------------------------------------------
def _show(session: Session, stmt: st.Show) -> Result:
    catalog = session.catalog
    what = " ".join(stmt.what.upper().split())
    if what == "CATALOGS":
        return _names_table("catalog name", catalog.list_catalogs())
    if what == "DATABASES":
        return _names_table("database name", catalog.list_databases())
    if what == "TABLES":
        return _names_table("table name", [n for n, _ in catalog.list_objects()])
    if what == "VIEWS":
        return _names_table("view name", catalog.list_views())
    if what == "FUNCTIONS":  # built-in and user functions, as Flink lists them
        user = catalog.functions.list_user()
        return _names_table("function name", sorted({*BUILTIN_FUNCTIONS, *user}))
    if what == "USER FUNCTIONS":
        return _names_table("function name", catalog.functions.list_user())
    if what == "CURRENT CATALOG":
        return _names_table("current catalog name", [catalog.current_catalog])
    if what == "CURRENT DATABASE":
        return _names_table("current database name", [catalog.current_database])
    raise NotSupportedError(f"SHOW {what}")


def _show_create(session: Session, stmt: st.ShowCreate) -> Result:
    obj = session.catalog.get(stmt.name)
    kind = stmt.kind.upper()
    if kind == "TABLE" and isinstance(obj, TableDefinition):
        ddl = show_create_table(obj)
    elif kind == "VIEW" and isinstance(obj, ViewDefinition):
        ddl = show_create_view(obj)
    else:
        other = "VIEW" if kind == "TABLE" else "TABLE"
        raise CatalogError(
            f"SHOW CREATE {kind} is only supported for {kind.lower()}s, "
            f"but '{obj.name.name}' is a {obj.kind}",
            hint=f"use SHOW CREATE {other} instead",
        )
    result = Result.rows(pa.table({"result": pa.array([ddl], pa.string())}))
    result.extra["ddl"] = ddl
    return result


def _view_columns(view: ViewDefinition) -> list[tuple[str, str]] | None:
    """Declared or selected column names of a view (types are derived at planning)."""
    if view.column_names:
        return [(n, "") for n in view.column_names]
    try:
        parsed = st.parse_statement(view.query)
        query = parsed.query if isinstance(parsed, st.Query) else None
    except ImportError:  # the Flink parser is not there yet: sqlglot's default dialect
        query = _parse_default(view.query)
    except Exception:  # noqa: BLE001 - names are a courtesy; the planner reports bad SQL
        query = None
    names = query.named_selects if isinstance(query, exp.Query) else []
    return [(n, "") for n in names if n and n != "*"]


def _parse_default(text: str) -> exp.Expression | None:
    import sqlglot

    try:
        return sqlglot.parse_one(text, read=_dialect())
    except sqlglot.errors.SqlglotError:
        return None


def _describe(session: Session, stmt: st.Describe) -> Result:
    obj = session.catalog.get(stmt.name)
    if isinstance(obj, TableDefinition):
        return Result.rows(describe_table(obj))
    return Result.rows(describe_view(obj, _view_columns(obj)))


HANDLERS: dict[type, Callable[[Session, Any], Result]] = {
    st.CreateTable: _create_table,
    st.CreateView: _create_view,
    st.DropTable: _drop_table,
    st.DropView: _drop_view,
    st.CreateDatabase: _create_database,
    st.DropDatabase: _drop_database,
    st.UseCatalog: _use_catalog,
    st.UseDatabase: _use_database,
    st.Show: _show,
    st.ShowCreate: _show_create,
    st.Describe: _describe,
}
