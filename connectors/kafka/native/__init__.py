"""The Kafka connector's compiled modules over librdkafka's C API, and how they are bound.

``_consumer`` and ``_producer`` are C extension modules (``setup.py``; optional, so a machine
without a C compiler still installs FlowSQL) that call librdkafka directly, declared in
``rdkafka_api.h`` and bound at run time to the librdkafka shared object that confluent-kafka
ships (the same file its own extension loaded, so one librdkafka serves the process).

:func:`module` returns a bound module, or None when it cannot be used: not built, no
librdkafka found, or ``FLOWSQL_KAFKA_NATIVE=0`` in the environment (the switch for A/B
measurements and for testing the fallback). Callers then take the confluent-kafka path.
"""

from __future__ import annotations

import ctypes.util
import importlib
import logging
import os
from functools import cache
from pathlib import Path
from types import ModuleType

log = logging.getLogger(__name__)


@cache
def librdkafka_path() -> str | None:
    """The librdkafka shared object confluent-kafka loads (its wheel's bundled copy), else
    the system's, else None."""
    try:
        import confluent_kafka
    except ImportError:
        return None
    libs = Path(confluent_kafka.__file__).resolve().parent.parent / "confluent_kafka.libs"
    found = sorted(libs.glob("librdkafka*.so*")) if libs.is_dir() else []
    if found:
        return str(found[0])
    return ctypes.util.find_library("rdkafka")


@cache
def module(name: str) -> ModuleType | None:
    """``connectors.kafka.native.<name>`` bound to librdkafka, or None (module contract)."""
    if os.environ.get("FLOWSQL_KAFKA_NATIVE", "1") == "0":
        return None
    try:
        mod = importlib.import_module(f"{__name__}.{name}")
    except ImportError as exc:
        log.info("Kafka: native module %s not built (%s); using confluent-kafka", name, exc)
        return None
    path = librdkafka_path()
    if path is None:
        log.info("Kafka: no librdkafka found for %s; using confluent-kafka", name)
        return None
    try:
        mod.bind(path)
    except OSError as exc:
        log.warning("Kafka: native module %s cannot bind %s (%s); using confluent-kafka",
                    name, path, exc)
        return None
    return mod
