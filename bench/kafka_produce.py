"""The Kafka sink's producer alone: CPU per message of confluent-kafka's produce() loop
against the native producer (connectors/kafka/native/_producer.c) over Arrow arrays.

Usage::

    .venv/bin/python bench/kafka_produce.py [--rows 1000000] [--batch 8192] [--cpu 1 | --no-pin]
        [--modes confluent,native]

Starts a local broker (``connectors/kafka/broker.py``), then for each mode runs a child
process (pinned with ``taskset``) that builds ``rows`` JSON bid values (~110 bytes) as a
pa.BinaryArray (not measured), then produces them in batches of ``--batch`` and flushes
(measured: CPU-seconds of the whole process, librdkafka's threads included, from
``getrusage``; and wall time). Both use the sink's settings: ``linger.ms`` 5, ``acks=all``,
``delivery.report.only.error``. ``confluent`` is the sink's old loop: ``to_pylist()`` then one
``produce(topic, value)`` per message (``BufferError``: ``poll``); ``native`` hands each batch's
array to ``Producer.produce`` in one call.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHILD = r"""
import json, resource, sys, time
import pyarrow as pa
mode, bootstrap, topic, rows, batch = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
values = pa.array([
    f'{{"seq":{i},"auction":{1000 + i % 997},"bidder":{2000 + i % 9973},"price":{i % 100000},'
    f'"channel":"channel-{i % 10}","url":"https://nx.io/{i % 9999:04x}/i.htm"}}'.encode()
    for i in range(rows)], pa.binary())
conf = {"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": "all",
        "delivery.report.only.error": True}
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
if mode == "confluent":
    from confluent_kafka import Producer
    p = Producer({**conf, "on_delivery": lambda err, msg: None})
    c0, t0 = cpu(), time.perf_counter()
    for start in range(0, rows, batch):
        produce = p.produce
        for v in values.slice(start, batch).to_pylist():
            try:
                produce(topic, v)
            except BufferError:
                while True:
                    p.poll(0.1)
                    try:
                        produce(topic, v)
                        break
                    except BufferError:
                        pass
        p.poll(0)
    left = p.flush(120)
else:
    from connectors.kafka import native
    mod = native.module("_producer")
    p = mod.Producer({k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in conf.items()})
    c0, t0 = cpu(), time.perf_counter()
    for start in range(0, rows, batch):
        p.produce(topic, values.slice(start, batch))
    c_q = cpu()
    left = p.flush(120_000)
    print("queue-full wait ms", p.queue_full_ms(), "cpu to enqueue", c_q - c0, file=sys.stderr)
c1, t1 = cpu(), time.perf_counter()
assert left == 0, left
print(json.dumps({"mode": mode, "cpu_s": c1 - c0, "wall_s": t1 - t0,
                  "bytes": (values.nbytes - 4 * rows) / rows}))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=8192)
    ap.add_argument("--modes", default="confluent,native")
    ap.add_argument("--cpu", type=int, default=1)
    ap.add_argument("--no-pin", dest="cpu", action="store_const", const=None)
    args = ap.parse_args()
    from connectors.kafka import broker as kafka_broker

    broker = kafka_broker.start()
    try:
        for mode in args.modes.split(","):
            topic = f"produce-{mode}-{os.getpid()}"
            kafka_broker.create_topics(broker.bootstrap, [f"{topic}:1"])
            cmd = [sys.executable, "-c", CHILD, mode, broker.bootstrap, topic, str(args.rows),
                   str(args.batch)]
            if args.cpu is not None:
                cmd = ["taskset", "-c", str(args.cpu), *cmd]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT,
                                 env=dict(os.environ, PYTHONPATH=str(ROOT)))
            if out.stderr.strip():
                print(out.stderr.strip().splitlines()[-1], flush=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            r["us_cpu_per_msg"] = round(r["cpu_s"] / args.rows * 1e6, 3)
            r["msgs_per_cpu_s"] = round(args.rows / r["cpu_s"])
            print(json.dumps(r), flush=True)
            time.sleep(1)
    finally:
        broker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
