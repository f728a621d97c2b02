"""py-flink-sql-gateway (a PEP 249 driver for Flink's SQL Gateway, pinned in the dev extra)
drives ``/v1/`` of a real gateway process: DDL, a bounded query, SHOW TABLES, an error."""

from __future__ import annotations

import flink_gateway
import pytest


def test_pep249_driver_over_v1(gateway):
    conn = flink_gateway.connect(gateway.url, api_version="v1", query_timeout=60,
                                 properties={"execution.runtime-mode": "batch"})
    try:
        cur = conn.cursor()
        cur.execute("CREATE TABLE pep_bounded (id BIGINT, name STRING) WITH ("
                    "'connector' = 'datagen', 'number-of-rows' = '1500', "
                    "'fields.id.kind' = 'sequence', 'fields.id.start' = '1', "
                    "'fields.id.end' = '1500')")
        cur.execute("SELECT id, name FROM pep_bounded")
        assert [d[0] for d in cur.description] == ["id", "name"]
        rows = cur.fetchall()
        assert sorted(r[0] for r in rows) == list(range(1, 1501))
        cur.execute("SHOW TABLES")
        assert ("pep_bounded",) in cur.fetchall()
        with pytest.raises(flink_gateway.Error) as err:
            cur.execute("SELECT * FROM no_such_table")
            cur.fetchall()
        assert "no_such_table" in str(err.value)
    finally:
        conn.close()
