"""Flink 1.x table options (``'connector.type'``, ``'connector.path'``, ``'format.type'`` …)
mapped to today's keys, so that old DDL (Nexmark q13, Flink 1.10-era scripts) still runs.

Contract of :func:`modernize` ``(options) -> (options, warnings)``:
- Only a table declared the old way is touched: ``connector.type`` given and ``connector``
  not. Otherwise the options come back unchanged with no warning (a stray ``connector.*``
  key beside ``connector`` is then an unsupported option, named by the connector's checks).
- ``connector.type`` → ``connector``; ``format.type`` → ``format``; the keys with a new name
  (:data:`RENAMED`, e.g. ``connector.startup-mode`` → ``scan.startup.mode``) are renamed;
  any other ``connector.<x>`` becomes ``<x>`` (``connector.path`` → ``path``,
  ``connector.properties.bootstrap.servers`` → ``properties.bootstrap.servers``) and
  ``format.<x>`` becomes ``<format>.<x>`` (``format.field-delimiter`` →
  ``csv.field-delimiter``). Keys that no longer mean anything (:data:`DROPPED`, e.g.
  ``connector.version``, ``update-mode``) are dropped. The connector then checks the result
  as usual, so a legacy key with no modern equivalent is named as an unsupported option.
- ``warnings`` holds one deprecation line naming every key that was mapped or dropped.
"""

from __future__ import annotations

from collections.abc import Mapping

RENAMED = {
    "connector.startup-mode": "scan.startup.mode",
    "connector.startup-timestamp-millis": "scan.startup.timestamp-millis",
    "connector.sink-partitioner": "sink.partitioner",
}
DROPPED = frozenset({
    "connector.version", "connector.property-version", "format.property-version",
    "format.derive-schema", "update-mode",
})


def modernize(options: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """Map Flink 1.x option keys to today's (see the module contract)."""
    if "connector.type" not in options or "connector" in options:
        return dict(options), []
    fmt = options.get("format.type")
    out: dict[str, str] = {}
    mapped: list[str] = []
    dropped: list[str] = []
    for key, value in options.items():
        if key in DROPPED:
            dropped.append(key)
            continue
        if key == "connector.type":
            new = "connector"
        elif key == "format.type":
            new = "format"
        elif key in RENAMED:
            new = RENAMED[key]
        elif key.startswith("connector."):
            new = key[len("connector."):]
        elif key.startswith("format.") and fmt:
            new = f"{fmt}.{key[len('format.'):]}"
        else:
            out[key] = value
            continue
        out[new] = value
        mapped.append(f"'{key}' → '{new}'")
    note = f"; dropped (no longer used): {', '.join(dropped)}" if dropped else ""
    warning = ("Flink 1.x table options are deprecated; they were recorded under today's "
               f"names: {', '.join(mapped)}{note}")
    return out, [warning]
