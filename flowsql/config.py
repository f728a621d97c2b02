"""Where FlowSQL keeps its files, and the session configuration that ``SET``/``RESET`` change.

Contract:
- :func:`flowsql_home` is ``$FLOWSQL_HOME`` or ``~/.flowsql``; it is created on first use and
  holds the catalog store (``catalog.db``), shell history and local state.
- :class:`SessionConfig` maps Flink-style keys to string values. Known keys (below) are
  validated when set and carry defaults; unknown keys are accepted as Flink does (connectors
  and later features read them), and ``SET`` lists every key that differs from its default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from flowsql.errors import ValidationError


def flowsql_home() -> Path:
    """Return (and create) the FlowSQL home directory."""
    home = Path(os.environ.get("FLOWSQL_HOME") or Path.home() / ".flowsql").expanduser()
    home.mkdir(parents=True, exist_ok=True)
    return home


CATALOG_KIND = "table.catalog.default.kind"


@dataclass(frozen=True)
class ConfigOption:
    key: str
    default: str
    description: str
    choices: tuple[str, ...] = ()


KNOWN_OPTIONS: dict[str, ConfigOption] = {
    o.key: o
    for o in [
        ConfigOption(
            "execution.runtime-mode",
            "streaming",
            "Run queries as continuous jobs (streaming) or on DuckDB over bounded input (batch).",
            ("streaming", "batch"),
        ),
        ConfigOption(
            "sql-client.execution.result-mode",
            "table",
            "How the shell shows a streaming SELECT.",
            ("table", "changelog", "tableau"),
        ),
        ConfigOption("table.dml-sync", "false", "Wait for INSERT jobs to finish.", ("true", "false")),
        ConfigOption("parallelism.default", "1", "Default parallelism of operators."),
        ConfigOption("table.local-time-zone", "UTC", "Session time zone for TIMESTAMP_LTZ."),
        ConfigOption(
            "table.exec.source.idle-timeout",
            "0 ms",
            "A source split with no data for this long is marked idle (0 = never).",
        ),
        ConfigOption("table.exec.mini-batch.enabled", "false", "Buffer input for aggregation.", ("true", "false")),
        ConfigOption("table.exec.mini-batch.allow-latency", "0 ms", "Flush mini-batches at least this often."),
        ConfigOption("table.exec.mini-batch.size", "32768", "Flush mini-batches at this many rows."),
        ConfigOption(
            "table.optimizer.reuse-source-enabled",
            "true",
            "Scans of one table with the same options and watermark in one job share one source "
            "operator (a self-join, a table read twice, the INSERTs of a statement set).",
            ("true", "false"),
        ),
        ConfigOption(
            "table.optimizer.reuse-sub-plan-enabled",
            "true",
            "Structurally identical sub-plans of one job (the same aggregate subquery used twice, "
            "as in Nexmark q5) run once and fan their output out to every consumer. Sub-plans "
            "that read a source are shared only with 'table.optimizer.reuse-source-enabled'.",
            ("true", "false"),
        ),
        ConfigOption("pipeline.name", "", "Name of the next submitted job."),
        ConfigOption(
            "execution.target",
            "local",
            "Where streaming jobs run: the embedded MiniCluster (local) or a cluster (remote).",
            ("local", "remote"),
        ),
        ConfigOption(
            "execution.embedded.parallelism",
            "clamp",
            "Embedded target: 'clamp' runs every job at parallelism 1 (subtasks as threads share "
            "one interpreter, so more of them is slower, not faster), 'threads' runs the "
            "configured parallelism as threads (tests of the exchange paths).",
            ("clamp", "threads"),
        ),
        ConfigOption("jobmanager.address", "", "HOST:PORT of the cluster's JobManager (remote target)."),
        ConfigOption(
            "slot.request.timeout",
            "300 s",
            "How long a job on a cluster waits for free task slots before it fails.",
        ),
        ConfigOption(
            "table.catalog.default.kind",
            "persistent",
            "Where the default catalog keeps its tables: 'persistent' (FLOWSQL_HOME/catalog.db, "
            "kept across sessions) or 'memory' (Flink's GenericInMemoryCatalog: gone when the "
            "session ends, so scripts that start with CREATE TABLE can be rerun). "
            "`flowsql shell --catalog memory` sets it.",
            ("persistent", "memory"),
        ),
        ConfigOption(
            "python.files",
            "",
            "Comma-separated Python files or directories whose folders are added to the module "
            "search path of Python UDFs (CREATE FUNCTION ... AS 'module.attr'), as in Flink.",
        ),
        ConfigOption("sql-client.verbose", "false", "Show full tracebacks for errors.", ("true", "false")),
    ]
}


class SessionConfig:
    """Session-scoped key/value settings with Flink's SET/RESET semantics."""

    def __init__(self, initial: dict[str, str] | None = None) -> None:
        self._values: dict[str, str] = {}
        for k, v in (initial or {}).items():
            self.set(k, v)

    def set(self, key: str, value: str) -> None:
        option = KNOWN_OPTIONS.get(key)
        if option and option.choices and value.lower() not in option.choices:
            raise ValidationError(
                f"invalid value '{value}' for '{key}'",
                hint="valid values: " + ", ".join(option.choices),
            )
        self._values[key] = value.lower() if option and option.choices else value

    def reset(self, key: str | None = None) -> None:
        if key is None:
            self._values.clear()
        else:
            self._values.pop(key, None)

    def get(self, key: str, default: str | None = None) -> str | None:
        if key in self._values:
            return self._values[key]
        if key in KNOWN_OPTIONS:
            return KNOWN_OPTIONS[key].default
        return default

    def get_bool(self, key: str) -> bool:
        return (self.get(key) or "false").lower() == "true"

    def items(self) -> dict[str, str]:
        """Every key set in this session (known defaults are not listed)."""
        return dict(sorted(self._values.items()))

    @property
    def batch_mode(self) -> bool:
        return self.get("execution.runtime-mode") == "batch"
