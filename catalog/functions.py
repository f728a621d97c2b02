"""User-defined functions in the catalog: ``CREATE [TEMPORARY [SYSTEM]] FUNCTION`` records.

Contract:
- A :class:`FunctionDefinition` records the function's name, its path
  (``'package.module.attr'``), its language and the kind the object had when it was created
  (``scalar`` | ``table`` | ``aggregate``). Nothing here imports user code.
- Names are case-insensitive, as Flink's function identifiers: they are stored lower-case.
- :class:`Functions` (``catalog.functions`` of a :class:`~catalog.catalog.Catalog`) keeps
  TEMPORARY SYSTEM functions (one-part names, session-wide), TEMPORARY functions (per
  catalog.database, this session) and persistent functions (the store's ``functions`` table,
  one row per function with its JSON; kept across sessions and processes).
- :meth:`Functions.lookup` resolves an unqualified call in Flink's order: temporary system
  function, then temporary and persistent functions of the current database.
- create/drop raise ``CatalogError`` naming the function (exists / not found / temporary vs
  permanent mismatch), with IF [NOT] EXISTS making them no-ops that return False.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from catalog.table import ObjectName
from flowsql.errors import CatalogError

if TYPE_CHECKING:
    from catalog.catalog import Catalog

FUNCTIONS_DDL = (
    "CREATE TABLE IF NOT EXISTS functions ("
    " catalog TEXT NOT NULL, database TEXT NOT NULL, name TEXT NOT NULL,"
    " definition TEXT NOT NULL, PRIMARY KEY (catalog, database, name))"
)
SYSTEM = ObjectName("", "", "")  # catalog/database of a temporary system function


@dataclass(frozen=True)
class FunctionDefinition:
    name: ObjectName  # catalog and database are '' for a temporary system function
    path: str
    language: str = "PYTHON"
    function_kind: str = "scalar"  # scalar | table | aggregate
    temporary: bool = False
    system: bool = False

    kind: str = "function"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_json(data: dict[str, Any]) -> FunctionDefinition:
        return FunctionDefinition(
            name=ObjectName(**data["name"]), path=data["path"],
            language=data.get("language", "PYTHON"),
            function_kind=data.get("function_kind", "scalar"),
            temporary=data.get("temporary", False), system=data.get("system", False),
        )


class Functions:
    """The functions a session sees (see the module contract)."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self._store = catalog.store
        self._system: dict[str, FunctionDefinition] = {}
        self._temporary: dict[ObjectName, FunctionDefinition] = {}

    def take_temporaries(self, other: Functions) -> None:
        self._system = other._system
        self._temporary = other._temporary

    def qualified(self, parts: tuple[str, ...]) -> ObjectName:
        n = self._catalog.resolve(parts)
        return ObjectName(n.catalog, n.database, n.name.lower())

    # -- persistent rows -----------------------------------------------------------------
    def _get_stored(self, n: ObjectName) -> FunctionDefinition | None:
        with self._store._read() as conn:
            row = conn.execute(
                "SELECT definition FROM functions WHERE catalog = ? AND database = ? AND name = ?",
                (n.catalog, n.database, n.name),
            ).fetchone()
        if row is None:
            return None
        try:
            return FunctionDefinition.from_json(json.loads(row[0]))
        except (ValueError, TypeError, KeyError) as e:
            raise CatalogError(
                f"the catalog store {self._store.path} holds an undecodable definition of "
                f"function {n}: {e}"
            ) from e

    def _put_stored(self, defn: FunctionDefinition) -> bool:
        n = defn.name
        with self._store._tx() as conn:
            taken = conn.execute(
                "SELECT 1 FROM functions WHERE catalog = ? AND database = ? AND name = ?",
                (n.catalog, n.database, n.name),
            ).fetchone()
            if taken:
                return False
            conn.execute(
                "INSERT INTO functions (catalog, database, name, definition) VALUES (?, ?, ?, ?)",
                (n.catalog, n.database, n.name, json.dumps(defn.to_json())),
            )
            return True

    def _delete_stored(self, n: ObjectName) -> bool:
        with self._store._tx() as conn:
            cur = conn.execute(
                "DELETE FROM functions WHERE catalog = ? AND database = ? AND name = ?",
                (n.catalog, n.database, n.name),
            )
            return cur.rowcount > 0

    # -- create / drop -------------------------------------------------------------------
    def create(self, defn: FunctionDefinition, if_not_exists: bool = False) -> bool:
        n = defn.name
        if defn.system:
            taken = n.name in self._system
            if not taken:
                self._system[n.name] = defn
        elif defn.temporary:
            taken = n in self._temporary
            if not taken:
                self._temporary[n] = defn
        else:
            taken = not self._put_stored(defn)
        if not taken:
            return True
        if if_not_exists:
            return False
        word = "Temporary system function" if defn.system else (
            "Temporary function" if defn.temporary else "Function")
        where = "" if defn.system else f" in {n.catalog}.{n.database}"
        raise CatalogError(f"{word} '{n.name}' already exists{where}",
                           hint="use CREATE ... FUNCTION IF NOT EXISTS, or drop it first")

    def drop(self, parts: tuple[str, ...], *, if_exists: bool = False, temporary: bool = False,
             system: bool = False) -> bool:
        if system:
            name = parts[-1].lower()
            if self._system.pop(name, None) is not None:
                return True
            if if_exists:
                return False
            raise CatalogError(f"Temporary system function '{name}' does not exist",
                               hint="SHOW USER FUNCTIONS lists the functions")
        n = self.qualified(parts)
        where = f"{n.catalog}.{n.database}"
        if temporary:
            if self._temporary.pop(n, None) is not None:
                return True
            hint = (f"'{n.name}' is a permanent function; use DROP FUNCTION `{n.name}`"
                    if self._get_stored(n) else "SHOW USER FUNCTIONS lists the functions")
            if if_exists:
                return False
            raise CatalogError(f"Temporary function '{n.name}' not found in {where}", hint=hint)
        if n in self._temporary:
            raise CatalogError(f"'{n.name}' is a temporary function",
                               hint=f"use DROP TEMPORARY FUNCTION `{n.name}`")
        if self._delete_stored(n):
            return True
        if if_exists:
            return False
        hint = (f"'{n.name}' is a temporary system function; use DROP TEMPORARY SYSTEM FUNCTION"
                if n.name in self._system else "SHOW USER FUNCTIONS lists the functions")
        raise CatalogError(f"Function '{n.name}' not found in {where}", hint=hint)

    # -- lookup / listing ----------------------------------------------------------------
    def lookup(self, name: str) -> FunctionDefinition | None:
        """The function an unqualified call ``name(...)`` means, or None."""
        key = name.lower()
        if key in self._system:
            return self._system[key]
        n = ObjectName(self._catalog.current_catalog, self._catalog.current_database, key)
        return self._temporary.get(n) or self._get_stored(n)

    def list_user(self) -> list[str]:
        """Names of the user functions a call in the current database can reach, sorted."""
        catalog, database = self._catalog.current_catalog, self._catalog.current_database
        names = set(self._system)
        names |= {n.name for n in self._temporary if (n.catalog, n.database) == (catalog, database)}
        with self._store._read() as conn:
            rows = conn.execute("SELECT name FROM functions WHERE catalog = ? AND database = ?",
                                (catalog, database))
            names |= {r[0] for r in rows}
        return sorted(names)

    def drop_database(self, catalog: str, database: str) -> None:
        """Forget the functions of a dropped database (persistent and temporary)."""
        with self._store._tx() as conn:
            conn.execute("DELETE FROM functions WHERE catalog = ? AND database = ?",
                         (catalog, database))
        for n in [n for n in self._temporary if (n.catalog, n.database) == (catalog, database)]:
            del self._temporary[n]
