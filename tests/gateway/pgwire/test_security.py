"""Authentication (SCRAM-SHA-256, md5, tokens), TLS and refused file access on a real server."""

from __future__ import annotations

import shutil
import subprocess

import psycopg
import pytest

from tests.gateway.pgwire.conftest import start_server

USERS = "alice:s3cret pass\n"
TOKEN = "tok-0123456789"


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("openssl missing")
    d = tmp_path_factory.mktemp("certs")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-keyout", str(d / "key.pem"),
                    "-out", str(d / "cert.pem")], check=True, capture_output=True, timeout=60)
    return d


@pytest.fixture(scope="module")
def secured(tmp_path_factory, certs):
    """Users and tokens configured (SCRAM for users), TLS offered."""
    d = tmp_path_factory.mktemp("secured")
    (d / "users").write_text(USERS)
    (d / "tokens").write_text(TOKEN + "\n")
    server = start_server(d / "home", "--users-file", str(d / "users"), "--tokens-file",
                          str(d / "tokens"), "--ssl-certfile", str(certs / "cert.pem"),
                          "--ssl-keyfile", str(certs / "key.pem"))
    yield server
    assert "Traceback" not in server.stop()


def connect(server, user, password, **kw):
    return psycopg.connect(server.dsn(user=user, password=f"'{password}'", **kw),
                           autocommit=True, connect_timeout=10)


def test_scram_login_and_wrong_password(secured):
    with connect(secured, "alice", "s3cret pass") as conn:
        conn.execute("CREATE TABLE t1 (a INT) WITH ('connector' = 'datagen', "
                     "'number-of-rows' = '1')")
    for user, password in [("alice", "wrong"), ("mallory", "s3cret pass")]:
        with pytest.raises(psycopg.OperationalError) as info:
            connect(secured, user, password)
        assert "28P01" in str(info.value) or "password authentication failed" in str(info.value)
    with connect(secured, "alice", "s3cret pass") as conn:  # nothing changed meanwhile
        assert conn.execute("SHOW TABLES").fetchall() == [("t1",)]


def test_token_login(secured):
    with connect(secured, "anyone", TOKEN) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_tls(secured):
    with connect(secured, "alice", "s3cret pass", sslmode="require") as conn:
        assert conn.pgconn.ssl_in_use
        assert conn.execute("SELECT 2").fetchone() == (2,)


def test_md5(tmp_path):
    (tmp_path / "users").write_text(USERS)
    server = start_server(tmp_path / "home", "--users-file", str(tmp_path / "users"),
                          "--auth-method", "md5")
    try:
        with connect(server, "alice", "s3cret pass") as conn:
            assert conn.execute("SELECT 3").fetchone() == (3,)
        with pytest.raises(psycopg.OperationalError):
            connect(server, "alice", "nope")
    finally:
        assert "Traceback" not in server.stop()


@pytest.mark.parametrize("statement, code", [
    ("SELECT * FROM read_csv('/etc/passwd')", "0A000"),
    ("SELECT * FROM read_csv('/etc/passwd') WHERE current_user = 'u'", "42501"),
    ("SELECT pg_catalog.version() FROM read_text('/etc/passwd')", "42501"),
    ("ATTACH '/tmp/x.db' AS x", "42501"),
    ("COPY orders TO '/tmp/pgwire-copy.csv'", "42501"),
    ("COPY (SELECT 1) TO STDOUT", "42501"),
    ("INSTALL httpfs", "42501"),
    ("LOAD httpfs", "42501"),
    ("SELECT 1; PRAGMA enable_external_access", "42501"),
])
def test_file_access_refused(pg, statement, code):
    with psycopg.connect(pg.dsn(), autocommit=True) as conn:
        with pytest.raises(psycopg.Error) as info:
            conn.execute(statement)
        assert info.value.sqlstate == code, (statement, info.value)
        assert "root:" not in str(info.value)


def test_asyncpg_scram_over_tls(secured):
    import asyncio
    import ssl

    import asyncpg

    async def main():
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # the test's self-signed certificate
        conn = await asyncpg.connect(host="127.0.0.1", port=secured.port, user="alice",
                                     password="s3cret pass", database="flowsql", ssl=ctx)
        try:
            assert await conn.fetchval("SELECT 1") == 1
        finally:
            await conn.close()
        with pytest.raises(asyncpg.InvalidPasswordError):
            await asyncpg.connect(host="127.0.0.1", port=secured.port, user="alice",
                                  password="bad", database="flowsql", ssl=False)
    asyncio.run(main())
