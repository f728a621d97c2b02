"""The persistent catalog store: one SQLite file (``$FLOWSQL_HOME/catalog.db``).

Why SQLite (the standard library's ``sqlite3``) rather than hand-written JSON files: it gives
atomic, crash-safe transactions (rollback journal + fsync), so a process killed in the middle
of a DDL leaves the object wholly present or wholly absent, and concurrent processes on the
same home (shell + gateway) are serialized by its file locks; it needs no extra dependency.

Contract:
- Schema (version :data:`SCHEMA_VERSION`, recorded in ``meta``): ``catalogs(name)``,
  ``databases(catalog, name, comment)``, ``objects(catalog, database, name, kind, definition)``
  where ``definition`` is the object's ``to_json()`` as JSON text. Names are compared exactly
  (case-sensitive, as in Flink); case-insensitive fallbacks live in :mod:`catalog.catalog`.
- Opening an empty or missing file creates the schema with catalog ``default_catalog`` and its
  database ``default_database`` in one transaction.
- Opening a file that is not a SQLite database, has a foreign or newer schema, or holds an
  object whose JSON does not decode to a complete definition raises ``CatalogError`` naming
  the path, with a hint to move the file aside. The store never silently resets.
- Every mutating method is one ``BEGIN IMMEDIATE … COMMIT`` transaction that re-checks its
  preconditions inside the transaction, so a concurrent writer cannot slip in between.
- Read methods decode on each call (no cache), so several sessions/processes see each other's
  changes. Any ``sqlite3`` error is re-raised as ``CatalogError``.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from catalog.table import CatalogObject, object_from_json
from flowsql.errors import CatalogError

SCHEMA_VERSION = 1
DEFAULT_CATALOG = "default_catalog"
DEFAULT_DATABASE = "default_database"

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS catalogs (name TEXT PRIMARY KEY)",
    "CREATE TABLE IF NOT EXISTS databases ("
    " catalog TEXT NOT NULL REFERENCES catalogs(name),"
    " name TEXT NOT NULL, comment TEXT,"
    " PRIMARY KEY (catalog, name))",
    "CREATE TABLE IF NOT EXISTS objects ("
    " catalog TEXT NOT NULL, database TEXT NOT NULL, name TEXT NOT NULL,"
    " kind TEXT NOT NULL CHECK (kind IN ('table', 'view')), definition TEXT NOT NULL,"
    " PRIMARY KEY (catalog, database, name))",
)
_EXPECTED_COLUMNS = {
    "meta": {"key", "value"},
    "catalogs": {"name"},
    "databases": {"catalog", "name", "comment"},
    "objects": {"catalog", "database", "name", "kind", "definition"},
}
_MOVE_ASIDE = (
    "move the file aside (e.g. rename it to catalog.db.bak) to start with an empty catalog"
)


class CatalogStore:
    """Transactional access to the catalog file (see module contract)."""

    def __init__(self, path: str | Path, *, timeout: float = 10.0) -> None:
        """Open (creating if needed) the store; ``timeout`` is how long a write waits for
        another process's transaction before failing with ``CatalogError``."""
        self.path = Path(path)
        self._lock = threading.RLock()
        try:
            if str(path) != ":memory:":  # SQLite's in-memory database: nothing on disk
                self.path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: autocommit; transactions are opened explicitly below.
            self._conn = sqlite3.connect(
                str(self.path), isolation_level=None, check_same_thread=False, timeout=timeout
            )
        except (OSError, sqlite3.Error) as e:
            raise CatalogError(
                f"cannot open the catalog store {self.path}: {e}",
                hint="check that FLOWSQL_HOME is a writable directory",
            ) from e
        try:
            self._conn.execute("PRAGMA synchronous = FULL")
            self._conn.execute("PRAGMA foreign_keys = ON")
            self._initialize()
            self._verify()
        except CatalogError:
            self._conn.close()
            raise
        except sqlite3.Error as e:
            self._conn.close()
            raise CatalogError(
                f"the catalog store {self.path} is unreadable or corrupt: {e}", hint=_MOVE_ASIDE
            ) from e

    # -- opening -------------------------------------------------------------------------
    def _initialize(self) -> None:
        """Create the schema and the default catalog/database if the file is new; add the
        ``functions`` table (user-defined functions, :mod:`catalog.functions`) to a store
        written before it existed.

        An existing, complete store is only read here: every session of a gateway opens the
        store, and a write lock per open would queue them behind each other for nothing."""
        from catalog.functions import FUNCTIONS_DDL

        with self._read() as conn:
            tables = self._table_names(conn)
            if tables and ("functions" in tables or "objects" not in tables):
                return  # complete, or not a FlowSQL store (_verify says so)
        with self._tx() as conn:
            tables = self._table_names(conn)  # re-checked: another opener may have won
            if tables and "functions" not in tables and "objects" in tables:
                conn.execute(FUNCTIONS_DDL)
            if not tables:
                for ddl in _SCHEMA:
                    conn.execute(ddl)
                conn.execute(FUNCTIONS_DDL)
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
                conn.execute("INSERT INTO catalogs (name) VALUES (?)", (DEFAULT_CATALOG,))
                conn.execute(
                    "INSERT INTO databases (catalog, name, comment) VALUES (?, ?, NULL)",
                    (DEFAULT_CATALOG, DEFAULT_DATABASE),
                )

    def _verify(self) -> None:
        """Check schema and version, and that every stored object decodes completely."""
        conn = self._conn
        if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise CatalogError(
                f"the catalog store {self.path} is corrupt (SQLite integrity check failed)",
                hint=_MOVE_ASIDE,
            )
        tables = self._table_names(conn)
        for table, columns in _EXPECTED_COLUMNS.items():
            found = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
            if table not in tables or not columns <= found:
                raise CatalogError(
                    f"{self.path} is a SQLite database but not a FlowSQL catalog store "
                    f"(table '{table}' is missing or has other columns)",
                    hint=_MOVE_ASIDE,
                )
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        try:
            version = int(row[0]) if row else None
        except ValueError:
            version = None
        if version is None:
            raise CatalogError(
                f"the catalog store {self.path} has no valid schema version", hint=_MOVE_ASIDE
            )
        if version != SCHEMA_VERSION:
            raise CatalogError(
                f"the catalog store {self.path} has schema version {version}; "
                f"this FlowSQL reads version {SCHEMA_VERSION}",
                hint="use the FlowSQL version that wrote it, or " + _MOVE_ASIDE,
            )
        for catalog, database, name, kind, text in conn.execute(
            "SELECT catalog, database, name, kind, definition FROM objects"
        ):
            self._decode(catalog, database, name, kind, text)

    @staticmethod
    def _table_names(conn: sqlite3.Connection) -> set[str]:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        return {r[0] for r in rows}

    def _decode(
        self, catalog: str, database: str, name: str, kind: str, text: str
    ) -> CatalogObject:
        where = f"`{catalog}`.`{database}`.`{name}`"
        try:
            data: Any = json.loads(text)
            obj = object_from_json(data)
        except (ValueError, TypeError, KeyError, AttributeError) as e:
            raise CatalogError(
                f"the catalog store {self.path} holds an undecodable definition of {where}: {e}",
                hint=_MOVE_ASIDE,
            ) from e
        if obj.kind != kind or (obj.name.catalog, obj.name.database, obj.name.name) != (
            catalog,
            database,
            name,
        ):
            raise CatalogError(
                f"the catalog store {self.path} holds an inconsistent definition of {where}",
                hint=_MOVE_ASIDE,
            )
        return obj

    # -- transactions --------------------------------------------------------------------
    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: BEGIN IMMEDIATE takes the write lock up front."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as e:
                raise self._error(e) from e
            try:
                yield self._conn
            except BaseException as e:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                if isinstance(e, sqlite3.Error):
                    raise self._error(e) from e
                raise
            else:
                try:
                    self._conn.execute("COMMIT")
                except sqlite3.Error as e:
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                    raise self._error(e) from e

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._conn
            except sqlite3.Error as e:
                raise self._error(e) from e

    def _error(self, e: sqlite3.Error) -> CatalogError:
        if "locked" in str(e) or "busy" in str(e):
            return CatalogError(
                f"the catalog store {self.path} is locked by another session or process",
                hint="retry when the other FlowSQL session or process has finished its DDL",
            )
        return CatalogError(f"catalog store {self.path}: {e}", hint=_MOVE_ASIDE)

    # -- catalogs and databases ----------------------------------------------------------
    def list_catalogs(self) -> list[str]:
        with self._read() as conn:
            return [r[0] for r in conn.execute("SELECT name FROM catalogs ORDER BY name")]

    def list_databases(self, catalog: str) -> list[str]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT name FROM databases WHERE catalog = ? ORDER BY name", (catalog,)
            )
            return [r[0] for r in rows]

    def database_comment(self, catalog: str, database: str) -> str | None:
        with self._read() as conn:
            row = conn.execute(
                "SELECT comment FROM databases WHERE catalog = ? AND name = ?", (catalog, database)
            ).fetchone()
            return row[0] if row else None

    def create_database(self, catalog: str, database: str, comment: str | None = None) -> bool:
        """Create a database; False (and no change) if it already exists."""
        with self._tx() as conn:
            if not conn.execute("SELECT 1 FROM catalogs WHERE name = ?", (catalog,)).fetchone():
                raise CatalogError(f"Catalog '{catalog}' does not exist")
            exists = conn.execute(
                "SELECT 1 FROM databases WHERE catalog = ? AND name = ?", (catalog, database)
            ).fetchone()
            if exists:
                return False
            conn.execute(
                "INSERT INTO databases (catalog, name, comment) VALUES (?, ?, ?)",
                (catalog, database, comment),
            )
            return True

    def drop_database(self, catalog: str, database: str, *, cascade: bool = False) -> bool:
        """Drop a database (and with ``cascade`` its objects); False if it does not exist."""
        with self._tx() as conn:
            exists = conn.execute(
                "SELECT 1 FROM databases WHERE catalog = ? AND name = ?", (catalog, database)
            ).fetchone()
            if not exists:
                return False
            count = conn.execute(
                "SELECT COUNT(*) FROM objects WHERE catalog = ? AND database = ?",
                (catalog, database),
            ).fetchone()[0]
            if count and not cascade:
                raise CatalogError(
                    f"Cannot drop non-empty database '{database}' (use CASCADE)",
                    hint=f"it holds {count} table(s)/view(s)",
                )
            conn.execute(
                "DELETE FROM objects WHERE catalog = ? AND database = ?", (catalog, database)
            )
            conn.execute(
                "DELETE FROM databases WHERE catalog = ? AND name = ?", (catalog, database)
            )
            return True

    # -- tables and views ----------------------------------------------------------------
    def list_objects(self, catalog: str, database: str) -> list[tuple[str, str]]:
        """``(name, kind)`` of every object in a database, sorted by name."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT name, kind FROM objects WHERE catalog = ? AND database = ? ORDER BY name",
                (catalog, database),
            )
            return [(r[0], r[1]) for r in rows]

    def get_object(self, catalog: str, database: str, name: str) -> CatalogObject | None:
        with self._read() as conn:
            row = conn.execute(
                "SELECT kind, definition FROM objects"
                " WHERE catalog = ? AND database = ? AND name = ?",
                (catalog, database, name),
            ).fetchone()
        if row is None:
            return None
        return self._decode(catalog, database, name, row[0], row[1])

    def put_object(self, obj: CatalogObject) -> bool:
        """Insert a table or view; False (and no change) if the name is taken."""
        n = obj.name
        text = json.dumps(obj.to_json(), ensure_ascii=False, sort_keys=False)
        with self._tx() as conn:
            db = conn.execute(
                "SELECT 1 FROM databases WHERE catalog = ? AND name = ?", (n.catalog, n.database)
            ).fetchone()
            if not db:
                raise CatalogError(f"Database '{n.database}' not found in catalog '{n.catalog}'")
            taken = conn.execute(
                "SELECT 1 FROM objects WHERE catalog = ? AND database = ? AND name = ?",
                (n.catalog, n.database, n.name),
            ).fetchone()
            if taken:
                return False
            conn.execute(
                "INSERT INTO objects (catalog, database, name, kind, definition)"
                " VALUES (?, ?, ?, ?, ?)",
                (n.catalog, n.database, n.name, obj.kind, text),
            )
            return True

    def delete_object(self, catalog: str, database: str, name: str, kind: str) -> bool:
        """Delete the object of that kind; False if there is none."""
        with self._tx() as conn:
            cur = conn.execute(
                "DELETE FROM objects WHERE catalog = ? AND database = ? AND name = ? AND kind = ?",
                (catalog, database, name, kind),
            )
            return cur.rowcount > 0

    def close(self) -> None:
        with self._lock:
            self._conn.close()
