"""CPU per message of the ``kafka`` source's consumer alone: confluent-kafka vs the C consumer.

Usage::

    .venv/bin/python bench/kafka_consume.py [--rows 1000000] [--cpu 1]

Starts a local broker, loads ``bids`` (one partition) with ``--rows`` JSON bids (~110 bytes,
bench/kafka.py's loader), then reads them all in a fresh process per mode, pinned to one
core (``taskset -c CPU``), 10,000 messages per poll as the reader does:
- ``confluent-join``: confluent-kafka ``consume()`` + ``[m.value() for m in msgs]`` +
  ``b"\\n".join`` (the reader's data path before the C consumer);
- ``confluent-records``: :class:`connectors.kafka.consume.ConfluentClient` (the fallback
  path: Records built from the ``Message`` objects);
- ``native``: :class:`connectors.kafka.consume.NativeClient` (the C consumer → Records).
Each child reports the CPU-seconds of its process (all threads, librdkafka's included) from
the end of its first poll that returned messages to its last, per message after that poll.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

MODES = ("confluent-join", "confluent-records", "native")


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def child(mode: str, bootstrap: str, rows: int) -> dict:
    from confluent_kafka import Consumer, Message, TopicPartition

    from connectors.kafka import native
    from connectors.kafka.consume import ConfluentClient, NativeClient, Wanted, gc_paused

    conf = {"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False, "enable.partition.eof": True,
            "fetch.queue.backoff.ms": 20}
    seen, first_cpu, first_wall, first_n = 0, None, 0.0, 0
    if mode == "confluent-join":
        consumer = Consumer(conf)
        consumer.incremental_assign([TopicPartition("bids", 0, 0)])
        while seen < rows:
            with gc_paused():
                msgs = consumer.consume(10_000, timeout=0.05)
                if any(map(Message.error, msgs)):
                    msgs = [m for m in msgs if m.error() is None]
                values = [m.value() for m in msgs]
                b"\n".join(values)
                seen += len(values)
                del msgs
                if values and first_cpu is None:  # counted from the first chunk on
                    first_cpu, first_wall, first_n = cpu(), time.perf_counter(), seen
        consumer.close()
    else:
        wanted = Wanted()
        if mode == "native":
            client = NativeClient(native.module("_consumer"),
                                  {k: str(v).lower() if isinstance(v, bool) else str(v)
                                   for k, v in conf.items()}, wanted)
        else:
            client = ConfluentClient(Consumer(conf), wanted)
        client.assign([("bids", 0, 0)])
        while seen < rows:
            chunks, _ = client.poll(10_000, 0.05)
            seen += sum(len(c) for c in chunks)
            del chunks
            if seen and first_cpu is None:  # counted from the first chunk on
                first_cpu, first_wall, first_n = cpu(), time.perf_counter(), seen
        client.close()
    spent, wall = cpu() - first_cpu, time.perf_counter() - first_wall
    counted = rows - first_n
    return {"mode": mode, "messages": counted, "cpu_s": round(spent, 3), "wall_s": round(wall, 3),
            "us_per_message": round(spent / counted * 1e6, 3)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--cpu", default="1")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--child", default=None)
    ap.add_argument("--bootstrap", default=None)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.bootstrap, args.rows)))
        return 0
    from connectors.kafka import broker as kafka_broker

    spec = importlib.util.spec_from_file_location("bench_kafka", ROOT / "bench" / "kafka.py")
    loader = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loader)
    broker = kafka_broker.start()
    try:
        kafka_broker.create_topics(broker.bootstrap, ["bids:1"])
        loader.load(broker.bootstrap, args.rows)
        for mode in args.modes.split(","):
            out = subprocess.run(["taskset", "-c", args.cpu, sys.executable, __file__, "--child",
                                  mode, "--bootstrap", broker.bootstrap, "--rows", str(args.rows)],
                                 check=True, capture_output=True, text=True, cwd=ROOT)
            print(out.stdout.strip().splitlines()[-1], flush=True)
    finally:
        broker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
