"""A real Postgres wire server process per test module (python -m flowsql.gateway.pgwire)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

# Every table the tests read: bounded datagen sources, so SELECTs return rows and end.
SETUP = [
    "CREATE TABLE orders (id BIGINT, customer STRING, amount DECIMAL(10, 2), qty INT, "
    "ok BOOLEAN, ts TIMESTAMP(3), PRIMARY KEY (id) NOT ENFORCED) "
    "COMMENT 'orders table' WITH ('connector' = 'datagen', 'number-of-rows' = '20', "
    "'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '20', "
    "'fields.customer.length' = '5', 'fields.qty.min' = '1', 'fields.qty.max' = '9')",
    "CREATE VIEW big_orders AS SELECT id, qty FROM orders WHERE qty > 5",
]


class PgProcess:
    def __init__(self, home: Path, *args: str) -> None:
        cmd = [sys.executable, "-m", "flowsql.gateway.pgwire", "--host", "127.0.0.1",
               "--port", "0", "--home", str(home), *args]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, cwd=ROOT, env=env)
        line = self.proc.stdout.readline()
        if not line.strip().isdigit():
            self.proc.kill()
            raise RuntimeError(f"server did not start: {line!r} {self.proc.stderr.read()}")
        self.port = int(line)
        self.home = home

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGTERM)
        try:
            _, err = self.proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            _, err = self.proc.communicate()
        return err

    def dsn(self, user: str = "u", **extra: str) -> str:
        parts = {"host": "127.0.0.1", "port": str(self.port), "user": user,
                 "dbname": "flowsql", "sslmode": "disable", **extra}
        return " ".join(f"{k}={v}" for k, v in parts.items())


def start_server(home: Path, *args: str) -> PgProcess:
    return PgProcess(home, *args)


@pytest.fixture(scope="module")
def pg(tmp_path_factory):
    """An open server (no auth, the loopback default) with the SETUP tables."""
    import psycopg

    server = PgProcess(tmp_path_factory.mktemp("pghome"))
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            for stmt in SETUP:
                conn.execute(stmt)
        yield server
    finally:
        err = server.stop()
        assert "Traceback" not in err, err
