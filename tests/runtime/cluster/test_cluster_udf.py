"""Python UDFs on a cluster: the TaskManager processes import the functions' module from
'python.files' (the job's config) and give the embedded engine's result."""

from __future__ import annotations

from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[2] / "udf" / "udf_samples.py"
SETUP = [
    f"SET 'python.files' = '{SAMPLES}'",
    "CREATE TEMPORARY FUNCTION count_char AS 'udf_samples.count_char'",
    "CREATE TEMPORARY FUNCTION ssq AS 'udf_samples.SumSquares'",
    "CREATE TEMPORARY FUNCTION words AS 'udf_samples.words'",
    "CREATE TABLE t (k INT, v BIGINT, s STRING) WITH ('connector' = 'datagen', "
    "'number-of-rows' = '3000', 'seed' = '5', 'fields.k.min' = '1', 'fields.k.max' = '9', "
    "'fields.v.min' = '0', 'fields.v.max' = '50', 'fields.s.length' = '6')",
]
SQL = ("SELECT k, ssq(v) AS q, SUM(count_char(s, 'a')) AS a, COUNT(*) AS n "
       "FROM t, LATERAL TABLE(words(s)) AS w(word, len) GROUP BY k")


def test_udfs_run_in_the_taskmanagers(cluster, flowsql_home):
    remote = cluster.session(parallelism=2)
    for statement in SETUP:
        remote.execute_one(statement)
    got = remote.execute_one(SQL).table.sort_by("k").to_pylist()
    remote.execute_one("SET 'execution.target' = 'local'")
    remote.execute_one("SET 'parallelism.default' = '1'")
    assert got == remote.execute_one(SQL).table.sort_by("k").to_pylist()
    assert len(got) == 9 and sum(r["n"] for r in got) == 3000
