"""pgjdbc (org.postgresql:postgresql from Maven Central, `make jars`) from a Java program
compiled here with the installed javac: DatabaseMetaData and a prepared SELECT."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.gateway.pgwire.conftest import ROOT

JAR = ROOT / ".cache" / "jars" / "postgresql-42.7.14.jar"
SOURCE = Path(__file__).parent / "java" / "PgJdbcCheck.java"


def test_pgjdbc_metadata_and_prepared_select(pg, tmp_path):
    assert JAR.is_file(), f"pgjdbc is missing: {JAR} (run `make jars`)"
    assert shutil.which("javac"), "javac is missing (OpenJDK 17 is expected here)"
    subprocess.run(["javac", "-d", str(tmp_path), "-cp", str(JAR), str(SOURCE)], check=True,
                   timeout=120)
    url = f"jdbc:postgresql://127.0.0.1:{pg.port}/flowsql"
    out = subprocess.run(["java", "-cp", f"{tmp_path}:{JAR}", "PgJdbcCheck", url, "u"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert any(ln.startswith("product=PostgreSQL 16.0") for ln in lines), lines
    assert "table=default_database.orders:TABLE" in lines
    assert "table=default_database.big_orders:VIEW" in lines
    columns = [ln.split("=", 1)[1] for ln in lines if ln.startswith("column=")]
    assert columns == ["id:int8:-5", "customer:text:12", "amount:numeric:2", "qty:int4:4",
                       "ok:bool:-7", "ts:timestamp:93"]
    assert "pk=id" in lines
    rows = [ln for ln in lines if ln.startswith("row=")]
    assert [r.split(":")[0] for r in rows] == [f"row={k}" for k in (2, 3, 4, 5, 6, 7)]
    assert all(r.endswith(":5:2:true:true") or r.endswith(":5:2:false:true") for r in rows)
    assert "count=3" in lines
