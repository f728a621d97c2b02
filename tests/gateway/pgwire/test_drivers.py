"""psycopg 3 (simple and prepared), asyncpg and the SQLAlchemy inspector on a real server."""

from __future__ import annotations

import asyncio
import datetime as dt
import decimal

import asyncpg
import psycopg
import pytest
from sqlalchemy import create_engine, inspect


def test_psycopg_simple_mode_with_parameters(pg):
    with psycopg.connect(pg.dsn(), prepare_threshold=None, autocommit=True) as conn:
        rows = conn.execute("SELECT id, customer, amount, qty, ok, ts FROM orders "
                            "WHERE id = %s", [3]).fetchall()
        assert len(rows) == 1
        id_, customer, amount, qty, ok, ts = rows[0]
        assert id_ == 3 and isinstance(customer, str) and isinstance(amount, decimal.Decimal)
        assert isinstance(qty, int) and isinstance(ok, bool) and isinstance(ts, dt.datetime)
        # a text parameter compared with an INT column is typed by that column
        n = conn.execute("SELECT count(*) AS n FROM orders WHERE qty >= %s", ["1"]).fetchone()
        assert n == (20,)
        quoted = conn.execute("SELECT id FROM orders WHERE customer = %s",
                              ["x' OR '1' = '1"]).fetchall()
        assert quoted == []  # the value stays a literal: no injection


def test_psycopg_prepared_mode(pg):
    with psycopg.connect(pg.dsn(), autocommit=True) as conn:
        for i in (1, 2, 5):
            cur = conn.execute("SELECT id, qty FROM orders WHERE id = %s", [i], prepare=True)
            assert [r[0] for r in cur.fetchall()] == [i]
        cur = conn.execute("SELECT id FROM orders WHERE id <= %s AND customer <> %s",
                           [4, "zz"], prepare=True)
        assert sorted(r[0] for r in cur.fetchall()) == [1, 2, 3, 4]
        cur = conn.cursor(binary=True)
        cur.execute("SELECT id, amount, ok, ts FROM orders WHERE id = %s", [7], prepare=True)
        row = cur.fetchone()
        assert row[0] == 7 and isinstance(row[1], decimal.Decimal)


def test_psycopg_transactions_and_settings(pg):
    with psycopg.connect(pg.dsn()) as conn:  # not autocommit: psycopg sends BEGIN itself
        assert conn.execute("SELECT count(*) AS n FROM orders").fetchone() == (20,)
        conn.execute("SET application_name = 'flowsql-tests'")
        show = conn.execute("SHOW application_name").fetchone()
        assert show == ("flowsql-tests",)
        assert conn.execute("SHOW transaction isolation level").fetchone() == ("read committed",)
        conn.commit()
        assert conn.execute("select current_schema()").fetchone() == ("default_database",)
        assert "FlowSQL" in conn.execute("select version()").fetchone()[0]
        assert conn.info.server_version >= 160000


def test_psycopg_errors_are_sqlstates(pg):
    with psycopg.connect(pg.dsn(), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute("SELECT * FROM missing_table")
        with pytest.raises(psycopg.errors.UndefinedColumn):
            conn.execute("SELECT nope FROM orders")
        with pytest.raises(psycopg.errors.SyntaxError) as info:
            conn.execute("SELEC 1 FROM orders")
        assert info.value.diag.statement_position == "1"
        # the connection is usable after errors, in both protocols
        assert conn.execute("SELECT count(*) AS n FROM orders WHERE id > %s", [10],
                            prepare=True).fetchone() == (10,)


def test_row_limit_suspends_the_portal(pg):
    with psycopg.connect(pg.dsn()) as conn:
        with conn.cursor(name="c1") as cur:  # a server-side cursor: DECLARE/FETCH not needed
            cur.itersize = 3
            cur.execute("SELECT id FROM orders")
            ids = [r[0] for r in cur]
        assert sorted(ids) == list(range(1, 21))


def test_asyncpg(pg):
    async def main():
        conn = await asyncpg.connect(host="127.0.0.1", port=pg.port, user="u",
                                     database="flowsql", ssl=False)
        try:
            rows = await conn.fetch("SELECT id, customer, amount, ok, ts FROM orders "
                                    "WHERE id <= 3")
            assert sorted(r["id"] for r in rows) == [1, 2, 3]
            assert isinstance(rows[0]["amount"], decimal.Decimal)
            assert await conn.fetchval("SELECT count(*) AS n FROM orders WHERE id > $1", 15) == 5
            stmt = await conn.prepare("SELECT qty FROM orders WHERE id = $1")
            assert isinstance(await stmt.fetchval(4), int)
        finally:
            await conn.close()
    asyncio.run(main())


def test_sqlalchemy_inspector(pg):
    engine = create_engine(f"postgresql+psycopg://u@127.0.0.1:{pg.port}/flowsql"
                           "?sslmode=disable")
    try:
        insp = inspect(engine)
        assert "default_database" in insp.get_schema_names()
        assert insp.get_table_names() == ["orders"]
        assert insp.get_view_names() == ["big_orders"]
        cols = {c["name"]: c for c in insp.get_columns("orders")}
        assert list(cols) == ["id", "customer", "amount", "qty", "ok", "ts"]
        assert str(cols["amount"]["type"]) == "NUMERIC(10, 2)"
        assert cols["id"]["nullable"] is False
        assert insp.get_pk_constraint("orders")["constrained_columns"] == ["id"]
        assert insp.get_table_comment("orders")["text"] == "orders table"
    finally:
        engine.dispose()


def test_several_statements_in_one_simple_query(pg):
    with psycopg.connect(pg.dsn(), autocommit=True) as conn:
        cur = conn.cursor()
        cur.execute(b"SELECT 1 AS a; SELECT id FROM orders WHERE id <= 2; SET datestyle TO ISO;")
        assert cur.fetchall() == [(1,)]
        assert cur.nextset() and sorted(cur.fetchall()) == [(1,), (2,)]
        assert cur.nextset() and cur.statusmessage == "SET"
        cur.execute(b"")  # an empty query string is answered, not an error
        with pytest.raises(psycopg.errors.UndefinedTable):  # the first error ends the string
            cur.execute(b"SELECT 1 AS a; SELECT * FROM nowhere; SELECT 3 AS c")


def test_arrays_in_both_formats(pg):
    async def main():
        conn = await asyncpg.connect(host="127.0.0.1", port=pg.port, user="u",
                                     database="flowsql", ssl=False)
        try:  # asyncpg asks for binary results
            keys = await conn.fetchval("SELECT indkey FROM pg_catalog.pg_index")
            assert list(keys) == [1]
            names = await conn.fetchval("SELECT reloptions FROM pg_class WHERE relkind = 'r'")
            assert names is None
        finally:
            await conn.close()
    asyncio.run(main())
    with psycopg.connect(pg.dsn(), autocommit=True) as conn:
        assert conn.execute("SELECT indkey FROM pg_index").fetchone() == ([1],)
