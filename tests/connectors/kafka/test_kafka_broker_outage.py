"""The exactly-once ``kafka`` sink while its broker is down (acceptance 3, third fault test).

A broker of this module's own (in a folder that survives a stop, so it restarts on the same
port with its topics and transaction state) takes the output of a paced datagen job in the
embedded engine, with 1 s checkpoints. Stopped for about 20 s mid-job and started again,
the output read with ``read_committed`` is exact. Stopped for longer than
``transaction.timeout.ms`` (set to 4 s here), the job fails loudly with an error naming the
timeout, and what was committed before holds no duplicate.
"""

from __future__ import annotations

import json
import time

import pytest

from connectors.kafka import broker as kafka_broker
from flowsql.session.streaming import cluster
from tests.connectors.kafka.conftest import unique
from tests.connectors.kafka.kafka_util import create_topic, read_topic
from tests.waiting import until

OUTAGE_S = 20.0


@pytest.fixture(scope="module")
def own_broker(tmp_path_factory):
    holder = {"broker": kafka_broker.start(dir=tmp_path_factory.mktemp("kafka"), timeout=90)}
    try:
        yield holder
    finally:
        holder["broker"].stop()


def _job(session, bootstrap: str, tmp_path, rows: int, rate: int, **options: str) -> tuple[str, str]:
    topic = unique("eos-out")
    create_topic(bootstrap, topic, 2)
    opts = {"connector": "kafka", "topic": topic, "properties.bootstrap.servers": bootstrap,
            "format": "json", "sink.delivery-guarantee": "exactly-once",
            "sink.transactional-id-prefix": unique("tx"), **options}
    with_ = ", ".join(f"'{k}' = '{v}'" for k, v in opts.items())
    for sql in [
        "CREATE TABLE src (id BIGINT, v BIGINT) WITH ('connector' = 'datagen', "
        f"'number-of-rows' = '{rows}', 'rows-per-second' = '{rate}', 'fields.id.kind' = "
        f"'sequence', 'fields.id.start' = '1', 'fields.id.end' = '{rows}')",
        f"CREATE TABLE out (id BIGINT, v BIGINT) WITH ({with_})",
        "SET 'execution.checkpointing.interval' = '1 s'",
        f"SET 'execution.checkpointing.dir' = '{tmp_path / 'chk'}'",
        "SET 'restart-strategy.type' = 'none'",
    ]:
        session.execute_one(sql)
    job_id = session.execute_one("INSERT INTO out SELECT id, v FROM src").job_id
    return job_id, topic


def _committed_ids(bootstrap: str, topic: str) -> list[int]:
    return [json.loads(m.value())["id"] for m in read_topic(bootstrap, topic)]


def _outage(holder, seconds: float) -> None:
    """Stop the broker, keep it down ``seconds`` in all, start it again on the same port."""
    down = time.monotonic()
    holder["broker"].stop()
    time.sleep(max(0.0, seconds - (time.monotonic() - down)))
    holder["broker"] = kafka_broker.restart(holder["broker"], timeout=90)


def test_broker_down_20_s_mid_job_output_is_exact(session, own_broker, tmp_path):
    rows = 3000  # 100 rows/s: the job runs about 30 s, the outage is in its middle
    bootstrap = own_broker["broker"].bootstrap
    job_id, topic = _job(session, bootstrap, tmp_path, rows, 100)
    engine = cluster(session)
    until("the first checkpoints", lambda: (engine.job(job_id).last_checkpoint or 0) >= 2,
          timeout=60)
    _outage(own_broker, OUTAGE_S)
    info = engine.wait(job_id, 120)
    assert info.state == "FINISHED", info
    ids = _committed_ids(bootstrap, topic)
    assert len(ids) == rows and len(set(ids)) == rows, (
        f"{len(ids)} records committed, {len(set(ids))} distinct, of {rows}")


def test_outage_longer_than_the_transaction_timeout_fails_loudly(session, own_broker, tmp_path):
    rows = 6000
    bootstrap = own_broker["broker"].bootstrap
    job_id, topic = _job(session, bootstrap, tmp_path, rows, 200,
                         **{"properties.transaction.timeout.ms": "4000"})
    engine = cluster(session)
    until("the first checkpoints", lambda: (engine.job(job_id).last_checkpoint or 0) >= 2,
          timeout=60)
    own_broker["broker"].stop()
    try:
        info = engine.wait(job_id, 60)
    finally:
        own_broker["broker"] = kafka_broker.restart(own_broker["broker"], timeout=90)
    assert info.state == "FAILED", info
    assert "not committed within 'transaction.timeout.ms' = 4000 ms" in (info.error or ""), info
    ids = _committed_ids(bootstrap, topic)  # the epochs committed before: each once
    assert len(ids) == len(set(ids)) and len(ids) < rows
