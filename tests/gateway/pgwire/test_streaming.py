"""Unbounded sources over the Postgres wire: SQL cursors page a live changelog, a plain
SELECT streams until the client cancels it, a disconnect cancels the job."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

LIVE = ("CREATE TABLE IF NOT EXISTS live (k INT, v BIGINT) WITH ('connector' = 'datagen', "
        "'rows-per-second' = '200', 'fields.k.min' = '1', 'fields.k.max' = '3')")


def test_cursor_fetches_a_live_changelog(pg):
    with psycopg.connect(pg.dsn(), autocommit=True) as conn:
        conn.execute(LIVE)
        conn.execute("DECLARE c CURSOR FOR SELECT k, count(*) AS n FROM live GROUP BY k")
        seen = []
        deadline = time.monotonic() + 30
        while len(seen) < 8 and time.monotonic() < deadline:
            cur = conn.execute("FETCH 5 FROM c")
            assert [d.name for d in cur.description] == ["k", "n", "row_kind"]
            seen += cur.fetchall()
        assert len(seen) >= 8
        kinds = {row[2] for row in seen}
        assert "+I" in kinds and kinds <= {"+I", "-U", "+U", "-D"}
        conn.execute("CLOSE c")
        with pytest.raises(psycopg.Error):
            conn.execute("FETCH 1 FROM c")


def test_plain_select_streams_until_cancelled(pg):
    with psycopg.connect(pg.dsn(), autocommit=True) as conn:
        conn.execute(LIVE)
        timer = threading.Timer(1.5, conn.cancel_safe)
        timer.start()
        started = time.monotonic()
        with pytest.raises(psycopg.errors.QueryCanceled):
            conn.execute("SELECT k, v FROM live")
        timer.join()
        assert time.monotonic() - started < 20
        assert conn.execute("SELECT 1").fetchone() == (1,)  # the session goes on


def test_extended_protocol_row_limit_on_a_live_query(pg):
    with psycopg.connect(pg.dsn()) as conn:
        conn.execute(LIVE)
        with conn.cursor(name="live_rows") as cur:
            cur.execute("SELECT k, v FROM live")
            rows = cur.fetchmany(7)
            assert len(rows) == 7 and all(1 <= r[0] <= 3 for r in rows)
        conn.rollback()


def test_disconnect_mid_stream_cancels_and_server_goes_on(pg):
    import socket
    import struct

    with psycopg.connect(pg.dsn(), autocommit=True) as conn:
        conn.execute(LIVE)
    # a raw client: startup, a simple query over the live source, then hang up mid-stream
    sock = socket.create_connection(("127.0.0.1", pg.port), timeout=10)
    params = b"user\0u\0database\0flowsql\0\0"
    sock.sendall(struct.pack("!ii", 8 + len(params), 196608) + params)
    buf = b""
    while b"Z\x00\x00\x00\x05I" not in buf:
        buf += sock.recv(65536)
    query = b"SELECT k, v FROM live\0"
    sock.sendall(b"Q" + struct.pack("!i", 4 + len(query)) + query)
    data = b""
    while b"D\x00" not in data:  # a DataRow ('D', then a length < 2**24) arrived
        chunk = sock.recv(65536)
        assert chunk and b"E\x00" not in chunk[:2], chunk
        data += chunk
    sock.close()
    with psycopg.connect(pg.dsn(), autocommit=True) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_prepared_fetch_takes_no_rows_when_described(pg):
    with psycopg.connect(pg.dsn(), autocommit=True) as conn:
        conn.execute("DECLARE c2 CURSOR FOR SELECT id FROM orders WHERE id <= 4")
        got = []
        for _ in range(6):
            got += [r[0] for r in conn.execute("FETCH 1 FROM c2", prepare=True).fetchall()]
        assert sorted(got) == [1, 2, 3, 4]
        conn.execute("CLOSE c2")
