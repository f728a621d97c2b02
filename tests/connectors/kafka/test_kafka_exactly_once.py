"""The exactly-once ``kafka`` sink (:mod:`connectors.kafka.transactions`) against the real
broker, read back with ``read_committed``: a job's output equals its input, planning
errors, empty epochs, zombie fencing and recovery that re-sends only uncommitted epochs."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from connectors.kafka.factory import KafkaFactory
from connectors.kafka.transactions import last_markers
from flowsql.errors import ConnectorError
from tests.connectors.kafka.conftest import unique
from tests.connectors.kafka.kafka_util import read_topic
from tests.waiting import until


def _sink(session, name: str, topic: str, bootstrap: str, **options: str) -> None:
    opts = {"connector": "kafka", "topic": topic, "properties.bootstrap.servers": bootstrap,
            "format": "json", "sink.delivery-guarantee": "exactly-once",
            "sink.transactional-id-prefix": unique("tx"),
            "sink.exactly-once.marker-topic": unique("markers"), **options}
    with_ = ", ".join(f"'{k}' = '{v}'" for k, v in opts.items())
    session.execute_one(f"CREATE TABLE {name} (id BIGINT, v BIGINT) WITH ({with_})")


def _ids(bootstrap: str, topic: str, isolation: str = "read_committed") -> list[int]:
    return [json.loads(m.value())["id"] for m in read_topic(bootstrap, topic, isolation=isolation)]


def test_exactly_once_job_output_equals_input(session, bootstrap, new_topic, tmp_path):
    rows = 4000
    out = new_topic(partitions=2)
    session.execute_one(
        "CREATE TABLE src (id BIGINT, v BIGINT) WITH ('connector' = 'datagen', "
        f"'number-of-rows' = '{rows}', 'rows-per-second' = '4000', 'fields.id.kind' = "
        f"'sequence', 'fields.id.start' = '1', 'fields.id.end' = '{rows}')")
    _sink(session, "out", out, bootstrap, **{"sink.partitioner": "round-robin"})
    for sql in ["SET 'execution.checkpointing.interval' = '200 ms'",
                f"SET 'execution.checkpointing.dir' = '{tmp_path / 'chk'}'",
                "SET 'table.dml-sync' = 'true'"]:
        session.execute_one(sql)
    session.execute_one("INSERT INTO out SELECT id, v FROM src")
    ids = _ids(bootstrap, out)
    assert len(ids) == rows and len(set(ids)) == rows and sorted(ids) == list(range(1, rows + 1))
    assert sorted(_ids(bootstrap, out, "read_uncommitted")) == sorted(ids)  # nothing aborted
    marker_topic = session.catalog.get(("out",)).options["sink.exactly-once.marker-topic"]
    markers = read_topic(bootstrap, marker_topic)  # one per transaction, all from one writer
    assert markers and len({m.key() for m in markers}) == 1
    assert sum(json.loads(m.value())["records"] for m in markers) == rows


def test_exactly_once_in_batch_mode_is_one_transaction(session, bootstrap, new_topic):
    out = new_topic()
    _sink(session, "out", out, bootstrap)
    session.execute_one("SET 'execution.runtime-mode' = 'batch'")
    session.execute_one("INSERT INTO out VALUES (1, 10), (2, 20), (3, 30)")
    assert sorted(_ids(bootstrap, out)) == [1, 2, 3]


@pytest.mark.parametrize(("options", "settings", "message"), [
    ({"sink.transactional-id-prefix": ""}, {"execution.checkpointing.interval": "1 s"},
     "Missing required option 'sink.transactional-id-prefix'"),
    ({}, {}, "needs checkpointing"),
    ({"properties.transaction.timeout.ms": "500"}, {"execution.checkpointing.interval": "1 s"},
     "is below the checkpoint interval"),
])
def test_planning_errors(session, bootstrap, new_topic, options, settings, message):
    _sink(session, "out", new_topic(), bootstrap, **options)
    for key, value in settings.items():
        session.execute_one(f"SET '{key}' = '{value}'")
    with pytest.raises(ConnectorError, match=message):
        session.execute_one("INSERT INTO out VALUES (1, 1)")


def _writer(session, name: str, job: str = "job-1", subtask: int = 0):
    table = session.catalog.get((name,))
    factory = KafkaFactory()
    writer = factory.sink_writer(table, factory.validate(table))
    writer.bind_subtask(subtask, 1)
    writer.bind_job(job, "sink-uid")
    writer.begin_transactions()
    return writer


def _batch(ids: range) -> pa.RecordBatch:
    return pa.record_batch({"id": pa.array(list(ids), pa.int64()),
                            "v": pa.array(list(ids), pa.int64())})


def test_empty_epochs_open_no_transaction(session, bootstrap, new_topic):
    out = new_topic()
    _sink(session, "out", out, bootstrap)
    w = _writer(session, "out")
    marker_topic = w.config.marker_topic
    assert w.prepare_commit(1).num_rows == 0
    w.commit(1)
    w.write(_batch(range(5)))
    assert w.prepare_commit(2).num_rows == 5
    w.commit(2)
    until("checkpoint 2 committed", lambda: w.committed == [2], timeout=30)
    w.prepare_commit(3)
    w.commit(3)  # empty again: nothing to begin or commit, and no error
    w.write(_batch(range(5, 7)))
    w.prepare_commit(4)
    w.commit(4)
    until("checkpoint 4 committed", lambda: w.committed == [2, 4], timeout=30)
    assert sorted(_ids(bootstrap, out)) == list(range(7))
    assert last_markers(w.config.client, marker_topic, [w.writer_id]) == {w.writer_id: 4}
    assert len(read_topic(bootstrap, marker_topic)) == 2  # one marker per non-empty epoch
    w.finish()
    w.commit_all()


def test_an_attempt_that_finishes_before_its_first_checkpoint_numbers_its_epoch_after_the_restored(
        session, bootstrap, new_topic):
    """Restored from checkpoint 3 with nothing pending, the attempt reaches the end of input
    before any checkpoint: its final epoch is 4, not 1 again (each (writer, checkpoint)
    marker exists once; the cluster kill -9 test met this as a repeated marker 1)."""
    out = new_topic()
    _sink(session, "out", out, bootstrap)
    old = _writer(session, "out")
    old.write(_batch(range(0, 3)))
    old.prepare_commit(1)
    old.commit(1)
    until("epoch 1 committed", lambda: old.committed == [1], timeout=30)
    old.prepare_commit(3)  # an empty epoch 3: checkpoint 3 holds nothing pending

    new = _writer(session, "out")  # the restarted subtask, restored from checkpoint 3
    new.resume_after(3)
    new.write(_batch(range(3, 5)))
    new.finish()
    new.commit_all()
    markers = [json.loads(m.value()) for m in read_topic(bootstrap, new.config.marker_topic)]
    assert sorted((m["writer"], m["checkpoint"]) for m in markers) == [
        (new.writer_id, 1), (new.writer_id, 4)]
    assert sorted(_ids(bootstrap, out)) == list(range(5))
    old.finish()


def test_recovery_resends_only_uncommitted_epochs_and_fences_the_zombie(session, bootstrap,
                                                                       new_topic):
    """Epoch 1 is committed, epoch 2 is in checkpoint 2 but its commit never happened (the
    crash window). A new attempt (same transactional id) fences the old writer, re-sends
    epoch 2 only; the zombie's late commit of epoch 2 fails loudly and publishes nothing."""
    out = new_topic(partitions=2)
    _sink(session, "out", out, bootstrap)
    old = _writer(session, "out")
    old.write(_batch(range(0, 10)))
    state1 = old.prepare_commit(1)
    old.commit(1)
    until("epoch 1 committed", lambda: old.committed == [1], timeout=30)
    old.write(_batch(range(10, 25)))
    state2 = old.prepare_commit(2)  # checkpoint 2 durable; "crash" before its commit
    assert sorted(state2.column("checkpoint").to_pylist()) == [2] * 15

    new = _writer(session, "out")  # the restarted subtask: init_transactions fences `old`
    new.recover(pa.concat_tables([state1, state2]))  # epoch 1 committed: skipped; 2 re-sent
    assert new.recovered == {"resent": 1, "skipped": 1}
    old.commit(2)  # the zombie wakes up
    until("the zombie's commit to fail", lambda: old._failure is not None, timeout=30)
    with pytest.raises(ConnectorError, match="failed for good"):
        old.write(_batch(range(99, 100)))
    ids = _ids(bootstrap, out)
    assert len(ids) == 25 and sorted(ids) == list(range(25))

    again = _writer(session, "out")  # a second recovery from checkpoint 2 sends nothing
    again.recover(state2)
    assert again.recovered == {"resent": 0, "skipped": 1}
    assert sorted(_ids(bootstrap, out)) == list(range(25))
    for w in (new, again):
        w.finish()
        w.commit_all()


def test_stop_with_savepoint_and_resume_is_exact(session, bootstrap, new_topic, tmp_path):
    """Kafka → Kafka, exactly-once: STOP JOB WITH SAVEPOINT publishes everything up to the
    savepoint; a new job restored from it (new transactional ids) finds the restored epochs
    committed by their markers, sends none of them again, and goes on after them."""
    from tests.connectors.kafka.kafka_util import produce

    src, out = new_topic(partitions=2), new_topic(partitions=2)
    produce(bootstrap, src, [{"value": json.dumps({"id": i, "v": 0}), "partition": i % 2}
                             for i in range(10)])
    session.execute_one(
        f"CREATE TABLE s (id BIGINT, v BIGINT) WITH ('connector' = 'kafka', 'topic' = '{src}', "
        f"'properties.bootstrap.servers' = '{bootstrap}', 'format' = 'json', "
        "'scan.startup.mode' = 'earliest-offset')")
    _sink(session, "o", out, bootstrap)
    for key, value in [("execution.checkpointing.interval", "300 ms"),
                       ("execution.checkpointing.dir", tmp_path / "chk"),
                       ("execution.checkpointing.savepoint-dir", tmp_path / "sp")]:
        session.execute_one(f"SET '{key}' = '{value}'")
    job = session.execute_one("INSERT INTO o SELECT id, v FROM s").job_id
    until("the first 10 records", lambda: len(_ids(bootstrap, out)) >= 10, timeout=60)
    savepoint = session.execute_one(f"STOP JOB '{job}' WITH SAVEPOINT").table.column(0)[0].as_py()
    produce(bootstrap, src, [{"value": json.dumps({"id": i, "v": 0}), "partition": i % 2}
                             for i in range(10, 16)])
    session.execute_one(f"SET 'execution.savepoint.path' = '{savepoint}'")
    job = session.execute_one("INSERT INTO o SELECT id, v FROM s").job_id
    try:
        until("all 16 records", lambda: len(_ids(bootstrap, out)) >= 16, timeout=60)
    finally:
        session.execute_one(f"STOP JOB '{job}'")
    assert sorted(_ids(bootstrap, out)) == list(range(16))


def test_a_rescaled_restore_resends_other_writers_epochs_under_their_ids(session, bootstrap,
                                                                         new_topic):
    """Restored at parallelism 1, subtask 0 gets the pending epochs of old subtasks 0 and 1
    (``to-first``): it checks and writes each epoch's marker under the id of the writer that
    produced it, so old subtask 0's committed epoch is skipped and old subtask 1's is sent."""
    out = new_topic()
    _sink(session, "out", out, bootstrap)
    old0, old1 = _writer(session, "out", subtask=0), _writer(session, "out", subtask=1)
    old0.write(_batch(range(0, 5)))
    old1.write(_batch(range(5, 12)))
    state = pa.concat_tables([old0.prepare_commit(1), old1.prepare_commit(1)])
    old0.commit(1)  # old subtask 1 crashed before its commit
    until("old subtask 0 committed", lambda: old0.committed == [1], timeout=30)

    new = _writer(session, "out", job="job-2")  # a new job from a savepoint, parallelism 1
    new.recover(state)
    assert new.recovered == {"resent": 1, "skipped": 1}
    assert sorted(_ids(bootstrap, out)) == list(range(12))
    assert last_markers(new.config.client, new.config.marker_topic,
                        [old0.writer_id, old1.writer_id]) == {old0.writer_id: 1, old1.writer_id: 1}
    for w in (old0, new):
        w.finish()
        w.commit_all()
