"""Postgres system catalog rows describing a FlowSQL catalog (no data, only names and types).

Contract: :func:`catalog_tables` reads the session's FlowSQL catalog and returns
``{qualified name: pa.Table}`` for the relations the mirror serves:
- ``pg_catalog``: pg_namespace, pg_class, pg_attribute, pg_type, pg_index, pg_constraint,
  pg_description, pg_database, pg_settings, pg_proc, pg_am, pg_attrdef, pg_roles/pg_user,
  pg_tables, pg_views, pg_matviews, pg_collation, pg_enum, pg_extension, pg_tablespace, and
  empty tables with Postgres' columns for what psql and BI tools join against (inherits,
  trigger, policy, rewrite, statistic_ext, publication…, foreign_table, partitioned_table,
  sequence, stat_activity, locks);
- ``information_schema``: schemata, tables, columns, views, table_constraints,
  key_column_usage, routines.
The Postgres database is the one the client named at startup; its schemas are the FlowSQL
databases of the current catalog (plus ``pg_catalog``, ``information_schema``); the current
FlowSQL database is ``current_schema()``. FlowSQL tables and views are ``relkind`` ``r`` and
``v``; a primary key (never enforced in FlowSQL) is shown as a ``p`` constraint with its
index. OIDs are stable for a given catalog: namespaces from 2200, relations from 16384 in
name order. Types come from the column's Flink type (:func:`pg_column_type`); a view's
columns are its declared or selected names (as FlowSQL's DESCRIBE gives them), typed text.
"""

from __future__ import annotations

import pyarrow as pa

from flowsql.gateway.pgwire import pgtypes as T
from flowsql.types import parse_type

PG_CATALOG_OID, INFO_SCHEMA_OID = 11, 13000
FIRST_SCHEMA_OID, FIRST_REL_OID = 2200, 16384
OWNER_OID = 10
OWNER = "flowsql"

# oid, typname, typlen, typcategory, display name (format_type), array type oid
TYPES = [
    (T.BOOL, "bool", 1, "B", "boolean", 1000), (T.BYTEA, "bytea", -1, "U", "bytea", 1001),
    (18, "char", 1, "Z", '"char"', 1002), (19, "name", 64, "S", "name", 1003),
    (T.INT8, "int8", 8, "N", "bigint", 1016), (T.INT2, "int2", 2, "N", "smallint", 1005),
    (22, "int2vector", -1, "A", "int2vector", 1006), (T.INT4, "int4", 4, "N", "integer", 1007),
    (24, "regproc", 4, "N", "regproc", 1008), (T.TEXT, "text", -1, "S", "text", 1009),
    (T.OID, "oid", 4, "N", "oid", 1028), (114, "json", -1, "U", "json", 199),
    (T.FLOAT4, "float4", 4, "N", "real", 1021),
    (T.FLOAT8, "float8", 8, "N", "double precision", 1022),
    (T.UNKNOWN, "unknown", -2, "X", "unknown", 0),
    (T.BPCHAR, "bpchar", -1, "S", "character", 1014),
    (T.VARCHAR, "varchar", -1, "S", "character varying", 1015),
    (T.DATE, "date", 4, "D", "date", 1182),
    (T.TIME, "time", 8, "D", "time without time zone", 1183),
    (T.TIMESTAMP, "timestamp", 8, "D", "timestamp without time zone", 1115),
    (T.TIMESTAMPTZ, "timestamptz", 8, "D", "timestamp with time zone", 1185),
    (1186, "interval", 16, "T", "interval", 1187), (T.NUMERIC, "numeric", -1, "N", "numeric", 1231),
    (2205, "regclass", 4, "N", "regclass", 2210), (2206, "regtype", 4, "N", "regtype", 2211),
    (3802, "jsonb", -1, "U", "jsonb", 3807), (2950, "uuid", 16, "U", "uuid", 2951),
    (1000, "_bool", -1, "A", "boolean[]", 0), (1007, "_int4", -1, "A", "integer[]", 0),
    (1016, "_int8", -1, "A", "bigint[]", 0), (1009, "_text", -1, "A", "text[]", 0),
    (1015, "_varchar", -1, "A", "character varying[]", 0),
    (1022, "_float8", -1, "A", "double precision[]", 0),
]

SETTINGS = {
    "server_version": "16.0 (FlowSQL)", "server_version_num": "160000",
    "server_encoding": "UTF8", "client_encoding": "UTF8", "DateStyle": "ISO, MDY",
    "IntervalStyle": "postgres", "TimeZone": "UTC", "integer_datetimes": "on",
    "standard_conforming_strings": "on", "is_superuser": "off",
    "session_authorization": OWNER, "application_name": "", "extra_float_digits": "1",
    "search_path": '"$user", public', "transaction_isolation": "read committed",
    "transaction_read_only": "off", "default_transaction_read_only": "off",
    "max_identifier_length": "63", "max_index_keys": "32", "lc_collate": "C.UTF-8",
    "lc_ctype": "C.UTF-8", "lc_messages": "C.UTF-8", "lc_monetary": "C", "lc_numeric": "C",
    "statement_timeout": "0", "lock_timeout": "0", "bytea_output": "hex",
    "default_transaction_isolation": "read committed", "block_size": "8192",
    "in_hot_standby": "off", "escape_string_warning": "on", "client_min_messages": "notice",
}


def pg_column_type(flink_type: str | None) -> tuple[int, int]:
    """(type oid, typmod) of a FlowSQL column type."""
    if not flink_type:
        return T.TEXT, -1
    try:
        t = parse_type(flink_type)
    except Exception:  # noqa: BLE001 - an odd type is shown as text, never an error
        return T.TEXT, -1
    root, p = t.root, t.params
    simple = {"BOOLEAN": T.BOOL, "TINYINT": T.INT2, "SMALLINT": T.INT2, "INT": T.INT4,
              "BIGINT": T.INT8, "FLOAT": T.FLOAT4, "DOUBLE": T.FLOAT8, "DATE": T.DATE,
              "TIME": T.TIME, "BINARY": T.BYTEA, "VARBINARY": T.BYTEA}
    if root in simple:
        return simple[root], -1
    if root == "VARCHAR":
        return (T.TEXT, -1) if not p or p[0] >= 10_485_760 else (T.VARCHAR, p[0] + 4)
    if root == "CHAR":
        return T.BPCHAR, (p[0] if p else 1) + 4
    if root == "DECIMAL":
        prec, scale = (list(p) + [10, 0])[:2] if p else (10, 0)
        return T.NUMERIC, ((prec << 16) | scale) + 4
    if root in ("TIMESTAMP", "TIMESTAMP_LTZ"):
        oid = T.TIMESTAMP if root == "TIMESTAMP" else T.TIMESTAMPTZ
        return oid, (min(p[0], 6) if p else 6)
    return T.TEXT, -1


def _table(columns: list[tuple[str, pa.DataType]], rows: list[tuple]) -> pa.Table:
    names = [c for c, _ in columns]
    arrays = [pa.array([r[i] for r in rows], type=t) for i, (_, t) in enumerate(columns)]
    return pa.Table.from_arrays(arrays, names=names)


I, S, B, F = pa.int64(), pa.string(), pa.bool_(), pa.float64()  # noqa: E741
LS, LI = pa.list_(pa.string()), pa.list_(pa.int64())


def _empty(spec: str) -> pa.Table:
    cols = []
    for item in spec.split():
        name, _, kind = item.partition(":")
        cols.append((name, {"i": I, "s": S, "b": B, "li": LI, "ls": LS}[kind or "s"]))
    return _table(cols, [])


EMPTY = {
    "pg_inherits": "inhrelid:i inhparent:i inhseqno:i inhdetachpending:b",
    "pg_trigger": "oid:i tgrelid:i tgparentid:i tgname tgfoid:i tgtype:i tgenabled "
                  "tgisinternal:b tgconstrrelid:i tgconstrindid:i tgconstraint:i "
                  "tgdeferrable:b tginitdeferred:b tgnargs:i tgattr:li tgqual",
    "pg_policy": "oid:i polname polrelid:i polcmd polpermissive:b polroles:li polqual "
                 "polwithcheck",
    "pg_rewrite": "oid:i rulename ev_class:i ev_type is_instead:b ev_qual ev_action",
    "pg_statistic_ext": "oid:i stxrelid:i stxname stxnamespace:i stxowner:i "
                        "stxstattarget:i stxkeys:li stxkind:ls stxexprs",
    "pg_publication": "oid:i pubname pubowner:i puballtables:b pubinsert:b pubupdate:b "
                      "pubdelete:b pubtruncate:b pubviaroot:b",
    "pg_publication_rel": "oid:i prpubid:i prrelid:i prqual prattrs:li",
    "pg_publication_namespace": "oid:i pnpubid:i pnnspid:i",
    "pg_foreign_table": "ftrelid:i ftserver:i ftoptions:ls",
    "pg_foreign_server": "oid:i srvname srvowner:i srvfdw:i srvtype srvversion srvoptions:ls",
    "pg_partitioned_table": "partrelid:i partstrat partnatts:i partdefid:i partattrs:li",
    "pg_sequence": "seqrelid:i seqtypid:i seqstart:i seqincrement:i seqmax:i seqmin:i "
                   "seqcache:i seqcycle:b",
    "pg_depend": "classid:i objid:i objsubid:i refclassid:i refobjid:i refobjsubid:i deptype",
    "pg_enum": "oid:i enumtypid:i enumsortorder:i enumlabel",
    "pg_range": "rngtypid:i rngsubtype:i rngmultitypid:i rngcollation:i",
    "pg_event_trigger": "oid:i evtname evtevent evtowner:i evtfoid:i evtenabled evttags:ls",
    "pg_stat_activity": "datid:i datname pid:i usename application_name client_addr state "
                        "query backend_type",
    "pg_locks": "locktype database:i relation:i pid:i mode granted:b",
    "pg_matviews": "schemaname matviewname matviewowner tablespace hasindexes:b "
                   "ispopulated:b definition",
    "pg_sequences": "schemaname sequencename sequenceowner",
    "pg_indexes": "schemaname tablename indexname tablespace indexdef",
    "pg_extension": "oid:i extname extowner:i extnamespace:i extrelocatable:b extversion",
    "pg_cast": "oid:i castsource:i casttarget:i castfunc:i castcontext castmethod",
    "pg_operator": "oid:i oprname oprnamespace:i oprleft:i oprright:i oprresult:i",
    "pg_aggregate": "aggfnoid:i aggkind aggtransfn",
    "pg_language": "oid:i lanname lanowner:i",
    "pg_opclass": "oid:i opcmethod:i opcname opcnamespace:i opcdefault:b",
    "pg_auth_members": "roleid:i member:i grantor:i admin_option:b",
    "pg_shdescription": "objoid:i classoid:i description",
    "pg_largeobject_metadata": "oid:i lomowner:i",
    "pg_stat_user_tables": "relid:i schemaname relname n_live_tup:i",
    "pg_statio_user_tables": "relid:i schemaname relname",
    "pg_timezone_names": "name abbrev utc_offset is_dst:b",
}


def static_tables(database: str) -> dict[str, pa.Table]:
    """Relations that do not depend on the FlowSQL catalog."""
    out = {f"pg_catalog.{n}": _empty(spec) for n, spec in EMPTY.items()}
    out["pg_catalog.pg_type"] = _table(
        [("oid", I), ("typname", S), ("typnamespace", I), ("typowner", I), ("typlen", I),
         ("typbyval", B), ("typtype", S), ("typcategory", S), ("typispreferred", B),
         ("typisdefined", B), ("typdelim", S), ("typrelid", I), ("typelem", I),
         ("typarray", I), ("typinput", S), ("typoutput", S), ("typreceive", S),
         ("typsend", S), ("typalign", S), ("typstorage", S), ("typnotnull", B),
         ("typbasetype", I), ("typtypmod", I), ("typndims", I), ("typcollation", I),
         ("typdefault", S), ("typacl", LS)],
        [(oid, name, PG_CATALOG_OID, OWNER_OID, size, 0 < size <= 8, "b", cat, False, True,
          ",", 0, _elem(name), arr, f"{name}in", f"{name}out", f"{name}recv",
          f"{name}send", "i", "p", False, 0, -1, 0, 100 if cat == "S" else 0, None, None)
         for oid, name, size, cat, _display, arr in TYPES])
    out["pg_catalog.fpg_type_display"] = _table(
        [("oid", I), ("display", S)], [(t[0], t[4]) for t in TYPES])
    out["pg_catalog.pg_settings"] = _table(
        [("name", S), ("setting", S), ("unit", S), ("category", S), ("short_desc", S),
         ("context", S), ("vartype", S), ("source", S), ("boot_val", S), ("reset_val", S)],
        [(k, v, None, "FlowSQL", k, "user", "string", "default", v, v)
         for k, v in SETTINGS.items()])
    out["pg_catalog.pg_am"] = _table(
        [("oid", I), ("amname", S), ("amhandler", S), ("amtype", S)],
        [(2, "heap", "heap_tableam_handler", "t"), (403, "btree", "bthandler", "i")])
    out["pg_catalog.pg_roles"] = _table(
        [("oid", I), ("rolname", S), ("rolsuper", B), ("rolinherit", B), ("rolcreaterole", B),
         ("rolcreatedb", B), ("rolcanlogin", B), ("rolreplication", B), ("rolconnlimit", I),
         ("rolpassword", S), ("rolvaliduntil", S), ("rolbypassrls", B), ("rolconfig", LS)],
        [(OWNER_OID, OWNER, False, True, False, False, True, False, -1, "********", None,
          False, None)])
    out["pg_catalog.pg_user"] = _table(
        [("usename", S), ("usesysid", I), ("usecreatedb", B), ("usesuper", B)],
        [(OWNER, OWNER_OID, False, False)])
    out["pg_catalog.pg_database"] = _table(
        [("oid", I), ("datname", S), ("datdba", I), ("encoding", I), ("datlocprovider", S),
         ("datistemplate", B), ("datallowconn", B), ("datconnlimit", I), ("dattablespace", I),
         ("datcollate", S), ("datctype", S), ("daticulocale", S), ("daticurules", S),
         ("datcollversion", S), ("datacl", LS)],
        [(16383, database, OWNER_OID, 6, "c", False, True, -1, 1663, "C.UTF-8", "C.UTF-8",
          None, None, None, None)])
    out["pg_catalog.pg_tablespace"] = _table(
        [("oid", I), ("spcname", S), ("spcowner", I), ("spcacl", LS), ("spcoptions", LS)],
        [(1663, "pg_default", OWNER_OID, None, None)])
    out["pg_catalog.pg_collation"] = _table(
        [("oid", I), ("collname", S), ("collnamespace", I), ("collowner", I),
         ("collprovider", S), ("collisdeterministic", B), ("collencoding", I),
         ("collcollate", S), ("collctype", S)],
        [(100, "default", PG_CATALOG_OID, OWNER_OID, "d", True, -1, None, None),
         (950, "C", PG_CATALOG_OID, OWNER_OID, "c", True, -1, "C", "C")])
    out["pg_catalog.pg_proc"] = _table(
        [("oid", I), ("proname", S), ("pronamespace", I), ("proowner", I), ("prolang", I),
         ("prokind", S), ("proretset", B), ("provolatile", S), ("pronargs", I),
         ("prorettype", I), ("proargtypes", LI), ("proargnames", LS), ("prosrc", S),
         ("proacl", LS)],
        [(1000 + i, name, PG_CATALOG_OID, OWNER_OID, 12, "f", False, "s", 0, T.TEXT, [],
          None, name, None)
         for i, name in enumerate(["version", "current_schema", "current_database",
                                   "format_type", "pg_get_expr", "pg_table_is_visible"])])
    return out


def _elem(name: str) -> int:
    if not name.startswith("_"):
        return 0
    return next((oid for oid, n, *_ in TYPES if n == name[1:]), 0)


def catalog_tables(catalog, database: str) -> dict[str, pa.Table]:
    """Relations describing the FlowSQL catalog's current catalog (see the module doc)."""
    schemas = catalog.list_databases()
    current_catalog = catalog.current_catalog
    ns_rows = [(PG_CATALOG_OID, "pg_catalog", OWNER_OID, None),
               (INFO_SCHEMA_OID, "information_schema", OWNER_OID, None)]
    cls, att, desc, cons, idx, views, tables = [], [], [], [], [], [], []
    sch_rows, tab_rows, col_rows, view_rows, tc_rows, kcu_rows = [], [], [], [], [], []
    next_oid = FIRST_REL_OID
    for n, schema in enumerate(sorted(schemas)):
        ns_oid = FIRST_SCHEMA_OID + n
        ns_rows.append((ns_oid, schema, OWNER_OID, None))
        sch_rows.append((database, schema, OWNER))
        for name, kind in catalog.list_objects(current_catalog, schema):
            obj = catalog.find((current_catalog, schema, name))
            if obj is None:
                continue
            oid, next_oid = next_oid, next_oid + 2
            relkind = "v" if kind == "view" else "r"
            columns = _columns(obj)
            pk = getattr(obj, "primary_key", None)
            cls.append((oid, name, ns_oid, 0, 0, OWNER_OID, 2 if relkind == "r" else 0, 0, 0,
                        -1.0, 0, bool(pk), False, "p", relkind, len(columns), 0, False, False,
                        False, False, False, True, "d", False, None, None))
            comment = getattr(obj, "comment", None)
            if comment:
                desc.append((oid, 1259, 0, comment))
            table_type = "VIEW" if relkind == "v" else "BASE TABLE"
            tab_rows.append((database, schema, name, table_type, None, None, None, None,
                             None, "YES", "NO", None))
            (tables if relkind == "r" else views).append(
                (schema, name, OWNER, obj.query if relkind == "v" else None))
            if relkind == "v":
                view_rows.append((database, schema, name, getattr(obj, "query", None),
                                  "NONE", "NO", "NO", "NO", "NO", "NO"))
            for num, (cname, ftype, nullable, ccomment) in enumerate(columns, 1):
                toid, typmod = pg_column_type(ftype)
                size = next((t[2] for t in TYPES if t[0] == toid), -1)
                att.append((oid, cname, toid, size, num, 0, typmod, not nullable, False, "",
                            "", False, 0, True, 100 if toid in (T.TEXT, T.VARCHAR) else 0,
                            "x" if size < 0 else "p", "", -1, None, None, None))
                if ccomment:
                    desc.append((oid, 1259, num, ccomment))
                col_rows.append(_info_column(database, schema, name, cname, num, nullable,
                                             toid, typmod))
            if pk:
                pk_oid = oid + 1
                keys = [next(i for i, c in enumerate(columns, 1) if c[0] == k)
                        for k in pk.columns if any(c[0] == k for c in columns)]
                pk_name = pk.name or f"{name}_pkey"
                cls.append((pk_oid, pk_name, ns_oid, 0, 0, OWNER_OID, 403, 0, 0, -1.0, 0,
                            False, False, "p", "i", len(keys), 0, False, False, False, False,
                            False, True, "n", False, None, None))
                idx.append((pk_oid, oid, len(keys), len(keys), True, True, False, True,
                            False, True, keys, None, None, False, True, True, False, False,
                            [0] * len(keys), [0] * len(keys), [0] * len(keys)))
                cons.append((pk_oid + 100_000, pk_name, ns_oid, "p", False, False, True, oid,
                             0, pk_oid, 0, 0, "", "", "", True, 0, True, keys, None, None))
                tc_rows.append((database, schema, pk_name, database, schema, name,
                                "PRIMARY KEY", "NO", "NO", "YES"))
                for pos, k in enumerate(pk.columns, 1):
                    kcu_rows.append((database, schema, pk_name, database, schema, name, k,
                                     pos, None))
    out: dict[str, pa.Table] = {}
    out["pg_catalog.pg_namespace"] = _table(
        [("oid", I), ("nspname", S), ("nspowner", I), ("nspacl", LS)], ns_rows)
    out["pg_catalog.pg_class"] = _table(
        [("oid", I), ("relname", S), ("relnamespace", I), ("reltype", I), ("reloftype", I),
         ("relowner", I), ("relam", I), ("relfilenode", I), ("reltablespace", I),
         ("reltuples", F), ("reltoastrelid", I), ("relhasindex", B), ("relisshared", B),
         ("relpersistence", S), ("relkind", S), ("relnatts", I), ("relchecks", I),
         ("relhasrules", B), ("relhastriggers", B), ("relhassubclass", B),
         ("relrowsecurity", B), ("relforcerowsecurity", B), ("relispopulated", B),
         ("relreplident", S), ("relispartition", B), ("reloptions", LS),
         ("relpartbound", S)], cls)
    out["pg_catalog.pg_attribute"] = _table(
        [("attrelid", I), ("attname", S), ("atttypid", I), ("attlen", I), ("attnum", I),
         ("attndims", I), ("atttypmod", I), ("attnotnull", B), ("atthasdef", B),
         ("attidentity", S), ("attgenerated", S), ("attisdropped", B), ("attinhcount", I),
         ("attislocal", B), ("attcollation", I), ("attstorage", S), ("attcompression", S),
         ("attstattarget", I), ("attacl", LS), ("attoptions", LS), ("attfdwoptions", LS)],
        att)
    out["pg_catalog.pg_description"] = _table(
        [("objoid", I), ("classoid", I), ("objsubid", I), ("description", S)], desc)
    out["pg_catalog.pg_index"] = _table(
        [("indexrelid", I), ("indrelid", I), ("indnatts", I), ("indnkeyatts", I),
         ("indisunique", B), ("indisprimary", B), ("indisexclusion", B), ("indimmediate", B),
         ("indisclustered", B), ("indisvalid", B), ("indkey", LI), ("indexprs", S),
         ("indpred", S), ("indisreplident", B), ("indisready", B), ("indislive", B),
         ("indcheckxmin", B), ("indnullsnotdistinct", B), ("indcollation", LI),
         ("indclass", LI), ("indoption", LI)], idx)
    out["pg_catalog.pg_constraint"] = _table(
        [("oid", I), ("conname", S), ("connamespace", I), ("contype", S),
         ("condeferrable", B), ("condeferred", B), ("convalidated", B), ("conrelid", I),
         ("contypid", I), ("conindid", I), ("conparentid", I), ("confrelid", I),
         ("confupdtype", S), ("confdeltype", S), ("confmatchtype", S), ("conislocal", B),
         ("coninhcount", I), ("connoinherit", B), ("conkey", LI), ("confkey", LI),
         ("conbin", S)], cons)
    out["pg_catalog.pg_attrdef"] = _table(
        [("oid", I), ("adrelid", I), ("adnum", I), ("adbin", S)], [])
    out["pg_catalog.pg_tables"] = _table(
        [("schemaname", S), ("tablename", S), ("tableowner", S), ("tablespace", S),
         ("hasindexes", B), ("hasrules", B), ("hastriggers", B), ("rowsecurity", B)],
        [(s, n, o, None, False, False, False, False) for s, n, o, _ in tables])
    out["pg_catalog.pg_views"] = _table(
        [("schemaname", S), ("viewname", S), ("viewowner", S), ("definition", S)], views)
    out["information_schema.schemata"] = _table(
        [("catalog_name", S), ("schema_name", S), ("schema_owner", S)],
        [(database, "pg_catalog", OWNER), (database, "information_schema", OWNER)] + sch_rows)
    out["information_schema.tables"] = _table(
        [("table_catalog", S), ("table_schema", S), ("table_name", S), ("table_type", S),
         ("self_referencing_column_name", S), ("reference_generation", S),
         ("user_defined_type_catalog", S), ("user_defined_type_schema", S),
         ("user_defined_type_name", S), ("is_insertable_into", S), ("is_typed", S),
         ("commit_action", S)], tab_rows)
    out["information_schema.columns"] = _table(INFO_COLUMNS, col_rows)
    out["information_schema.views"] = _table(
        [("table_catalog", S), ("table_schema", S), ("table_name", S),
         ("view_definition", S), ("check_option", S), ("is_updatable", S),
         ("is_insertable_into", S), ("is_trigger_updatable", S),
         ("is_trigger_deletable", S), ("is_trigger_insertable_into", S)], view_rows)
    out["information_schema.table_constraints"] = _table(
        [("constraint_catalog", S), ("constraint_schema", S), ("constraint_name", S),
         ("table_catalog", S), ("table_schema", S), ("table_name", S),
         ("constraint_type", S), ("is_deferrable", S), ("initially_deferred", S),
         ("enforced", S)], tc_rows)
    out["information_schema.key_column_usage"] = _table(
        [("constraint_catalog", S), ("constraint_schema", S), ("constraint_name", S),
         ("table_catalog", S), ("table_schema", S), ("table_name", S), ("column_name", S),
         ("ordinal_position", I), ("position_in_unique_constraint", I)], kcu_rows)
    out["information_schema.referential_constraints"] = _empty(
        "constraint_catalog constraint_schema constraint_name unique_constraint_catalog "
        "unique_constraint_schema unique_constraint_name")
    out["information_schema.routines"] = _empty(
        "specific_catalog specific_schema specific_name routine_catalog routine_schema "
        "routine_name routine_type data_type")
    out["information_schema.sequences"] = _empty("sequence_catalog sequence_schema "
                                                 "sequence_name data_type")
    return out


INFO_COLUMNS = [
    ("table_catalog", S), ("table_schema", S), ("table_name", S), ("column_name", S),
    ("ordinal_position", I), ("column_default", S), ("is_nullable", S), ("data_type", S),
    ("character_maximum_length", I), ("character_octet_length", I), ("numeric_precision", I),
    ("numeric_precision_radix", I), ("numeric_scale", I), ("datetime_precision", I),
    ("udt_catalog", S), ("udt_schema", S), ("udt_name", S), ("is_identity", S),
    ("is_generated", S), ("is_updatable", S),
]


def _info_column(database, schema, table, column, num, nullable, toid, typmod) -> tuple:
    display = next(t[4] for t in TYPES if t[0] == toid)
    udt = next(t[1] for t in TYPES if t[0] == toid)
    char_len = typmod - 4 if toid in (T.VARCHAR, T.BPCHAR) and typmod > 4 else None
    prec = {T.INT2: 16, T.INT4: 32, T.INT8: 64, T.FLOAT4: 24, T.FLOAT8: 53}.get(toid)
    radix = 2 if prec else None
    scale = 0 if toid in (T.INT2, T.INT4, T.INT8) else None
    if toid == T.NUMERIC and typmod > 4:
        prec, scale, radix = (typmod - 4) >> 16, (typmod - 4) & 0xFFFF, 10
    dt_prec = typmod if toid in (T.TIMESTAMP, T.TIMESTAMPTZ) else (0 if toid == T.DATE else None)
    return (database, schema, table, column, num, None, "YES" if nullable else "NO", display,
            char_len, None, prec, radix, scale, dt_prec, database, "pg_catalog", udt, "NO",
            "NEVER", "NO")


def _columns(obj) -> list[tuple[str, str | None, bool, str | None]]:
    """(name, Flink type, nullable, comment) of a table's or view's columns."""
    out = []
    for c in getattr(obj, "columns", ()) or ():
        if hasattr(c, "name"):
            ftype = c.data_type
            nullable = not (ftype and ftype.upper().endswith("NOT NULL"))
            out.append((c.name, ftype, nullable, getattr(c, "comment", None)))
        else:
            out.append((str(c), None, True, None))
    if getattr(obj, "kind", None) == "view":  # names only: types are derived at planning
        from flowsql.session.ddl import _view_columns

        out += [(name, None, True, None) for name, _ in _view_columns(obj) or []]
    return out
