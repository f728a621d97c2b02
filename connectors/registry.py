"""The connector registry: ``'connector' = '<identifier>'`` → :class:`ConnectorFactory`.

Contract:
- Built-in connectors are listed explicitly in :data:`BUILTIN` (identifier → ``module:Class``,
  imported on first use so that listing connectors stays cheap).
- Plugins register through the ``flowsql.connectors`` entry-point group; an entry point's
  name is the identifier and it loads a factory class (or instance). Built-ins win on a clash.
- :func:`get_factory` raises ``ConnectorError`` listing the available connectors for an unknown
  identifier; :func:`factory_for` reads a table's ``connector`` option (a missing one is a clear
  ``ConnectorError``); :func:`validate_table` does both and validates the options.
- Connectors that FlowSQL knows but has not built yet (:data:`PLANNED`) raise
  ``NotSupportedError``. Nothing registers itself.
"""

from __future__ import annotations

import difflib
import importlib
from importlib.metadata import entry_points
from typing import Any

from catalog.table import TableDefinition
from connectors.base import ConnectorFactory
from flowsql.errors import ConnectorError, NotSupportedError

ENTRY_POINT_GROUP = "flowsql.connectors"

BUILTIN: dict[str, str] = {
    "filesystem": "connectors.filesystem.factory:FilesystemFactory",
    "datagen": "connectors.datagen.factory:DatagenFactory",
    "print": "connectors.print.factory:PrintFactory",
    "blackhole": "connectors.blackhole.factory:BlackholeFactory",
    "nexmark": "connectors.nexmark.factory:NexmarkFactory",
    "kafka": "connectors.kafka.factory:KafkaFactory",
    "upsert-kafka": "connectors.kafka.upsert:UpsertKafkaFactory",
}

# Known Flink connectors that will be added later.
PLANNED: frozenset[str] = frozenset()


def _load(target: str) -> ConnectorFactory:
    module_name, _, attr = target.partition(":")
    obj = getattr(importlib.import_module(module_name), attr)
    return obj() if isinstance(obj, type) else obj


def _plugins() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available_connectors() -> list[str]:
    """Identifiers of every connector that can be used now (built-in and plugins), sorted."""
    return sorted(set(BUILTIN) | set(_plugins()))


def get_factory(identifier: str) -> ConnectorFactory:
    """The factory for ``identifier``; unknown identifiers list the available connectors."""
    if identifier in BUILTIN:
        return _load(BUILTIN[identifier])
    plugin = _plugins().get(identifier)
    if plugin is not None:
        try:
            obj = plugin.load()
            return obj() if isinstance(obj, type) else obj
        except Exception as exc:  # a broken plugin must not surface as a raw exception
            raise ConnectorError(
                f"Connector plugin '{identifier}' ({plugin.value}) failed to load: {exc}"
            ) from exc
    if identifier in PLANNED:
        raise NotSupportedError(f"connector '{identifier}'")
    available = available_connectors()
    close = difflib.get_close_matches(identifier, available, n=1)
    hint = f"Did you mean '{close[0]}'? " if close else ""
    raise ConnectorError(
        f"Unknown connector '{identifier}'",
        hint=hint + "Available connectors: " + ", ".join(available),
    )


def factory_for(table: TableDefinition) -> ConnectorFactory:
    """The factory named by ``table.options['connector']``."""
    identifier = table.options.get("connector")
    if not identifier:
        raise ConnectorError(
            f"Table {table.name} has no 'connector' option",
            hint="Add WITH ('connector' = '...'); available connectors: "
            + ", ".join(available_connectors()),
        )
    return get_factory(identifier)


def validate_table(table: TableDefinition) -> tuple[ConnectorFactory, dict[str, Any]]:
    """Resolve the table's factory and validate its options; returns both."""
    factory = factory_for(table)
    return factory, factory.validate(table)
