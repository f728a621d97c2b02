"""Kafka in, Kafka out: FlowSQL against Apache Flink on the same topics, per CPU-second.

Usage::

    .venv/bin/python bench/kafka.py [--rows 2000000,8000000] [--queries q1_kafka,q5_tumble_count]
        [--engines flowsql,flink] [--cpu 1 | --no-pin]
        [--flink-python /tmp/flinkvenv/bin/python] [--json-out FILE]

What it does:
1. starts a local broker (``connectors/kafka/broker.py``, Kafka 4.4.0, KRaft, 127.0.0.1) and
   loads ``bids`` (one partition) with the larger size's JSON bid events (the columns of
   ``/work/shared/bench/flink/sql/bid_source.sql``: seq, auction, bidder, price, channel,
   url), timing the producer (confluent-kafka); then times a plain consumer reading them all
   (both for reference: what the client library itself does per second);
2. runs each query on each engine at both sizes, reading ``bids`` from the earliest offset
   to a bounded end (``scan.bounded.mode`` = ``specific-offsets`` at the size), so both
   engines read the very same records:
   - ``q1_kafka``: q1's projection (``price * 0.908``) written to a Kafka topic (json,
     a fresh topic per run);
   - ``q5_tumble_count``: a 10 s TUMBLE count per auction into ``blackhole``;
3. measures each run as ``bench/flink_compare.py`` does (pinned to one core, CPU-seconds of
   the whole process tree, peak RSS) and prints the marginal events per CPU-second between
   the two sizes, the ratio FlowSQL / Flink, and the producer's and consumer's own rates.

Sizes: 2 M and 8 M by default. Flink's start-up is not a constant its marginal cancels at
smaller sizes: its JIT compiler keeps working as more of the job runs hot (per-thread CPU of
the JVM on q1_kafka, 2026-12-03: C2 compiler threads 9.9 CPU-s at 1 M events, 17.7 at 4 M;
the source thread 4.7 and 19.5), so at 1 M / 3 M two runs gave Flink 136 K and 408 K events
per CPU-s.

Flink runs through the shared baseline's ``run_flink_sql.py`` with Flink's Kafka SQL
connector (``org.apache.flink:flink-sql-connector-kafka:5.0.0-2.2`` from Maven Central,
fetched into ``.cache/jars`` on first use) in ``pipeline.jars``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from flink_compare import DEFAULT_PYTHON, SHARED, bid_table, measure  # noqa: E402

from connectors.kafka import broker as kafka_broker  # noqa: E402

JAR = "org.apache.flink:flink-sql-connector-kafka:5.0.0-2.2"
JAR_FILE = ROOT / ".cache" / "jars" / "flink-sql-connector-kafka-5.0.0-2.2.jar"
TOPIC = "bids"


def source_sql(bootstrap: str, rows: int) -> str:
    return f"""
CREATE TABLE bid (
  seq BIGINT, auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR,
  date_time AS CAST(TO_TIMESTAMP_LTZ(seq, 3) AS TIMESTAMP(3)),
  WATERMARK FOR date_time AS date_time - INTERVAL '4' SECOND
) WITH (
  'connector' = 'kafka',
  'topic' = '{TOPIC}',
  'properties.bootstrap.servers' = '{bootstrap}',
  'properties.group.id' = 'bench-{uuid.uuid4().hex[:8]}',
  'scan.startup.mode' = 'earliest-offset',
  'scan.bounded.mode' = 'specific-offsets',
  'scan.bounded.specific-offsets' = 'partition:0,offset:{rows}',
  'format' = 'json'
);
"""


def query_sql(query: str, bootstrap: str, out_topic: str) -> str:
    if query == "q1_kafka":
        return f"""
CREATE TABLE sink_q1 (auction BIGINT, bidder BIGINT, price DECIMAL(23, 3), date_time TIMESTAMP(3))
WITH ('connector' = 'kafka', 'topic' = '{out_topic}',
      'properties.bootstrap.servers' = '{bootstrap}', 'format' = 'json');
INSERT INTO sink_q1 SELECT auction, bidder, price * 0.908 AS price, date_time FROM bid;
"""
    return (SHARED / "sql" / f"{query}.sql").read_text()


def ensure_jar() -> Path:
    if not JAR_FILE.exists():
        JAR_FILE.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mvn", "-q", "-B", "dependency:copy", f"-Dartifact={JAR}",
                        f"-DoutputDirectory={JAR_FILE.parent}"], check=True)
    return JAR_FILE


def load(bootstrap: str, rows: int) -> float:
    """Produce ``rows`` JSON bids; returns events/s of the producer."""
    from confluent_kafka import Producer

    table = bid_table(rows)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20,
                         "batch.num.messages": 10000, "queue.buffering.max.messages": 1_000_000,
                         "compression.type": "none"})
    started = time.perf_counter()
    for batch in table.to_batches(max_chunksize=100_000):
        # JSON lines for a whole batch at once (pyarrow's writer has no JSON; numbers and
        # hex strings need no escaping), then one produce call per message
        cols = batch.to_pydict()
        for s, a, b, p, c, u in zip(cols["seq"], cols["auction"], cols["bidder"], cols["price"],
                                    cols["channel"], cols["url"], strict=True):
            value = (f'{{"seq":{s},"auction":{a},"bidder":{b},"price":{p},'
                     f'"channel":"{c}","url":"{u}"}}')
            while True:
                try:
                    producer.produce(TOPIC, value.encode())
                    break
                except BufferError:
                    producer.poll(0.05)
        producer.poll(0)
    producer.flush(120)
    return rows / (time.perf_counter() - started)


def consume_rate(bootstrap: str, rows: int) -> float:
    from confluent_kafka import Consumer

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"rate-{uuid.uuid4().hex}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([TOPIC])
    seen = 0
    started = None
    while seen < rows:
        msgs = consumer.consume(10_000, timeout=5)
        if started is None and msgs:
            started = time.perf_counter()
        seen += sum(1 for m in msgs if m.error() is None)
    consumer.close()
    return rows / (time.perf_counter() - (started or time.perf_counter()))


def run(args, engine: str, query: str, rows: int, bootstrap: str, work: Path):
    out_topic = f"out-{uuid.uuid4().hex[:8]}"
    kafka_broker.create_topics(bootstrap, [out_topic])
    script = source_sql(bootstrap, rows) + query_sql(query, bootstrap, out_topic)
    env = dict(os.environ, FLOWSQL_HOME=str(work / f"home-{uuid.uuid4().hex[:6]}"))
    if engine == "flink":
        path = work / f"{query}-{rows}.flink.sql"
        path.write_text(script)
        cmd = [str(args.flink_python), str(SHARED / "run_flink_sql.py"), str(path),
               "--rows", str(rows), "-p", "1", "--set", f"pipeline.jars=file://{ensure_jar()}"]
    else:
        path = work / f"{query}-{rows}.flowsql.sql"
        path.write_text("SET 'parallelism.default' = '1';\nSET 'table.dml-sync' = 'true';\n"
                        "SET 'table.local-time-zone' = 'UTC';\n" + script)
        cmd = [str(ROOT / ".venv" / "bin" / "flowsql"), "shell", "-f", str(path)]
    if args.cpu is not None:
        cmd = ["taskset", "-c", str(args.cpu)] + cmd
    return measure(cmd, env, work)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", default="2000000,8000000", help="two sizes: SMALL,LARGE")
    ap.add_argument("--queries", default="q1_kafka,q5_tumble_count")
    ap.add_argument("--engines", default="flowsql,flink")
    ap.add_argument("--cpu", type=int, default=1)
    ap.add_argument("--no-pin", dest="cpu", action="store_const", const=None)
    ap.add_argument("--flink-python", type=Path, default=DEFAULT_PYTHON)
    ap.add_argument("--json-out", type=Path)
    args = ap.parse_args()
    small, large = (int(x) for x in args.rows.split(","))
    engines = args.engines.split(",")
    if "flink" in engines and not args.flink_python.exists():
        print(f"Flink is not installed at {args.flink_python}: see /work/shared/bench/README.md",
              file=sys.stderr)
        return 2
    load0 = os.getloadavg()
    broker = kafka_broker.start()
    results: list[dict] = []
    try:
        kafka_broker.create_topics(broker.bootstrap, [f"{TOPIC}:1"])
        produce = load(broker.bootstrap, large)
        consume = consume_rate(broker.bootstrap, large)
        print(json.dumps({"producer_events_per_s": round(produce),
                          "consumer_events_per_s": round(consume)}), flush=True)
        with tempfile.TemporaryDirectory(prefix="kafka-bench-") as tmp:
            work = Path(tmp)
            for query in args.queries.split(","):
                line: dict = {"query": query}
                for engine in engines:
                    runs = [run(args, engine, query, n, broker.bootstrap, work)
                            for n in (small, large)]
                    if not all(r.ok for r in runs):
                        line[engine] = {"error": next(r for r in runs if not r.ok).tail[-800:]}
                        continue
                    d_cpu = runs[1].cpu_s - runs[0].cpu_s
                    line[engine] = {
                        "cpu_s": [round(r.cpu_s, 2) for r in runs],
                        "wall_s": [round(r.wall_s, 2) for r in runs],
                        "events_per_cpu_s": round((large - small) / d_cpu) if d_cpu > 0 else None,
                        "peak_rss_mb": round(max(r.peak_rss_mb for r in runs)),
                    }
                rates = [line.get(e, {}).get("events_per_cpu_s") for e in ("flowsql", "flink")]
                line["ratio"] = round(rates[0] / rates[1], 2) if all(rates) else None
                print(json.dumps(line), flush=True)
                results.append(line)
    finally:
        broker.stop()
    load1 = os.getloadavg()
    print(f"\nrows {small:,} and {large:,}; pinned to cpu {args.cpu}; load {load0[0]:.2f} → "
          f"{load1[0]:.2f}; producer {produce:,.0f} events/s, consumer {consume:,.0f} events/s "
          f"(confluent-kafka, for reference)\n")
    print("| query | FlowSQL events/CPU-s | Flink events/CPU-s | ratio | peak RSS MB (FlowSQL / Flink) |")
    print("|---|---|---|---|---|")
    for line in results:
        cells = []
        for e in ("flowsql", "flink"):
            d = line.get(e, {})
            cells.append(f"{d['events_per_cpu_s']:,}" if d.get("events_per_cpu_s")
                         else "error" if "error" in d else "—")
        mem = " / ".join(str(line.get(e, {}).get("peak_rss_mb", "—")) for e in ("flowsql", "flink"))
        ratio = f"{line['ratio']}x" if line["ratio"] else "—"
        print(f"| {line['query']} | {cells[0]} | {cells[1]} | {ratio} | {mem} |")
    if args.json_out:
        args.json_out.write_text(json.dumps({"rows": [small, large], "load": [load0, load1],
                                             "producer_events_per_s": produce,
                                             "consumer_events_per_s": consume,
                                             "results": results}, indent=2))
    return 0



if __name__ == "__main__":
    sys.exit(main())
