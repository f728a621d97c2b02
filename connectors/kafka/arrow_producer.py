"""The ``kafka`` sink's producer over Arrow arrays: the native producer
(:mod:`connectors.kafka.native` ``_producer``, librdkafka called from C) behind the part of
confluent-kafka's ``Producer`` surface that :class:`~connectors.kafka.writer.KafkaWriter`
uses, so the writer's flush / delivery-error / backpressure logic is one code path.

Why hand-written: confluent-kafka takes one Python ``produce()`` call per message (plus a
``to_pylist()`` of the encoded values to feed it); here a whole batch of encoded messages goes
to librdkafka in one C loop with the GIL released. Measured on this 2-core machine (busy,
load 8-12), pinned to one core, CPU of the whole process incl. librdkafka's threads:
``bench/kafka_produce.py`` (1 M JSON values of 112 bytes, batches of 8192): confluent-kafka
2.05-2.32 us/message, native 0.74-0.86 us/message; ``bench/kafka.py --rows 500000,1500000
--engines flowsql --queries q1_kafka``: 169 K -> 197 K and 187 K -> 223 K events/CPU-s
(``FLOWSQL_KAFKA_NATIVE=0`` -> default), i.e. ~0.85 us less CPU per event.

Contract of :class:`ArrowProducer` (only when :func:`available`):
- ``send(topic, messages, partitions)``: every row of a :data:`~connectors.kafka.writer.MESSAGES`
  table (``value``: NULL = tombstone; ``key``: NULL = none; ``timestamp`` epoch ms, NULL =
  the producer's time; ``headers`` must be all NULL: a writer with a headers column uses
  confluent-kafka) is queued before it returns; a full queue waits for deliveries
  (backpressure). ``partitions``: None (librdkafka's partitioner), an int for all messages,
  or an int32 array (-1 = partitioner). A message librdkafka refuses at once (e.g. larger
  than ``message.max.bytes``) raises ``ConnectorError`` naming the topic and reason, after
  the batch's other messages were queued.
- ``poll(timeout_s)``, ``flush(timeout_s) -> messages not yet delivered``, ``len()``: as
  confluent-kafka's; ``queue_full_ms()``: how long ``send`` waited for room (backpressure).
- ``delivery_errors()``: the failed deliveries so far, as one text naming the first failure's
  reason, topic and partition and the count (empty list: none), from the C delivery-report
  callback (no Python per message).
- ``partition_count(topic, timeout_s)``: raises ``LookupError`` for a topic the broker does
  not have, ``TimeoutError`` when no broker answered.
- librdkafka's log lines go to this module's logger (from the thread that polls).
"""

from __future__ import annotations

import logging
from typing import Any

import pyarrow as pa

from connectors.kafka import native
from flowsql.errors import ConnectorError

log = logging.getLogger(__name__)

_TIMED_OUT = -185  # RD_KAFKA_RESP_ERR__TIMED_OUT
_TRANSPORT = -195  # RD_KAFKA_RESP_ERR__TRANSPORT
_LEVELS = {0: logging.CRITICAL, 1: logging.CRITICAL, 2: logging.CRITICAL, 3: logging.ERROR,
           4: logging.WARNING, 5: logging.INFO, 6: logging.INFO, 7: logging.DEBUG}


def available() -> bool:
    return native.module("_producer") is not None


def _log(level: int, facility: str, message: str) -> None:
    log.log(_LEVELS.get(level, logging.INFO), "librdkafka %s: %s", facility, message)


class ArrowProducer:
    def __init__(self, conf: dict[str, Any]) -> None:
        mod = native.module("_producer")
        assert mod is not None, "check available() first"
        self._error = mod.Error
        try:
            self._p = mod.Producer({k: _conf_value(v) for k, v in conf.items()}, log=_log)
        except ValueError as exc:
            raise ConnectorError(f"Kafka: invalid client properties: {exc}") from None

    def send(self, topic: str, messages: pa.Table, partitions: int | pa.Array | None) -> None:
        start, refused = 0, None
        for batch in messages.to_batches():
            n = batch.num_rows
            keys, stamps = batch.column("key"), batch.column("timestamp")
            parts = partitions
            if isinstance(partitions, pa.Array):
                parts = partitions.slice(start, n)
            try:
                self._p.produce(topic, batch.column("value"),
                                keys if keys.null_count < n else None, parts,
                                stamps if stamps.null_count < n else None)
            except self._error as exc:
                if refused is None:
                    where = f" (message {start + exc.args[2]})" if len(exc.args) > 2 else ""
                    refused = f"{exc.args[0]}{where}"
            start += n
        if refused is not None:
            raise ConnectorError(f"Kafka: a message to topic '{topic}' was refused: {refused}")

    def poll(self, timeout_s: float = 0.0) -> int:
        return self._p.poll(int(timeout_s * 1000))

    def flush(self, timeout_s: float) -> int:
        return self._p.flush(int(timeout_s * 1000))

    def __len__(self) -> int:
        return len(self._p)

    def queue_full_ms(self) -> int:
        return self._p.queue_full_ms()

    def delivery_errors(self) -> list[str]:
        first = self._p.first_error()
        if first is None:
            return []
        _code, _name, reason, _topic, partition = first
        n = self._p.failures()
        return [f"{reason} (partition {partition}; {n} message(s) failed)"]

    def partition_count(self, topic: str, timeout_s: float) -> int:
        try:
            return self._p.partition_count(topic, int(timeout_s * 1000))
        except self._error as exc:
            reason, code = exc.args[:2]
            if code in (_TIMED_OUT, _TRANSPORT):
                raise TimeoutError(reason) from None
            raise LookupError(reason) from None

    def close(self) -> None:
        self._p.close()


def _conf_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
