"""psql (Debian's postgresql-client) against a real server: \\dt, \\d table and a SELECT."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

pytestmark = pytest.mark.skipif(shutil.which("psql") is None,
                                reason="psql not installed (make test installs it)")


def psql(pg, *commands: str, check: bool = True) -> subprocess.CompletedProcess:
    args = ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(pg.port),
            "-U", "u", "-d", "flowsql"]
    for c in commands:
        args += ["-c", c]
    env = {**os.environ, "PGSSLMODE": "disable", "PGCONNECT_TIMEOUT": "10"}
    out = subprocess.run(args, capture_output=True, text=True, env=env, timeout=60)
    if check:
        assert out.returncode == 0, out.stderr
    return out


def test_list_tables(pg):
    out = psql(pg, r"\dt")
    assert "orders" in out.stdout
    assert "default_database" in out.stdout
    assert "big_orders" not in out.stdout  # \dt lists tables only
    assert "big_orders" in psql(pg, r"\dv").stdout


def test_describe_table(pg):
    out = psql(pg, r"\d orders").stdout
    assert 'Table "default_database.orders"' in out
    for text in ("id", "bigint", "not null", "customer", "text", "numeric(10,2)", "integer",
                 "boolean", "timestamp(3) without time zone", "orders_pkey", "PRIMARY KEY"):
        assert text in out, (text, out)


def test_select(pg):
    out = psql(pg, "SELECT id, qty FROM orders WHERE id <= 3 ORDER BY id")
    assert "(3 rows)" in out.stdout
    assert out.stdout.split("\n")[2].split("|")[0].strip() == "1"


def test_error_has_position_and_hint(pg):
    out = psql(pg, "SELECT id FROM ordrs", check=False)
    assert out.returncode != 0
    assert "not found" in out.stderr and "HINT" in out.stderr and "Traceback" not in out.stderr
    out = psql(pg, "SELECT id,\n  FROM orders", check=False)
    assert "SQL parse error" in out.stderr and "LINE 1: SELECT id," in out.stderr


@pytest.mark.parametrize("command", [r"\l", r"\dn", r"\dv", r"\d", r"\d+ orders", r"\dt+",
                                     r"\di", r"\du", r"\df", r"\dT", r"\dx", r"\d big_orders"])
def test_meta_commands_answer(pg, command):
    out = psql(pg, command)
    assert "ERROR" not in out.stderr
