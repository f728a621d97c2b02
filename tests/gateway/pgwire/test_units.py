"""Pure pieces of the Postgres face: parameters, value codecs, routing, rewriting."""

from __future__ import annotations

import datetime as dt
import decimal

import pyarrow as pa
import pytest

from flowsql.errors import NotSupportedError
from flowsql.gateway.pgwire import params, pgtypes, router
from flowsql.gateway.pgwire.errors import Refused, error_fields
from flowsql.gateway.pgwire.rewrite import rewrite

CTX = {"schema": "default_database", "database": "flowsql", "user": "u", "version": "v16",
       "settings": {"search_path": '"$user", default_database'}}


@pytest.mark.parametrize("sql, values, expected", [
    ("SELECT $1, $2", [1, "a'b"], "SELECT 1, 'a''b'"),
    ("SELECT '$1', \"$1\", $1 -- $1", [True], "SELECT '$1', \"$1\", TRUE -- $1"),
    ("SELECT $1 /* $2 */", [None], "SELECT NULL /* $2 */"),
    ("SELECT $1", [decimal.Decimal("1.50")], "SELECT CAST('1.50' AS DECIMAL(3, 2))"),
    ("SELECT $1", [1.5], "SELECT CAST('1.5' AS DOUBLE)"),
    ("SELECT $1", [dt.date(2020, 1, 2)], "SELECT DATE '2020-01-02'"),
    ("SELECT $1", [dt.datetime(2020, 1, 2, 3, 4, 5)], "SELECT TIMESTAMP '2020-01-02 03:04:05'"),
    ("SELECT $1", ["x\\' OR 1=1 --"], "SELECT 'x\\'' OR 1=1 --'"),
])
def test_substitute(sql, values, expected):
    assert params.substitute(sql, values) == expected


def test_substitute_casts_open_types_and_refuses_bytea():
    assert params.substitute("WHERE k = $1", ["5"], {1: "BIGINT"}.get) == \
        "WHERE k = CAST('5' AS BIGINT)"
    assert params.compared_columns("WHERE t.k = $1 AND $2 <> `v`") == {1: "k", 2: "v"}
    with pytest.raises(NotSupportedError):
        params.substitute("SELECT $1", [b"\x00"])


@pytest.mark.parametrize("value", ["0", "1.25", "-12345.678", "100000", "0.0001", "1E+5",
                                   "99999999.99"])
def test_numeric_binary_round_trip(value):
    d = decimal.Decimal(value)
    enc, fmt = pgtypes.encoder(pgtypes.NUMERIC, 1)
    assert fmt == 1
    assert pgtypes.decode_param(pgtypes.NUMERIC, 1, enc(d)) == d


def test_types_both_ways():
    assert pgtypes.pg_type(pa.int64()) == (pgtypes.INT8, 8)
    assert pgtypes.pg_type(pa.timestamp("ms", tz="UTC"))[0] == pgtypes.TIMESTAMPTZ
    assert pgtypes.pg_type(pa.list_(pa.string()))[0] == pgtypes.TEXT_ARRAY
    ts = dt.datetime(2021, 5, 6, 7, 8, 9, 123000)
    for oid, value in [(pgtypes.INT8, -5), (pgtypes.FLOAT8, 2.5), (pgtypes.BOOL, True),
                       (pgtypes.DATE, dt.date(1999, 12, 31)), (pgtypes.TIMESTAMP, ts)]:
        enc, _ = pgtypes.encoder(oid, 1)
        assert pgtypes.decode_param(oid, 1, enc(value)) == value
        text, _ = pgtypes.encoder(oid, 0)
        assert pgtypes.decode_param(oid, 0, text(value)) == value
    assert pgtypes.encoder(pgtypes.BYTEA, 0)[0](b"\x01\xff") == b"\\x01ff"
    assert pgtypes.encoder(pgtypes.FLOAT8, 0)[0](float("inf")) == b"Infinity"


@pytest.mark.parametrize("sql, kind", [
    ("BEGIN", "local"), ("set extra_float_digits = 3", "local"),
    ("SET 'execution.runtime-mode' = 'batch'", "flowsql"), ("SHOW TABLES", "flowsql"),
    ("SET execution.runtime-mode = batch", "flowsql"), ("SET SESSION TIME ZONE 'UTC'", "local"),
    ("SHOW transaction isolation level", "local"), ("SHOW search_path", "local"),
    ("select version()", "mirror"), ("SELECT 1", "mirror"),
    ("SELECT * FROM pg_catalog.pg_class", "mirror"), ("SELECT * FROM orders", "flowsql"),
    ("SELECT 'pg_class' AS x FROM orders", "flowsql"), ("COPY t TO STDOUT", "refuse"),
    ("  -- comment\n INSTALL httpfs", "refuse"), ("DECLARE c CURSOR FOR SELECT 1", "cursor"),
    ("FETCH 10 FROM c", "cursor"), ("", "empty"), ("-- only a comment", "empty"),
])
def test_route(sql, kind):
    assert router.route(sql).kind == kind


def test_split_and_parse_helpers():
    assert router.split("SELECT ';'; SELECT 2;; -- x") == ["SELECT ';'", " SELECT 2"]
    assert router.parse_set("SET application_name TO 'a''b'") == ("application_name", "a'b")
    assert router.parse_set("SET TIME ZONE 'UTC'") == ("TimeZone", "UTC")
    assert router.parse_declare('DECLARE "c1" NO SCROLL CURSOR WITHOUT HOLD FOR SELECT 1') == \
        ("c1", "SELECT 1")
    assert router.parse_fetch('FETCH FORWARD 5 FROM "c1"') == ("c1", 5)
    assert router.parse_fetch("FETCH ALL IN c1") == ("c1", None)


def test_rewrite():
    pg = {"pg_class", "pg_namespace"}
    sql = rewrite("SELECT c.relname FROM pg_catalog.pg_class c WHERE c.relname "
                  "OPERATOR(pg_catalog.~) '^(t)$' COLLATE pg_catalog.default "
                  "AND c.oid = 't'::regclass AND n.nspname !~ '^pg_'", pg, CTX)
    assert "fpg_catalog.pg_class" in sql and "REGEXP_MATCHES" in sql.upper()
    assert "COLLATE" not in sql and "FPG_REGCLASS_OID('t')" in sql
    assert "NOT REGEXP_MATCHES" in sql.upper()
    assert rewrite("select version(), current_schema()", pg, CTX) == \
        "SELECT 'v16' AS \"version\", 'default_database' AS \"current_schema\""
    sql = rewrite("SELECT col_description(format('%I.%I', s, t)::regclass::oid, 1)", pg, CTX)
    assert "FPG_REGCLASS_OID(CAST(PRINTF('%s.%s', s, t) AS TEXT))" in sql
    with pytest.raises(Refused):
        rewrite("DROP TABLE pg_class", pg, CTX)


def test_error_fields():
    from flowsql.errors import CatalogError, QueryCancelled, SqlParseError
    f = error_fields(SqlParseError("bad", line=2, col=3, hint="h"), "SELECT 1\nFROM x")
    assert f["C"] == "42601" and f["P"] == "12" and f["H"] == "h"
    assert error_fields(CatalogError("Table 'x' not found"))["C"] == "42P01"
    assert error_fields(QueryCancelled("stop"))["C"] == "57014"
    internal = error_fields(KeyError("secret"))
    assert internal["C"] == "XX000" and "secret" not in internal["M"]
