"""The gateway's Prometheus metrics (``GET /metrics``), read from its SessionManager.

Contract: :func:`registry` builds a registry whose collector reads the manager at each
scrape (no counters kept on the request path):
- ``flowsql_gateway_sessions`` (gauge): open sessions;
- ``flowsql_gateway_operations`` (gauge, label ``status``): the open sessions' operations
  by Flink status (PENDING, RUNNING, FINISHED, ...; closed operations are gone);
- the process's own RSS, CPU and open files (prometheus-client's ProcessCollector).
"""

from __future__ import annotations

from collections import Counter

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.core import GaugeMetricFamily

from flowsql.gateway.sessions import SessionManager


class _SessionCollector:
    def __init__(self, manager: SessionManager) -> None:
        self.manager = manager

    def collect(self):
        sessions = self.manager.sessions()
        yield GaugeMetricFamily("flowsql_gateway_sessions", "Open gateway sessions.",
                                value=len(sessions))
        ops = GaugeMetricFamily("flowsql_gateway_operations",
                                "Operations of the open sessions, by status.",
                                labels=["status"])
        counts = Counter(op.status.value for s in sessions for op in list(s.operations.values()))
        for status, n in sorted(counts.items()):
            ops.add_metric([status], n)
        yield ops


def registry(manager: SessionManager) -> CollectorRegistry:
    reg = CollectorRegistry()
    reg.register(_SessionCollector(manager))
    ProcessCollector(registry=reg)
    return reg
