"""The ``kafka`` sink with ``'sink.delivery-guarantee' = 'exactly-once'``: Kafka transactions
committed with FlowSQL's checkpoints.

Why this design: librdkafka cannot resume another producer's prepared transaction after a
crash (no KIP-939 support; Arroyo's issue #224 is the same gap), so the usual two-phase
commit -- write into an open transaction during the epoch, commit it after the checkpoint --
loses the epoch when the process that held the transaction dies between "checkpoint
durable" and "transaction committed". Here the checkpoint itself holds the epoch's records
(a write-ahead log in the sink's state) and the transaction is only opened to publish them:

1. Ids. Sink subtask *i* of job *J*, sink operator *U* has the transactional id
   ``<sink.transactional-id-prefix>-<J>-<U>-<i>`` (:func:`transactional_id`): unique per job,
   sink and subtask, and the same in every restart of the job.
2. Start (:meth:`ExactlyOnceWriter.begin_transactions`, called when checkpointing is on): the
   producer calls ``init_transactions``, which fences every earlier producer with that id (a
   zombie of an earlier attempt: its open transaction is aborted and it can commit nothing
   more), and the marker topic (``sink.exactly-once.marker-topic``, compacted, one
   partition) is created if missing.
3. Epoch. ``write(batch)`` encodes the batch (vectorized, :meth:`KafkaWriter.messages`) and
   keeps it in memory; nothing is sent.
4. Barrier *n* (:meth:`ExactlyOnceWriter.prepare_commit`): the epoch's messages become epoch
   *n* of the pending list, and the sink's state for checkpoint *n* is every pending epoch
   (table :data:`STATE`: ``writer``, ``checkpoint`` and the :data:`~.writer.MESSAGES`
   columns). An epoch stays pending until its transaction committed.
5. Checkpoint *n* complete (:meth:`ExactlyOnceWriter.commit`, the JobManager's notification):
   a committer thread of the writer publishes every pending epoch <= *n*, oldest first, ONE
   TRANSACTION PER EPOCH: ``begin_transaction``, the epoch's messages, a commit marker
   (key: the transactional id; value: JSON with the checkpoint id, the record count, and
   ``recovered``: whether recovery re-sent the epoch) to the
   marker topic, ``commit_transaction``. The marker commits atomically with the records.
   An epoch without records opens no transaction and writes no marker (an empty Kafka
   transaction is a known trap, FLINK-31363); it has nothing to re-send either.
6. Recovery (:meth:`ExactlyOnceWriter.recover`, the restored checkpoint's pending epochs):
   after ``init_transactions`` (step 2), the markers are read with ``read_committed``
   (:func:`last_markers`; every transaction open when reading began is waited for, so a
   commit in flight is never missed), and every restored epoch newer than the last committed
   marker of the writer that produced it is sent again, in a transaction with its marker, as
   in step 5. Older epochs were committed already and are dropped. A crash anywhere between
   "checkpoint durable" and "transaction committed" therefore gives each epoch exactly once.
7. End of input (:meth:`finish`): the records after the last barrier are held until the
   JobManager says the whole job finished (:meth:`commit_all`, from the sink operator's
   ``commit_final``), then published as one last epoch, numbered one past the newest
   checkpoint this attempt prepared or restored from (:meth:`resume_after`: an attempt that
   finishes before its first checkpoint must not reuse an earlier attempt's marker); if the
   job restarts instead, they are replayed from the last checkpoint.
8. Timeouts. A transaction that cannot be committed within ``transaction.timeout.ms``
   (``properties.transaction.timeout.ms``; librdkafka's default is 60 s) -- the broker is
   down longer than that -- fails the job LOUDLY with a ``ConnectorError`` naming the
   timeout (raised on the task thread at the next write or barrier); no record is lost, as
   the epoch is still in the checkpoint and is re-sent after the restart. A retriable error
   before then (a broker outage shorter than the timeout) is retried, and the output stays
   exact. At planning (:func:`check_job`) a ``transaction.timeout.ms`` below the checkpoint
   interval is an error and one below twice the interval a warning in the log, following
   Flink's advice (the timeout must cover a checkpoint interval plus the expected outage).
9. Without checkpointing the planner refuses ``exactly-once`` (:func:`check_job`); batch
   mode (:class:`~.writer.KafkaBatchSink`) publishes the whole result in one transaction at
   the end (:meth:`finish`).

Rescaling: a restore at another parallelism gives every old subtask's pending epochs to
the new subtask 0 (the sink's ``state_keys`` is ``to-first``); each epoch keeps the
transactional id of the writer that produced it in the ``writer`` column, so its marker is
looked up and written under that id, while it is sent through subtask 0's own producer. A
producer of a removed subtask is therefore not fenced (it belongs to a stopped job). The
producer epoch bumps of ``init_transactions`` are harmless here (the trap of FLINK-8086):
no producer ever resumes another's transaction. The committer thread holds its writer
weakly, so the producer of a failed attempt's writer is collected with it.

Consumers see the output with ``isolation.level = read_committed`` only once the checkpoint
that covers it completed (as in Flink); ``read_uncommitted`` consumers may also see records
of aborted transactions. Records wait in memory and in checkpoints until their checkpoint
completes, so memory grows with the checkpoint interval times the input rate.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
import weakref
from collections.abc import Iterable
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from catalog.table import TableDefinition
from connectors.kafka.options import KafkaConfig
from connectors.kafka.writer import MESSAGES, METADATA_TIMEOUT_S, KafkaWriter
from connectors.options import parse_duration_ms
from flowsql.errors import ConnectorError

log = logging.getLogger(__name__)

DEFAULT_TRANSACTION_TIMEOUT_MS = 60_000  # librdkafka's default of transaction.timeout.ms
MARKER_READ_TIMEOUT_S = 60.0
STATE = pa.schema([pa.field("writer", pa.string()), pa.field("checkpoint", pa.int64()),
                   *MESSAGES])


def transactional_id(prefix: str, job_id: str, sink_uid: str, subtask: int) -> str:
    """The transactional id of one sink subtask (module contract, step 1)."""
    return f"{prefix}-{job_id}-{sink_uid}-{subtask}"


def transaction_timeout_ms(config: KafkaConfig) -> int:
    raw = config.client.get("transaction.timeout.ms")
    try:
        return int(raw) if raw is not None else DEFAULT_TRANSACTION_TIMEOUT_MS
    except ValueError:
        raise ConnectorError(f"Invalid value '{raw}' for option 'properties.transaction.timeout.ms' "
                             "of connector 'kafka': expected milliseconds") from None


def check_job(config: KafkaConfig, interval_ms: int) -> None:
    """Planning checks of an exactly-once sink against the checkpoint interval (step 8, 9)."""
    if not config.transactional_id_prefix:
        raise ConnectorError(
            "Missing required option 'sink.transactional-id-prefix' for connector 'kafka' "
            "('sink.delivery-guarantee' is 'exactly-once')",
            hint="Set a prefix unique to this sink, e.g. 'sink.transactional-id-prefix' = 'orders-etl'.",
        )
    if interval_ms <= 0:
        raise ConnectorError(
            "'sink.delivery-guarantee' = 'exactly-once' for connector 'kafka' needs "
            "checkpointing: records are committed when a checkpoint completes",
            hint="SET 'execution.checkpointing.interval' = '10 s'; or use 'at-least-once'.",
        )
    timeout = transaction_timeout_ms(config)
    if timeout < interval_ms:
        raise ConnectorError(
            f"'properties.transaction.timeout.ms' ({timeout} ms) of connector 'kafka' is below "
            f"the checkpoint interval ({interval_ms} ms)",
            hint="The transaction timeout must cover a checkpoint interval plus the longest "
                 "expected broker outage; raise it (at most the broker's "
                 "transaction.max.timeout.ms, 15 min by default).",
        )
    if timeout < 2 * interval_ms:
        log.warning("kafka sink: 'transaction.timeout.ms' (%d ms) is less than twice the "
                    "checkpoint interval (%d ms); a short broker outage will fail the job",
                    timeout, interval_ms)


def check_settings(config: KafkaConfig, settings: Any) -> None:
    """:func:`check_job` for a sink of either factory, against the session's settings."""
    if config.delivery == "exactly-once":
        interval = str(settings.get("execution.checkpointing.interval") or "").strip()
        check_job(config, (parse_duration_ms(interval) or 0) if interval else 0)


def ensure_marker_topic(client: dict[str, str], topic: str) -> None:
    """Create the compacted, one-partition marker topic if it does not exist."""
    admin = AdminClient({k: v for k, v in client.items() if k != "group.id"})
    md = admin.list_topics(topic, timeout=METADATA_TIMEOUT_S)
    found = md.topics.get(topic)
    if found is not None and found.error is None and found.partitions:
        return
    futures = admin.create_topics([NewTopic(topic, 1, -1, config={"cleanup.policy": "compact"})],
                                  operation_timeout=METADATA_TIMEOUT_S)
    try:
        futures[topic].result(timeout=METADATA_TIMEOUT_S * 2)
    except KafkaException as exc:
        if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
            raise ConnectorError(f"Kafka: cannot create the marker topic '{topic}': "
                                 f"{exc.args[0].str()}") from None


def last_markers(client: dict[str, str], topic: str, writers: Iterable[str],
                 timeout: float = MARKER_READ_TIMEOUT_S) -> dict[str, int]:
    """The last committed checkpoint per transactional id in ``writers``, from the markers
    read with ``read_committed``. Reading goes on until the last stable offset passed the
    high watermark seen at the start, so a transaction in flight when reading began (its
    marker may follow another writer's open transaction) is waited for, not missed."""
    wanted = set(writers)
    base = {k: v for k, v in client.items() if k not in ("group.id", "transactional.id")}
    tp = TopicPartition(topic, 0, 0)
    probe = Consumer({**base, "group.id": "flowsql-markers", "enable.auto.commit": False,
                      "isolation.level": "read_uncommitted"})
    try:
        _, high = probe.get_watermark_offsets(tp, timeout=METADATA_TIMEOUT_S, cached=False)
    except KafkaException as exc:
        raise ConnectorError(f"Kafka: cannot read the marker topic '{topic}': "
                             f"{exc.args[0].str()}") from None
    finally:
        probe.close()
    found: dict[str, int] = {}
    if high <= 0:
        return found
    consumer = Consumer({**base, "group.id": "flowsql-markers", "enable.auto.commit": False,
                         "isolation.level": "read_committed", "enable.partition.eof": True})
    try:
        consumer.assign([tp])
        deadline = time.monotonic() + timeout
        reached = 0
        while reached < high:
            if time.monotonic() > deadline:
                raise ConnectorError(
                    f"Kafka: the markers of topic '{topic}' could not be read to offset {high} "
                    f"within {timeout:.0f} s (stuck at {reached}: a transaction stays open)")
            for m in consumer.consume(500, timeout=0.5):
                err = m.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        reached = max(reached, m.offset())
                        continue
                    raise ConnectorError(f"Kafka: reading the marker topic '{topic}' failed: "
                                         f"{err.str()}")
                reached = max(reached, m.offset() + 1)
                key = (m.key() or b"").decode()
                if key in wanted:
                    found[key] = max(found.get(key, -1), int(orjson.loads(m.value())["checkpoint"]))
    finally:
        consumer.close()
    return found


class ExactlyOnceWriter(KafkaWriter):
    """The exactly-once sink subtask (module contract)."""

    pending_as_table = True  # SinkOperator: recover() gets the state table back
    native = False  # transactions: confluent-kafka's producer (the native one has none)

    def __init__(self, table: TableDefinition, config: KafkaConfig) -> None:
        super().__init__(table, config)
        if not config.transactional_id_prefix:
            check_job(config, 1)  # the missing prefix, as at planning
        self.prefix = config.transactional_id_prefix or ""
        self.timeout_ms = transaction_timeout_ms(config)
        self.transactional = False
        self.writer_id = f"{self.prefix}-{uuid.uuid4().hex}"  # bind_job gives the stable one
        self._epoch: list[pa.Table] = []  # messages since the last barrier
        self._pending: list[tuple[str, int, pa.Table]] = []  # (writer, checkpoint, messages)
        self._final: pa.Table | None = None  # after the last barrier, sealed by finish()
        self._last_checkpoint = 0
        self._lock = threading.Lock()
        self._commits: queue.Queue[int | None] = queue.Queue()
        self._committer: threading.Thread | None = None
        self._failure: ConnectorError | None = None
        self.committed: list[int] = []  # checkpoint ids of the epochs published, in order
        self.recovered: dict[str, int] = {"resent": 0, "skipped": 0}

    # -- setup (steps 1, 2) --------------------------------------------------------------------
    def bind_job(self, job_id: str, sink_uid: str) -> None:
        self.writer_id = transactional_id(self.prefix, job_id or "job", sink_uid or "sink",
                                          self.subtask)

    def _producer_conf(self) -> dict[str, Any]:
        return {**super()._producer_conf(), "transactional.id": self.writer_id}

    def _opened(self) -> None:
        assert self._producer is not None
        ensure_marker_topic(self.config.client, self.config.marker_topic)
        try:  # fences every earlier producer of this transactional id (zombies)
            self._producer.init_transactions(self.timeout_ms / 1000)
        except KafkaException as exc:
            self._producer = None
            raise ConnectorError(
                f"Kafka: init_transactions for transactional id '{self.writer_id}' failed: "
                f"{exc.args[0].str()}",
                hint="'transaction.timeout.ms' must not exceed the broker's "
                     "transaction.max.timeout.ms (15 min by default).") from None

    def begin_transactions(self) -> None:
        """Checkpointing is on: fence zombies now, commit on checkpoint completion."""
        self.transactional = True
        _ = self.producer
        self._committer = threading.Thread(target=_commit_loop, daemon=True,
                                           args=(weakref.ref(self), self._commits),
                                           name=f"flowsql-kafka-commit {self.writer_id}")
        self._committer.start()

    # -- the epoch (steps 3, 4) ----------------------------------------------------------------
    def resume_after(self, checkpoint_id: int) -> None:
        """This attempt restored from checkpoint ``checkpoint_id``: the final epoch (step 7)
        is numbered after it even when no checkpoint completes in this attempt, so its
        marker never repeats an earlier attempt's (writer, checkpoint)."""
        with self._lock:
            self._last_checkpoint = max(self._last_checkpoint, checkpoint_id)

    def write(self, batch: pa.RecordBatch) -> None:
        self._raise_failure()
        self._epoch.append(self.messages(batch))
        self.sent += batch.num_rows

    def _seal(self) -> pa.Table:
        epoch, self._epoch = self._epoch, []
        return pa.concat_tables(epoch) if epoch else MESSAGES.empty_table()

    def prepare_commit(self, checkpoint_id: int) -> pa.Table:
        """Seal the epoch as checkpoint ``checkpoint_id``'s; the state is every pending epoch."""
        self._raise_failure()
        messages = self._seal()
        with self._lock:
            self._last_checkpoint = max(self._last_checkpoint, checkpoint_id)
            if messages.num_rows:
                self._pending.append((self.writer_id, checkpoint_id, messages))
            pending = list(self._pending)
        return state_table(pending)

    def flush(self) -> None:
        return None  # nothing is sent outside transactions

    # -- commit (step 5) -----------------------------------------------------------------------
    def commit(self, checkpoint_id: int) -> None:
        """Checkpoint ``checkpoint_id`` completed: the committer thread publishes it."""
        self._commits.put(checkpoint_id)

    def _commit_due(self, n: int) -> None:
        """On the committer thread: publish up to checkpoint ``n``; a failure is kept and
        raised on the task thread (module contract, step 8)."""
        if self._failure is not None:
            return
        try:
            self._publish_due(n)
        except ConnectorError as exc:
            self._failure = exc
            log.error("kafka sink %s: %s", self.writer_id, exc)

    def _publish_due(self, checkpoint_id: int) -> None:
        with self._lock:
            due = [e for e in self._pending if e[1] <= checkpoint_id]
        for writer, n, messages in due:
            self._transaction(writer, n, messages)
            with self._lock:
                self._pending = [e for e in self._pending if e[0] != writer or e[1] != n]

    def _transaction(self, writer: str, checkpoint_id: int, messages: pa.Table,
                     recovered: bool = False) -> None:
        """Publish one epoch with its marker in one transaction (step 5); retriable errors
        are retried until ``transaction.timeout.ms`` ran out, then it fails loudly (step 8)."""
        if not messages.num_rows:
            return
        producer = self.producer
        marker = orjson.dumps({"writer": writer, "checkpoint": checkpoint_id,
                               "records": messages.num_rows, "topic": self.topic,
                               "recovered": recovered})
        deadline = time.monotonic() + self.timeout_ms / 1000
        sent = False
        while True:
            try:
                if not sent:
                    producer.begin_transaction()
                    self._errors.clear()
                    self._send(producer, messages)
                    producer.produce(self.config.marker_topic, marker, writer.encode())
                    sent = True
                producer.commit_transaction(max(deadline - time.monotonic(), 0.5))
                self.committed.append(checkpoint_id)
                return
            except KafkaException as exc:
                err = exc.args[0]
                if err.fatal():
                    raise ConnectorError(
                        f"Kafka: the transaction of checkpoint {checkpoint_id} (transactional id "
                        f"'{self.writer_id}') failed for good: {err.str()}",
                        hint="Another producer with this transactional id took over (a newer "
                             "attempt of the job fenced this one), or the broker refused it.",
                    ) from None
                reason = err.str()
                if err.txn_requires_abort():
                    self._abort(producer, deadline)
                    sent = False
                elif not err.retriable():
                    raise ConnectorError(f"Kafka: the transaction of checkpoint {checkpoint_id} "
                                         f"failed: {reason}") from None
            if time.monotonic() >= deadline:
                raise ConnectorError(
                    f"Kafka: the transaction of checkpoint {checkpoint_id} (transactional id "
                    f"'{self.writer_id}', {messages.num_rows} records to topic '{self.topic}') "
                    f"was not committed within 'transaction.timeout.ms' = {self.timeout_ms} ms: "
                    f"{reason}",
                    hint="The brokers were unreachable for longer than the transaction timeout. "
                         "The job fails; restarted from its last checkpoint it sends the epoch "
                         "again. Raise 'properties.transaction.timeout.ms' to ride out longer "
                         "outages.",
                )

    def _abort(self, producer: Producer, deadline: float) -> None:
        try:
            producer.abort_transaction(max(deadline - time.monotonic(), 0.5))
        except KafkaException as exc:
            log.warning("kafka sink %s: abort_transaction: %s", self.writer_id, exc.args[0].str())

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    # -- recovery (step 6) ---------------------------------------------------------------------
    def recover(self, state: pa.Table) -> None:
        """Re-send the restored epochs newer than their writer's last committed marker."""
        epochs = epochs_of(state)
        if not epochs:
            return
        _ = self.producer  # init_transactions first: a zombie's open transaction is aborted
        markers = last_markers(self.config.client, self.config.marker_topic,
                               {w for w, _, _ in epochs})
        for writer, n, messages in epochs:
            if n <= markers.get(writer, -1):
                self.recovered["skipped"] += 1
                continue
            self._transaction(writer, n, messages, recovered=True)
            self.recovered["resent"] += 1
        log.info("kafka sink %s: recovery re-sent %d epoch(s), %d were committed already",
                 self.writer_id, self.recovered["resent"], self.recovered["skipped"])

    # -- the end (steps 7, 9) ------------------------------------------------------------------
    def finish(self) -> None:
        if not self.transactional:  # batch mode: the whole result in one transaction
            self._transaction(self.writer_id, 1, self._seal())
            self._close()
            return
        self._final = self._seal()

    def commit_all(self) -> None:
        """The whole job finished: publish every pending epoch, then the last one."""
        self._stop_committer()
        self._raise_failure()
        with self._lock:
            due = list(self._pending)
            final_id = self._last_checkpoint + 1
        for writer, n, messages in due:
            self._transaction(writer, n, messages)
        with self._lock:
            self._pending = []
        if self._final is not None:
            self._transaction(self.writer_id, final_id, self._final)
            self._final = None
        self._close()

    def _stop_committer(self) -> None:
        if self._committer is not None:
            self._commits.put(None)
            self._committer.join()
            self._committer = None

    def _close(self) -> None:
        if self._producer is not None:
            self._producer.flush(1.0)


def _commit_loop(ref: weakref.ref, commits: queue.Queue) -> None:
    """The committer thread: the newest notification covers every older one. It holds the
    writer only weakly, so a writer its task dropped (a failed or cancelled attempt, which
    gets no ``commit_all``) is collected with its producer, and the thread ends."""
    while True:
        try:
            n = commits.get(timeout=1.0)
        except queue.Empty:
            if ref() is None:
                return
            continue
        while n is not None and not commits.empty():
            later = commits.get()
            n = None if later is None else max(n, later)
        writer = ref()
        if n is None or writer is None:
            return
        writer._commit_due(n)
        del writer


def state_table(epochs: list[tuple[str, int, pa.Table]]) -> pa.Table:
    """Pending epochs as one table of :data:`STATE` (the sink's checkpoint state)."""
    if not epochs:
        return STATE.empty_table()
    parts = []
    for writer, n, messages in epochs:
        rows = messages.num_rows
        parts.append(pa.Table.from_arrays(
            [pa.repeat(pa.scalar(writer, pa.string()), rows),
             pa.repeat(pa.scalar(n, pa.int64()), rows), *messages.columns], schema=STATE))
    return pa.concat_tables(parts)


def epochs_of(state: pa.Table) -> list[tuple[str, int, pa.Table]]:
    """The restored state as epochs (writer, checkpoint, messages), oldest first per writer."""
    if not state.num_rows:
        return []
    keys = state.select(["writer", "checkpoint"]).group_by(["writer", "checkpoint"]).aggregate([])
    out = []
    for writer, n in sorted(zip(keys.column("writer").to_pylist(),
                                keys.column("checkpoint").to_pylist(), strict=True)):
        mask = pc.and_(pc.equal(state.column("writer"), writer),
                       pc.equal(state.column("checkpoint"), n))
        out.append((writer, n, state.filter(mask).select(MESSAGES.names).cast(MESSAGES)))
    return out
