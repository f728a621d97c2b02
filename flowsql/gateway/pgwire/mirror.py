"""The catalog mirror: an in-memory DuckDB answering Postgres introspection for one connection.

Contract:
- One :class:`CatalogMirror` per Postgres connection holds a DuckDB ``:memory:`` connection
  with the relations of :mod:`~flowsql.gateway.pgwire.pgcatalog` (schemas ``fpg_catalog``
  and ``fpg_info``) and macros for the Postgres functions BI tools call (``format_type``,
  ``pg_get_expr``, ``pg_table_is_visible``, ``pg_get_userbyid``, ``has_*_privilege``,
  ``obj_description``, ``col_description``, ``pg_get_keywords()``, ``current_setting`` …).
  No table data is mirrored: only names, types and comments.
- :meth:`query` first refreshes the catalog relations when the FlowSQL catalog changed (the
  rows are rebuilt and compared; reloaded only on a difference), rewrites the statement
  (:func:`~flowsql.gateway.pgwire.rewrite.rewrite`; only queries pass) and runs it.
- Locked down like the batch sandbox: extension auto-install/-load off, then
  ``enable_external_access = false`` and ``lock_configuration = true`` before any client SQL
  runs, so ``read_csv('/etc/passwd')``, COPY, ATTACH, INSTALL and LOAD cannot work here.
- Not thread-safe: the connection calls it from one worker thread at a time.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from flowsql.gateway.pgwire import pgcatalog
from flowsql.gateway.pgwire.pgtypes import OID_ARRAY, PG_OID_KEY
from flowsql.gateway.pgwire.rewrite import INFO_SCHEMA, PG_SCHEMA, rewrite

P = PG_SCHEMA

MACROS = f"""
CREATE MACRO pg_get_userbyid(x) AS '{pgcatalog.OWNER}';
CREATE MACRO pg_encoding_to_char(x) AS 'UTF8';
CREATE MACRO pg_get_expr(a, b, c := NULL) AS CAST(a AS VARCHAR);
CREATE MACRO has_table_privilege(a, b, c := NULL) AS true;
CREATE MACRO has_schema_privilege(a, b, c := NULL) AS true;
CREATE MACRO has_database_privilege(a, b, c := NULL) AS true;
CREATE MACRO has_column_privilege(a, b, c, d := NULL) AS true;
CREATE MACRO has_any_column_privilege(a, b, c := NULL) AS true;
CREATE MACRO has_function_privilege(a, b, c := NULL) AS true;
CREATE MACRO has_sequence_privilege(a, b, c := NULL) AS true;
CREATE MACRO pg_has_role(a, b, c := NULL) AS true;
CREATE MACRO obj_description(x, c := NULL) AS (SELECT description FROM {P}.pg_description m_d
  WHERE m_d.objoid = x AND m_d.objsubid = 0 LIMIT 1);
CREATE MACRO col_description(x, n) AS (SELECT description FROM {P}.pg_description m_d
  WHERE m_d.objoid = x AND m_d.objsubid = n LIMIT 1);
CREATE MACRO shobj_description(x, c) AS CAST(NULL AS VARCHAR);
CREATE MACRO format_type(t, m) AS CASE
  WHEN t IS NULL THEN NULL
  WHEN t = 1043 AND m > 4 THEN 'character varying(' || (m - 4) || ')'
  WHEN t = 1042 AND m > 4 THEN 'character(' || (m - 4) || ')'
  WHEN t = 1700 AND m > 4 THEN 'numeric(' || ((m - 4) >> 16) || ',' || ((m - 4) & 65535) || ')'
  WHEN t = 1114 AND m >= 0 THEN 'timestamp(' || m || ') without time zone'
  WHEN t = 1184 AND m >= 0 THEN 'timestamp(' || m || ') with time zone'
  ELSE coalesce((SELECT display FROM {P}.fpg_type_display m_d WHERE m_d.oid = t), '???') END;
CREATE MACRO pg_get_constraintdef(x, p := false) AS (
  SELECT 'PRIMARY KEY (' || string_agg(m_a.attname, ', ' ORDER BY m_a.attnum) || ')'
  FROM {P}.pg_constraint m_c JOIN {P}.pg_attribute m_a
    ON m_a.attrelid = m_c.conrelid AND list_contains(m_c.conkey, m_a.attnum) WHERE m_c.oid = x);
CREATE MACRO pg_get_indexdef(x, n := 0, p := false) AS (
  SELECT 'CREATE UNIQUE INDEX ' || m_ic.relname || ' ON ' || m_tc.relname || ' USING btree ('
    || (SELECT string_agg(m_a.attname, ', ' ORDER BY m_a.attnum) FROM {P}.pg_attribute m_a
        WHERE m_a.attrelid = m_i.indrelid AND list_contains(m_i.indkey, m_a.attnum)) || ')'
  FROM {P}.pg_index m_i JOIN {P}.pg_class m_ic ON m_ic.oid = m_i.indexrelid
  JOIN {P}.pg_class m_tc ON m_tc.oid = m_i.indrelid WHERE m_i.indexrelid = x);
CREATE MACRO pg_get_viewdef(x, p := false) AS (SELECT m_v.definition FROM {P}.pg_views m_v
  JOIN {P}.pg_class m_c ON m_c.relname = m_v.viewname WHERE m_c.oid = x LIMIT 1);
CREATE MACRO pg_relation_is_publishable(x) AS false;
CREATE MACRO pg_partition_ancestors(x) AS CAST(x AS BIGINT);
CREATE MACRO pg_get_statisticsobjdef_columns(x) AS CAST(NULL AS VARCHAR);
CREATE MACRO pg_get_partkeydef(x) AS CAST(NULL AS VARCHAR);
CREATE MACRO pg_get_triggerdef(x, p := false) AS CAST(NULL AS VARCHAR);
CREATE MACRO pg_get_ruledef(x, p := false) AS CAST(NULL AS VARCHAR);
CREATE MACRO pg_get_function_identity_arguments(x) AS '';
CREATE MACRO pg_get_function_arguments(x) AS '';
CREATE MACRO pg_get_function_result(x) AS 'text';
CREATE MACRO pg_get_serial_sequence(a, b) AS CAST(NULL AS VARCHAR);
CREATE MACRO pg_total_relation_size(x) AS 0;
CREATE MACRO pg_relation_size(x, f := NULL) AS 0;
CREATE MACRO pg_table_size(x) AS 0;
CREATE MACRO pg_indexes_size(x) AS 0;
CREATE MACRO pg_is_in_recovery() AS false;
CREATE MACRO txid_current() AS 1;
CREATE MACRO array_upper(a, d) AS len(a);
CREATE MACRO array_lower(a, d) AS CASE WHEN len(a) > 0 THEN 1 END;
CREATE MACRO current_setting(x, m := false) AS (SELECT setting FROM {P}.pg_settings m_s
  WHERE lower(m_s.name) = lower(x));
CREATE MACRO set_config(a, b, c) AS b;
CREATE MACRO quote_ident(x) AS CASE WHEN regexp_matches(x, '^[a-z_][a-z0-9_$]*$') THEN x
  ELSE '"' || replace(x, '"', '""') || '"' END;
CREATE MACRO parse_ident(x) AS string_split(replace(x, '"', ''), '.');
CREATE MACRO array_length(a, d) AS len(a);
CREATE MACRO pg_backend_pid() AS 0;
CREATE MACRO _pg_expandarray(arr) AS unnest(list_transform(range(1, len(arr) + 1),
  lambda i: {{'x': arr[i], 'n': i}}));
CREATE MACRO pg_get_keywords() AS TABLE SELECT keyword_name AS word,
  CASE keyword_category WHEN 'reserved' THEN 'R' WHEN 'unreserved' THEN 'U'
    WHEN 'type_function' THEN 'T' ELSE 'C' END AS catcode,
  true AS barelabel, keyword_category AS catdesc, 'can be bare label' AS baredesc
  FROM duckdb_keywords();
CREATE MACRO fpg_regclass_oid(x) AS CASE replace(replace(x, '"', ''), 'pg_catalog.', '')
  WHEN 'pg_class' THEN 1259 WHEN 'pg_type' THEN 1247 WHEN 'pg_proc' THEN 1255
  WHEN 'pg_namespace' THEN 2615 WHEN 'pg_constraint' THEN 2606 WHEN 'pg_attribute' THEN 1249
  WHEN 'pg_database' THEN 1262 WHEN 'pg_index' THEN 2610 ELSE (SELECT m_c.oid
  FROM {P}.pg_class m_c JOIN {P}.pg_namespace m_n ON m_n.oid = m_c.relnamespace
  WHERE m_c.relname = split_part(replace(x, '"', ''), '.', -1)
    AND (NOT contains(x, '.') OR m_n.nspname = split_part(replace(x, '"', ''), '.', -2))
  ORDER BY pg_table_is_visible(m_c.oid) DESC LIMIT 1) END;
CREATE MACRO fpg_regclass_name(x) AS (SELECT relname FROM {P}.pg_class m_c WHERE m_c.oid = x);
CREATE MACRO fpg_regtype_oid(x) AS (SELECT m_t.oid FROM {P}.fpg_type_display m_t
  JOIN {P}.pg_type m_p ON m_p.oid = m_t.oid WHERE m_p.typname = x OR m_t.display = x LIMIT 1);
CREATE MACRO fpg_regtype_name(x) AS format_type(x, NULL);
CREATE MACRO fpg_regnamespace_oid(x) AS (SELECT oid FROM {P}.pg_namespace m_n
  WHERE m_n.nspname = x);
CREATE MACRO fpg_regnamespace_name(x) AS (SELECT nspname FROM {P}.pg_namespace m_n
  WHERE m_n.oid = x);
CREATE MACRO to_regtype(x) AS fpg_regtype_oid(x);
CREATE MACRO to_regclass(x) AS fpg_regclass_oid(x);
CREATE MACRO to_regnamespace(x) AS fpg_regnamespace_oid(x);
CREATE MACRO fpg_regrole_oid(x) AS 10;
CREATE MACRO fpg_regrole_name(x) AS '{pgcatalog.OWNER}';
CREATE MACRO fpg_regproc_oid(x) AS 0;
CREATE MACRO fpg_regproc_name(x) AS CAST(x AS VARCHAR);
CREATE MACRO fpg_regprocedure_name(x) AS CAST(x AS VARCHAR);
CREATE MACRO fpg_regoper_name(x) AS CAST(x AS VARCHAR);
CREATE MACRO fpg_regconfig_name(x) AS CAST(x AS VARCHAR);
"""


class _EmptyCatalog:
    """No databases: gives the catalog relations their columns before the first refresh."""

    current_catalog = current_database = "default"

    def list_databases(self) -> list[str]:
        return []


class CatalogMirror:
    def __init__(self, database: str, user: str, version: str) -> None:
        self.database, self.user, self.version = database, user, version
        self.con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False,
                                                      "autoload_known_extensions": False})
        self._loaded: dict[str, object] = {}
        self.schema = "default_database"
        self.settings: dict[str, str] = dict(pgcatalog.SETTINGS)
        self.cursors: list[str] = []  # the connection's open SQL cursors (pg_cursors)
        try:
            self.con.execute("SET TimeZone = 'UTC'")
            self.con.execute(f"CREATE SCHEMA {PG_SCHEMA}; CREATE SCHEMA {INFO_SCHEMA}")
            self._load(pgcatalog.static_tables(database))
            self._load(pgcatalog.catalog_tables(_EmptyCatalog(), database))
            self._load({"pg_catalog.pg_cursors": pgcatalog._empty(
                "name statement is_holdable:b is_binary:b is_scrollable:b")})
            self.con.execute(self._visible_macro())
            self.con.execute(MACROS)
            self.con.execute("SET enable_external_access = false")
            self.con.execute("SET lock_configuration = true")
        except BaseException:
            self.con.close()
            raise
        self.pg_names = {n.split(".", 1)[1] for n in self._loaded if n.startswith("pg_catalog.")}

    def _visible_macro(self) -> str:
        schema = self.schema.replace("'", "''")
        return (f"CREATE OR REPLACE MACRO pg_table_is_visible(x) AS x IN (SELECT m_c.oid FROM "
                f"{P}.pg_class m_c JOIN {P}.pg_namespace m_n ON m_n.oid = m_c.relnamespace "
                f"WHERE m_n.nspname IN ('{schema}', 'pg_catalog'));\n"
                f"CREATE OR REPLACE MACRO pg_type_is_visible(x) AS true;\n"
                f"CREATE OR REPLACE MACRO pg_function_is_visible(x) AS true;")

    def _load(self, tables: dict[str, pa.Table]) -> None:
        for qualified, table in tables.items():
            schema, name = qualified.split(".", 1)
            target = f'{PG_SCHEMA if schema == "pg_catalog" else INFO_SCHEMA}."{name}"'
            fingerprint = (table.schema, table.to_pydict())
            if self._loaded.get(qualified) == fingerprint:
                continue
            self.con.register("fpg_incoming", table)
            try:
                self.con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM fpg_incoming")
            finally:
                self.con.unregister("fpg_incoming")
            self._loaded[qualified] = fingerprint

    def refresh(self, catalog) -> None:
        """Reload the catalog relations if the FlowSQL catalog changed."""
        schema = catalog.current_database
        if schema != self.schema:
            self.schema = schema
            self.con.execute(self._visible_macro())
        tables = pgcatalog.catalog_tables(catalog, self.database)
        settings = [(k, v, None, "FlowSQL", k, "user", "string", "session", v, v)
                    for k, v in self.settings.items()]
        tables["pg_catalog.pg_settings"] = pa.Table.from_pylist(
            [dict(zip(self._settings_columns(), row, strict=True)) for row in settings],
            schema=self._loaded_schema("pg_catalog.pg_settings"))
        tables["pg_catalog.pg_cursors"] = pa.table(
            {"name": pa.array(self.cursors, pa.string()),
             "statement": pa.array([""] * len(self.cursors), pa.string()),
             "is_holdable": pa.array([True] * len(self.cursors), pa.bool_()),
             "is_binary": pa.array([False] * len(self.cursors), pa.bool_()),
             "is_scrollable": pa.array([False] * len(self.cursors), pa.bool_())})
        self._load(tables)

    def _settings_columns(self) -> list[str]:
        return self._loaded_schema("pg_catalog.pg_settings").names

    def _loaded_schema(self, name: str) -> pa.Schema:
        return self._loaded[name][0]  # type: ignore[index]

    def context(self) -> dict[str, str]:
        return {"schema": self.schema, "database": self.database, "user": self.user,
                "version": self.version, "settings": self.settings}

    def query(self, sql: str, catalog) -> pa.Table:
        self.refresh(catalog)
        duck = rewrite(sql, self.pg_names, self.context())
        rel = self.con.sql(duck)
        return _oid_lists(rel.to_arrow_table()) if rel is not None else pa.table({})

    def interrupt(self) -> None:
        self.con.interrupt()

    def close(self) -> None:
        self.con.close()


def _oid_lists(table: pa.Table) -> pa.Table:
    """Integer lists of the catalog are oid/int2 vectors: send them as ``oid[]``."""
    fields, changed = [], False
    for f in table.schema:
        if (pa.types.is_list(f.type) or pa.types.is_large_list(f.type)) \
                and pa.types.is_integer(f.type.value_type):
            f = f.with_metadata({PG_OID_KEY: str(OID_ARRAY).encode()})
            changed = True
        fields.append(f)
    return table.replace_schema_metadata(None).cast(pa.schema(fields)) if changed else table
