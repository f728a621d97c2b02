"""Kafka → Kafka exactly-once on a real cluster under faults (acceptance 3).

A JobManager and three TaskManager processes (1 slot each, heartbeat timeout 3 s) run the job
at parallelism 2 with 1 s checkpoints: a 2-partition input topic, bounded by specific
offsets (N/2 per partition), copied into a 2-partition output topic with
``'sink.delivery-guarantee' = 'exactly-once'``. A producer thread feeds the input while the
faults happen and holds the last records back until they are over, so the job cannot end
early. Pass: a ``read_committed`` reader sees count = distinct = N, and every
(transactional id, checkpoint) commit marker exists once.

- ``kill -9`` of a busy TaskManager three times, each after a checkpoint the (restarted)
  job completed; a replacement TaskManager is started after each kill (as in
  tests/runtime/cluster/test_recovery.py).
- A crash in the commit window: the ``checkpoint-commit:3`` failpoint ends one TaskManager
  after checkpoint 3 is durable and before its sink committed the epoch's transaction;
  recovery re-sends that epoch once.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections import Counter
from functools import partial

from confluent_kafka import Producer

from tests.connectors.kafka.conftest import unique
from tests.connectors.kafka.kafka_util import read_topic
from tests.runtime.cluster.conftest import make_cluster  # noqa: F401 - the fixture
from tests.runtime.cluster.test_recovery import _busy_taskmanager, _checkpoint_after, _restarted
from tests.waiting import until

HOLD_BACK = 1000  # input records produced only after the faults


class Feeder:
    """Produces ids 1..n into partitions 0/1 (odd/even) at about ``rate`` per second; the
    last :data:`HOLD_BACK` wait for :meth:`release`."""

    def __init__(self, bootstrap: str, topic: str, n: int, rate: int) -> None:
        self.bootstrap, self.topic, self.n, self.rate = bootstrap, topic, n, rate
        self.released = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Feeder:
        self.thread.start()
        return self

    def release(self) -> None:
        self.released.set()

    def _run(self) -> None:
        try:
            producer = Producer({"bootstrap.servers": self.bootstrap, "linger.ms": 5})
            chunk = max(1, self.rate // 10)
            for start in range(1, self.n + 1, chunk):
                if start > self.n - HOLD_BACK:
                    self.released.wait(180)
                for i in range(start, min(start + chunk, self.n + 1)):
                    producer.produce(self.topic, json.dumps({"id": i}).encode(), partition=i % 2)
                producer.poll(0)
                if not self.released.is_set():
                    time.sleep(0.1)
            if producer.flush(30):
                raise RuntimeError("input not delivered")
        except BaseException as exc:  # noqa: BLE001 - reported by join()
            self.error = exc

    def join(self) -> None:
        self.thread.join(60)
        assert self.error is None, self.error


def _start_job(c, bootstrap: str, new_topic, tmp_path, n: int, extra: tuple[str, ...] = ()) -> tuple:
    src, out = new_topic(partitions=2, prefix="eos-in"), new_topic(partitions=2, prefix="eos-out")
    s = c.session(parallelism=2)
    half = n // 2
    for sql in [
        f"CREATE TABLE src (id BIGINT) WITH ('connector' = 'kafka', 'topic' = '{src}', "
        f"'properties.bootstrap.servers' = '{bootstrap}', 'format' = 'json', "
        "'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'specific-offsets', "
        f"'scan.bounded.specific-offsets' = 'partition:0,offset:{half};partition:1,offset:{half}')",
        f"CREATE TABLE out (id BIGINT) WITH ('connector' = 'kafka', 'topic' = '{out}', "
        f"'properties.bootstrap.servers' = '{bootstrap}', 'format' = 'json', "
        "'sink.delivery-guarantee' = 'exactly-once', "
        f"'sink.transactional-id-prefix' = '{unique('tx')}', "
        f"'sink.exactly-once.marker-topic' = '{unique('markers')}')",
        "SET 'execution.checkpointing.interval' = '1 s'",
        f"SET 'execution.checkpointing.dir' = '{tmp_path / 'chk'}'",
        "SET 'restart-strategy.type' = 'fixed-delay'",
        "SET 'restart-strategy.fixed-delay.attempts' = '5'",
        "SET 'restart-strategy.fixed-delay.delay' = '1 s'",
        *extra,
    ]:
        s.execute_one(sql)
    job_id = s.execute_one("INSERT INTO out SELECT id FROM src").job_id
    return job_id, src, out, s


def _feed_through_faults(c, job_id: str, feeder: Feeder, faults, restarts: int) -> None:
    """Feed the input while ``faults()`` runs, then the held-back rest; the job must finish
    after exactly ``restarts`` restarts."""
    feeder.start()
    try:
        faults()
    finally:
        feeder.release()
    feeder.join()
    info = c.client.wait(job_id, 120)
    assert info.state == "FINISHED", info
    assert info.restarts == restarts, info


def _assert_exact(bootstrap: str, s, out: str, n: int) -> list[dict]:
    ids = [json.loads(m.value())["id"] for m in read_topic(bootstrap, out)]
    assert len(ids) == n and len(set(ids)) == n and sorted(ids) == list(range(1, n + 1)), (
        f"{len(ids)} records committed, {len(set(ids))} distinct, of {n}")
    marker_topic = s.catalog.get(("out",)).options["sink.exactly-once.marker-topic"]
    markers = [json.loads(m.value()) for m in read_topic(bootstrap, marker_topic)]
    epochs = Counter((m["writer"], m["checkpoint"]) for m in markers)
    assert epochs and max(epochs.values()) == 1, epochs  # each epoch committed once
    return markers


def test_kill_9_of_a_taskmanager_three_times(make_cluster, bootstrap, new_topic, tmp_path):  # noqa: F811
    from flowsql.runtime.cluster import launcher

    n = 24_000
    c = make_cluster(tmp_path / "home", taskmanagers=3, slots=1)
    job_id, src, out, s = _start_job(c, bootstrap, new_topic, tmp_path, n)

    def kill_three_times() -> None:
        seen = 2  # the first kill comes after the third checkpoint
        for k in range(3):
            seen = until(f"a checkpoint after {seen}", partial(_checkpoint_after, c, job_id, seen),
                         timeout=90)
            victim = _busy_taskmanager(c)
            os.kill(c.pids[f"taskmanager-{victim.split('-')[1]}"], signal.SIGKILL)
            c.pids[f"taskmanager-{3 + k}"] = launcher.start_taskmanager(c.home, c.address, 3 + k)
            until("the job to restart", partial(_restarted, c, job_id, k + 1), timeout=60)

    _feed_through_faults(c, job_id, Feeder(bootstrap, src, n, rate=2000), kill_three_times, 3)
    _assert_exact(bootstrap, s, out, n)


def test_a_crash_in_the_commit_window_gives_the_epoch_once(make_cluster, bootstrap, new_topic,  # noqa: F811
                                                           tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWSQL_FAILPOINT", "checkpoint-commit:3")  # inherited by the cluster
    monkeypatch.setenv("FLOWSQL_FAILPOINT_ONCE", str(tmp_path / "crashed"))  # one TaskManager
    c = make_cluster(tmp_path / "home", taskmanagers=3, slots=1)
    monkeypatch.delenv("FLOWSQL_FAILPOINT")
    monkeypatch.delenv("FLOWSQL_FAILPOINT_ONCE")
    n = 12_000
    job_id, src, out, s = _start_job(c, bootstrap, new_topic, tmp_path, n, (
        "SET 'execution.checkpointing.externalized-checkpoint-retention' = "
        "'RETAIN_ON_CANCELLATION'",
        "SET 'state.checkpoints.num-retained' = '100'",
    ))
    _feed_through_faults(c, job_id, Feeder(bootstrap, src, n, rate=2000), partial(
        until, "the crash and the restart", partial(_restarted, c, job_id, 1), timeout=90), 1)
    assert (tmp_path / "crashed").exists()
    done = {int(m.parent.name.split("-")[1])
            for m in (tmp_path / "chk" / job_id).glob("chk-*/_metadata")}
    assert 3 in done, done  # durable before the crash
    markers = _assert_exact(bootstrap, s, out, n)
    resent = [m for m in markers if m["recovered"]]
    assert resent and all(m["checkpoint"] <= 3 for m in resent), markers  # epoch 3 re-sent once
    assert any(m["checkpoint"] == 3 for m in resent), markers

