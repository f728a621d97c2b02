"""The session's view of the catalog: persistent store + TEMPORARY objects + current names.

API contract (used by the session handlers, the batch runner and the planner):
- ``Catalog(store_path)`` opens (creating if needed) the persistent store; a corrupt store
  raises ``CatalogError`` at start-up, never silently resets. ``Catalog(IN_MEMORY)`` keeps
  the store in memory (Flink's in-memory default catalog): it starts empty and is gone when
  closed. The "already exists" error's hint names the session option that selects it
  (:data:`MEMORY_CATALOG_HINT`).
- ``current_catalog`` / ``current_database``; ``use_catalog(name)``, ``use_database(name)``.
- ``resolve(parts) -> ObjectName``: 1-3 identifier parts completed with the current names.
- ``get(name_or_parts) -> TableDefinition | ViewDefinition``: TEMPORARY objects shadow
  persistent ones; unknown names raise ``CatalogError`` naming the object and listing the
  objects that do exist in that database (closest match first).
- ``create_table(defn, if_not_exists=False)``, ``create_view(defn, if_not_exists=False)``,
  ``drop_table(parts, if_exists=False, temporary=False)``, ``drop_view(...)``,
  ``create_database(parts, if_not_exists=False, comment=None)``,
  ``drop_database(parts, if_exists=False, cascade=False)``.
- ``list_catalogs()``, ``list_databases()``, ``list_tables()``, ``list_views()``
  (the current catalog/database; tables excludes views, both include temporaries).
- ``functions``: the user-defined functions (:class:`catalog.functions.Functions`).
- Every change to the persistent store is atomic: a process killed mid-DDL leaves the
  object wholly present or wholly absent.

Details and additions:
- Names are case-sensitive as in Flink; a catalog, database or object name that matches
  nothing exactly resolves to the unique case-insensitive match (several raise "ambiguous").
- ``find(name)`` is ``get`` returning None for an unknown object; ``exists(name)``;
  ``list_objects()`` gives ``(name, kind)`` of tables and views (what SHOW TABLES lists).
- The create/drop methods return False when IF [NOT] EXISTS made them a no-op.
- As in Flink, DROP TABLE of a name held by a TEMPORARY table fails with a hint to use DROP
  TEMPORARY TABLE; DROP TEMPORARY of a permanent object fails likewise. The current database
  and ``default_database`` cannot be dropped; DROP DATABASE ... CASCADE also drops this
  session's temporaries in it.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Sequence
from pathlib import Path

from catalog.functions import Functions
from catalog.store import DEFAULT_CATALOG, DEFAULT_DATABASE, CatalogStore
from catalog.table import CatalogObject, ObjectName, TableDefinition, ViewDefinition
from flowsql.errors import CatalogError

NameLike = ObjectName | str | Sequence[str]
_KIND_WORD = {"table": "Table", "view": "View"}


def split_identifier(text: str) -> tuple[str, ...]:
    """Split ``a.b.c`` / ```a`.`b.c``` into its parts (backquotes quote, ```` `` ```` escapes)."""
    parts: list[str] = []
    current: list[str] = []
    i, quoted = 0, False
    while i < len(text):
        ch = text[i]
        if ch == "`":
            if quoted and text[i + 1 : i + 2] == "`":
                current.append("`")
                i += 2
                continue
            quoted = not quoted
        elif ch == "." and not quoted:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current).strip())
    return tuple(parts)


def _similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a.lower(), b.lower()).ratio()


def ranked(name: str, names: Sequence[str], limit: int = 20) -> list[str]:
    """``names`` ordered closest-to-``name`` first (difflib ratio, case-insensitive)."""
    return sorted(set(names), key=lambda n: (-_similarity(name, n), n))[:limit]


def _pick(name: str, names: Sequence[str], what: str) -> str | None:
    """Exact match, else the unique case-insensitive match, else None (ambiguity raises)."""
    if name in names:
        return name
    matches = sorted({n for n in names if n.lower() == name.lower()})
    if len(matches) > 1:
        raise CatalogError(
            f"{what} name '{name}' is ambiguous: it matches {', '.join(repr(m) for m in matches)}",
            hint="names are case-sensitive; quote the exact name with backquotes",
        )
    return matches[0] if matches else None


def _parts(name: NameLike) -> tuple[str, ...]:
    if isinstance(name, ObjectName):
        return (name.catalog, name.database, name.name)
    if isinstance(name, str):
        return (name,)
    parts = tuple(name)
    if not 1 <= len(parts) <= 3 or not all(isinstance(p, str) and p for p in parts):
        raise CatalogError(f"invalid object name {'.'.join(map(str, parts)) or '(empty)'}")
    return parts


# How a session gets an in-memory default catalog (flowsql.config's table.catalog.default.kind).
MEMORY_CATALOG_HINT = (
    "start the shell with `flowsql shell --catalog memory` or "
    "SET 'table.catalog.default.kind' = 'memory'"
)
IN_MEMORY = ":memory:"


class Catalog:
    """A session's view of the catalog (see the module contract)."""

    def __init__(self, store_path: str | Path) -> None:
        self.store = CatalogStore(store_path)
        self._catalog = DEFAULT_CATALOG
        self._database = DEFAULT_DATABASE
        self._temporary: dict[ObjectName, CatalogObject] = {}
        self.functions = Functions(self)  # user-defined functions (catalog.functions)

    def take_temporaries(self, other: Catalog) -> None:
        """Share ``other``'s TEMPORARY objects (a session switching its default catalog)."""
        self._temporary = other._temporary
        self.functions.take_temporaries(other.functions)

    # -- current names -------------------------------------------------------------------
    @property
    def current_catalog(self) -> str:
        return self._catalog

    @property
    def current_database(self) -> str:
        return self._database

    def use_catalog(self, name: str) -> None:
        self._catalog = self._resolve_catalog(name)
        databases = self.store.list_databases(self._catalog)
        if self._database not in databases:
            self._database = DEFAULT_DATABASE

    def use_database(self, name: str | Sequence[str]) -> None:
        parts = (name,) if isinstance(name, str) else tuple(name)
        if len(parts) == 2:
            catalog, database = self._resolve_catalog(parts[0]), parts[1]
        elif len(parts) == 1:
            catalog, database = self._catalog, parts[0]
        else:
            raise CatalogError(f"invalid database name {'.'.join(parts)}")
        database = self._resolve_database(catalog, database)
        self._catalog, self._database = catalog, database

    # -- name resolution -----------------------------------------------------------------
    def _resolve_catalog(self, name: str) -> str:
        catalogs = self.store.list_catalogs()
        found = _pick(name, catalogs, "Catalog")
        if found is None:
            raise CatalogError(
                f"Catalog '{name}' does not exist",
                hint="existing catalogs: " + ", ".join(ranked(name, catalogs)),
            )
        return found

    def _resolve_database(self, catalog: str, name: str) -> str:
        databases = self.store.list_databases(catalog)
        found = _pick(name, databases, "Database")
        if found is None:
            raise CatalogError(
                f"Database '{name}' not found in catalog '{catalog}'",
                hint=(
                    "existing databases: " + ", ".join(ranked(name, databases))
                    if databases
                    else "create one with CREATE DATABASE"
                ),
            )
        return found

    def resolve(self, parts: NameLike) -> ObjectName:
        """Complete 1-3 parts with the current catalog/database; the catalog and database
        must exist (matched case-insensitively when the exact name does not)."""
        p = _parts(parts)
        catalog = self._resolve_catalog(p[0]) if len(p) == 3 else self._catalog
        database = p[-2] if len(p) >= 2 else self._database
        database = self._resolve_database(catalog, database)
        return ObjectName(catalog, database, p[-1])

    def _names_in(self, catalog: str, database: str) -> dict[str, str]:
        """name → kind of every object in a database; temporaries shadow persistent ones."""
        names = dict(self.store.list_objects(catalog, database))
        for n, obj in self._temporary.items():
            if n.catalog == catalog and n.database == database:
                names[n.name] = obj.kind
        return names

    def _find(self, name: ObjectName) -> CatalogObject | None:
        temp = self._temporary.get(name)
        if temp is not None:
            return temp
        obj = self.store.get_object(name.catalog, name.database, name.name)
        if obj is not None:
            return obj
        names = self._names_in(name.catalog, name.database)
        actual = _pick(name.name, list(names), "Object")
        if actual is None or actual == name.name:
            return None
        return self._find(ObjectName(name.catalog, name.database, actual))

    def _not_found(self, name: ObjectName, kind: str = "table") -> CatalogError:
        names = self._names_in(name.catalog, name.database)
        where = f"{name.catalog}.{name.database}"
        if not names:
            hint = f"there are no tables or views in {where}; create one with CREATE TABLE"
        else:
            order = ranked(name.name, list(names))
            hint = "existing tables and views: " + ", ".join(order)
            if _similarity(name.name, order[0]) >= 0.6:
                hint = f"did you mean '{order[0]}'? " + hint
        return CatalogError(f"{_KIND_WORD[kind]} '{name.name}' not found in {where}", hint=hint)

    def find(self, name: NameLike) -> CatalogObject | None:
        """Like :meth:`get` but returns None for an unknown object (database must exist)."""
        return self._find(self.resolve(name))

    def get(self, name: NameLike) -> CatalogObject:
        """The table or view named ``name`` (TEMPORARY objects shadow persistent ones)."""
        resolved = self.resolve(name)
        obj = self._find(resolved)
        if obj is None:
            raise self._not_found(resolved)
        return obj

    def exists(self, name: NameLike) -> bool:
        try:
            return self.find(name) is not None
        except CatalogError:
            return False

    # -- tables and views ----------------------------------------------------------------
    def create_table(self, defn: TableDefinition, if_not_exists: bool = False) -> bool:
        """Record a table; returns False when it exists and ``if_not_exists`` is set."""
        return self._create(defn, if_not_exists)

    def create_view(self, defn: ViewDefinition, if_not_exists: bool = False) -> bool:
        """Record a view; returns False when it exists and ``if_not_exists`` is set."""
        return self._create(defn, if_not_exists)

    def _create(self, defn: CatalogObject, if_not_exists: bool) -> bool:
        n = self.resolve(defn.name)  # the catalog and database must exist
        if n != defn.name:
            defn = dataclasses.replace(defn, name=n)
        where = f"{n.catalog}.{n.database}"
        if defn.temporary:
            existing = self._temporary.get(n)
            if existing is None:
                self._temporary[n] = defn
                return True
            if if_not_exists:
                return False
            raise CatalogError(
                f"Temporary {existing.kind} '{n.name}' already exists in {where}",
                hint=f"use CREATE TEMPORARY {defn.kind.upper()} IF NOT EXISTS, or drop it first",
            )
        if self.store.put_object(defn):
            return True
        if if_not_exists:
            return False
        existing_kind = dict(self.store.list_objects(n.catalog, n.database)).get(n.name, defn.kind)
        raise CatalogError(
            f"{_KIND_WORD[existing_kind]} '{n.name}' already exists in {where}",
            hint=(
                f"use CREATE {defn.kind.upper()} IF NOT EXISTS, or DROP {existing_kind.upper()} "
                f"`{n.name}` first; to rerun scripts as on Flink's in-memory catalog, "
                f"{MEMORY_CATALOG_HINT}"
            ),
        )

    def drop_table(self, parts: NameLike, if_exists: bool = False, temporary: bool = False) -> bool:
        """Drop a table; returns False when it is missing and ``if_exists`` is set."""
        return self._drop(parts, "table", if_exists, temporary)

    def drop_view(self, parts: NameLike, if_exists: bool = False, temporary: bool = False) -> bool:
        """Drop a view; returns False when it is missing and ``if_exists`` is set."""
        return self._drop(parts, "view", if_exists, temporary)

    def _drop(self, parts: NameLike, kind: str, if_exists: bool, temporary: bool) -> bool:
        name = self.resolve(parts)
        obj = self._find(name)
        if obj is None:
            if if_exists:
                return False
            raise self._not_found(name, kind)
        name = obj.name
        if obj.kind != kind:
            other = obj.kind.upper()
            raise CatalogError(
                f"'{name.name}' is a {obj.kind}, not a {kind}",
                hint=f"use DROP {'TEMPORARY ' if obj.temporary else ''}{other} `{name.name}`",
            )
        word = kind.upper()
        if temporary and not obj.temporary:
            if if_exists:
                return False
            raise CatalogError(
                f"Temporary {kind} '{name.name}' not found in {name.catalog}.{name.database}",
                hint=f"'{name.name}' is a permanent {kind}; use DROP {word} `{name.name}`",
            )
        if not temporary and obj.temporary:
            raise CatalogError(
                f"'{name.name}' is a temporary {kind}",
                hint=f"use DROP TEMPORARY {word} `{name.name}`",
            )
        if obj.temporary:
            del self._temporary[name]
            return True
        if self.store.delete_object(name.catalog, name.database, name.name, kind):
            return True
        if if_exists:  # dropped concurrently by another session
            return False
        raise self._not_found(name, kind)

    # -- databases -----------------------------------------------------------------------
    def _database_parts(self, parts: str | Sequence[str]) -> tuple[str, str]:
        p = (parts,) if isinstance(parts, str) else tuple(parts)
        if len(p) == 2:
            return self._resolve_catalog(p[0]), p[1]
        if len(p) == 1:
            return self._catalog, p[0]
        raise CatalogError(f"invalid database name {'.'.join(p)}")

    def create_database(
        self, parts: str | Sequence[str], if_not_exists: bool = False, comment: str | None = None
    ) -> bool:
        """Create a database; returns False when it exists and ``if_not_exists`` is set."""
        catalog, database = self._database_parts(parts)
        if self.store.create_database(catalog, database, comment):
            return True
        if if_not_exists:
            return False
        raise CatalogError(
            f"Database '{database}' already exists in catalog '{catalog}'",
            hint="use CREATE DATABASE IF NOT EXISTS",
        )

    def drop_database(
        self, parts: str | Sequence[str], if_exists: bool = False, cascade: bool = False
    ) -> bool:
        """Drop a database; non-empty ones only with ``cascade`` (temporaries included)."""
        catalog, database = self._database_parts(parts)
        try:
            database = self._resolve_database(catalog, database)
        except CatalogError:
            if if_exists:
                return False
            raise
        if (catalog, database) == (self._catalog, self._database):
            raise CatalogError(
                f"Cannot drop database '{database}': it is the current database",
                hint="USE another database first",
            )
        if (catalog, database) == (DEFAULT_CATALOG, DEFAULT_DATABASE):
            raise CatalogError(f"Cannot drop the default database '{DEFAULT_DATABASE}'")
        temps = [n for n in self._temporary if (n.catalog, n.database) == (catalog, database)]
        if temps and not cascade:
            raise CatalogError(
                f"Cannot drop non-empty database '{database}' (use CASCADE)",
                hint="it holds temporary object(s): " + ", ".join(sorted(n.name for n in temps)),
            )
        if not self.store.drop_database(catalog, database, cascade=cascade):
            if if_exists:
                return False
            raise CatalogError(f"Database '{database}' not found in catalog '{catalog}'")
        for n in temps:
            del self._temporary[n]
        self.functions.drop_database(catalog, database)
        return True

    # -- listing -------------------------------------------------------------------------
    def list_catalogs(self) -> list[str]:
        return self.store.list_catalogs()

    def list_databases(self, catalog: str | None = None) -> list[str]:
        return self.store.list_databases(self._resolve_catalog(catalog or self._catalog))

    def list_objects(
        self, catalog: str | None = None, database: str | None = None
    ) -> list[tuple[str, str]]:
        """``(name, kind)`` of every table and view (temporaries included), sorted by name."""
        catalog = self._resolve_catalog(catalog or self._catalog)
        database = self._resolve_database(catalog, database or self._database)
        return sorted(self._names_in(catalog, database).items())

    def list_tables(self, catalog: str | None = None, database: str | None = None) -> list[str]:
        return [n for n, k in self.list_objects(catalog, database) if k == "table"]

    def list_views(self, catalog: str | None = None, database: str | None = None) -> list[str]:
        return [n for n, k in self.list_objects(catalog, database) if k == "view"]

    def close(self) -> None:
        self._temporary.clear()
        self.store.close()
