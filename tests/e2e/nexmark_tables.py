"""The nexmark source (20,000 events) and its ``bid`` view, shared by the Nexmark-shaped
end-to-end tests; :func:`public_suite` loads the public suite's DDL and query texts
(``tests/sql/nexmark_sql.py``)."""

import importlib.util
from pathlib import Path

DDL = """
CREATE TABLE datagen (
  event_type INT,
  bid ROW<auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, dateTime TIMESTAMP(3)>,
  dateTime AS bid.dateTime,
  WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND
) WITH ('connector' = 'nexmark', 'events.num' = '20000', 'first-event.rate' = '2000',
        'next-event.rate' = '2000')
"""
VIEW = ("CREATE VIEW bid AS SELECT bid.auction AS auction, bid.bidder AS bidder, bid.price AS price, "
        "bid.channel AS channel, dateTime FROM datagen WHERE event_type = 2")


def public_suite() -> tuple[str, dict[str, str]]:
    """``(DDL, QUERIES)`` of ``tests/sql/nexmark_sql.py`` (each query an ``INSERT INTO``)."""
    path = Path(__file__).resolve().parents[1] / "sql" / "nexmark_sql.py"
    spec = importlib.util.spec_from_file_location("nexmark_sql", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module.DDL, module.QUERIES
