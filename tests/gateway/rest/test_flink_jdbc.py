"""Flink's own JDBC driver (flink-sql-jdbc-driver-bundle 2.3.0, from Maven Central via
``make jars``) against a real gateway process: SHOW TABLES, a bounded SELECT and a SELECT
streaming a changelog (a few rows read, then closed), every common type in
batch mode, from a small Java program compiled here
with the installed JDK."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
JARS_DIR = REPO / ".cache" / "jars"
JARS = ("flink-sql-jdbc-driver-bundle-2.3.0.jar", "slf4j-api-1.7.36.jar", "slf4j-nop-1.7.36.jar")
SOURCE = Path(__file__).with_name("java") / "FlinkJdbcCheck.java"


@pytest.fixture(scope="module")
def classpath(tmp_path_factory) -> str:
    missing = [j for j in JARS if not (JARS_DIR / j).is_file()]
    assert not missing, (f"Flink's JDBC driver jars are missing from {JARS_DIR}: {missing}; "
                         "run `make jars` (Maven Central) first")
    javac = shutil.which("javac")
    assert javac, "javac (a JDK) is needed to compile the JDBC check"
    out = tmp_path_factory.mktemp("jdbc-classes")
    jars = [str(JARS_DIR / j) for j in JARS]
    subprocess.run([javac, "-cp", jars[0], "-d", str(out), str(SOURCE)], check=True, timeout=120)
    return ":".join([*jars, str(out)])


def test_flink_jdbc_driver(gateway, client, classpath):
    sh = client.post("/v2/sessions", json={}).json()["sessionHandle"]
    for statement in (
        "CREATE TABLE jdbc_bounded (id BIGINT, name STRING) WITH ('connector' = 'datagen', "
        "'number-of-rows' = '5', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', "
        "'fields.id.end' = '5', 'fields.name.length' = '4')",
        "CREATE TABLE jdbc_live (k INT, v BIGINT) WITH ('connector' = 'datagen', "
        "'rows-per-second' = '100', 'fields.k.min' = '1', 'fields.k.max' = '3')",
    ):
        r = client.post(f"/v2/sessions/{sh}/configure-session", json={"statement": statement})
        assert r.status_code == 200, r.text
    client.delete(f"/v2/sessions/{sh}")
    run = subprocess.run(
        ["java", "-Dfile.encoding=UTF-8", "-Dstdout.encoding=UTF-8", "-cp", classpath,
         "FlinkJdbcCheck", f"jdbc:flink://127.0.0.1:{gateway.port}",
         "jdbc_bounded", "jdbc_live"],
        capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert {"TABLE jdbc_bounded", "TABLE jdbc_live"} <= set(lines)
    assert "COLUMNS id BIGINT name STRING" in lines
    rows = [ln.split() for ln in lines if ln.startswith("ROW ")]
    assert [int(r[1]) for r in rows] == [1, 2, 3, 4, 5] and all(len(r[2]) == 4 for r in rows)
    live = [ln.split() for ln in lines if ln.startswith("LIVE ")]
    assert len(live) == 5 and all(1 <= int(k) <= 3 for _, k, _ in live)
    (typed,) = [ln for ln in lines if ln.startswith("TYPED")]
    assert typed.split(" | ")[1:] == [
        "BOOLEAN=true", "TINYINT=7", "SMALLINT=300", "INT=42", "BIGINT=9000000000", "FLOAT=1.5",
        "DOUBLE=2.25", "DECIMAL(9, 6)=123.456789", "STRING=h\u00e9llo", "BYTES=x'6162'",
        "DATE=1990-10-14", "TIME(6)=12:12:43", "TIMESTAMP(3)=1990-10-14 12:12:43.123",
        "STRING=null"]
    assert lines[-1] == "DONE"
