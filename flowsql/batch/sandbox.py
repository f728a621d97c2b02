"""A locked-down, in-process DuckDB connection per batch statement.

Contract: ``Sandbox(scans)`` opens a fresh in-memory DuckDB connection in which SQL can read
only the connector scans it was given and the files those scans declare:

1. open ``duckdb.connect(':memory:')`` with ``autoinstall_known_extensions`` and
   ``autoload_known_extensions`` off (no extension downloads or loads), ``TimeZone = 'UTC'``;
2. register every scan under its name: ``BatchScan.duckdb_sql`` as a temporary view
   (``CREATE TEMP VIEW __scan_0 AS SELECT * FROM read_parquet([...])``), ``BatchScan.arrow``
   data with ``register`` (a reader used by several references is read once into a table);
3. allow exactly the scans' ``allowed_paths`` (directories → ``allowed_directories`` with a
   trailing ``/``, files → ``allowed_paths``), then ``SET enable_external_access = false``
   (no other file, no COPY/ATTACH/INSTALL/LOAD, no Python replacement scans) and
   ``SET lock_configuration = true`` so SQL cannot turn any of it back on.

DuckDB 2.0 refuses ``allowed_directories`` in the ``connect`` config ("cannot set before the
database is started"), hence the SET statements after start-up. The views are re-bound when
queried, after the lock, so reading their files goes through the allow-list too.
``interrupt()`` cancels the running statement (used as the session's cancel hook).

Statements whose scans are all Arrow data and name no file (datagen, nexmark, VALUES, ...)
do not need a database of their own: they get a cursor of one process-wide in-memory
database, opened once and locked the same way with no file allowed at all (a cursor is a
connection of its own: its registered scans and temporary views are invisible to other
cursors). Opening a database costs ~15 ms, a cursor ~1 ms; a point query through the gateway
was 24 ms of CPU, three quarters of it opening and closing its sandbox. The shared database
only ever runs the planner's queries over the registered scans.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable

import duckdb
import pyarrow as pa

from flowsql.batch.relations import ScanBinding
from flowsql.errors import ConnectorError


def _sql_list(items: Iterable[str]) -> str:
    return "[" + ", ".join("'" + i.replace("'", "''") + "'" for i in items) + "]"


_CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
_shared: duckdb.DuckDBPyConnection | None = None
_shared_lock = threading.Lock()


def _shared_database() -> duckdb.DuckDBPyConnection:
    """The process-wide database for scans that read no file (locked, no file allowed)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            con = duckdb.connect(":memory:", config=dict(_CONFIG))
            con.execute("SET GLOBAL TimeZone = 'UTC'")
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
            _shared = con
        return _shared


class Sandbox:
    """One DuckDB connection with the given scans registered and file access locked down."""

    def __init__(self, scans: list[ScanBinding], *, threads: int | None = None) -> None:
        own = bool(threads) or any(b.scan.duckdb_sql is not None or b.scan.allowed_paths
                                   for b in scans)  # a database of its own, else a cursor
        if own:
            config = dict(_CONFIG, **({"threads": threads} if threads else {}))
            self.con = duckdb.connect(":memory:", config=config)
        else:
            self.con = _shared_database().cursor()
        try:
            if own:
                self.con.execute("SET TimeZone = 'UTC'")
            self._register(scans)
            if own:
                self._lock(path for s in scans for path in s.scan.allowed_paths)
        except BaseException:
            self.con.close()
            raise

    def _register(self, scans: list[ScanBinding]) -> None:
        for binding in scans:
            scan = binding.scan
            if scan.duckdb_sql is not None:
                try:
                    self.con.execute(
                        f'CREATE TEMP VIEW "{binding.name}" AS SELECT * FROM {scan.duckdb_sql}'
                    )
                except duckdb.Error as e:
                    raise ConnectorError(
                        f"cannot read table {binding.table.name}: {str(e).splitlines()[0]}"
                    ) from e
            else:
                data = scan.arrow() if scan.arrow is not None else None
                if isinstance(data, pa.RecordBatchReader) and binding.references > 1:
                    data = data.read_all()
                if not isinstance(data, pa.Table | pa.RecordBatchReader):
                    raise ConnectorError(f"connector scan of {binding.table.name} returned no Arrow data")
                self.con.register(binding.name, data)

    def _lock(self, paths: Iterable[str]) -> None:
        dirs: list[str] = []
        files: list[str] = []
        for p in paths:
            real = os.path.abspath(p)
            if os.path.isdir(real):
                dirs.append(real.rstrip("/") + "/")
            else:
                files.append(real)
        if dirs:
            self.con.execute(f"SET allowed_directories = {_sql_list(dirs)}")
        if files:
            self.con.execute(f"SET allowed_paths = {_sql_list(files)}")
        self.con.execute("SET enable_external_access = false")
        self.con.execute("SET lock_configuration = true")

    def interrupt(self) -> None:
        self.con.interrupt()

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
