"""The Session: parse → classify → execute, one statement at a time.

Contract:
- A Session owns a catalog view (persistent store + this session's TEMPORARY objects and
  current catalog/database), a :class:`SessionConfig`, and whatever runs its queries.
- ``SET 'table.catalog.default.kind' = 'memory'`` (or that key in ``config``) swaps
  :attr:`Session.catalog` for an in-memory one (empty at first, kept for the rest of the
  session, TEMPORARY objects carried over); ``'persistent'`` or RESET swaps back to
  ``$FLOWSQL_HOME/catalog.db``. The current catalog/database start at the defaults.
- :meth:`Session.execute` parses a script and yields one :class:`Result` per statement,
  stopping at the first error (which propagates as a ``FlowSQLError``).
- :meth:`Session.cancel` interrupts the statement running in another thread; that
  statement then raises ``QueryCancelled``. The session stays usable.
- Statement kinds are dispatched through one explicit table (``_HANDLERS``): DDL and
  introspection to :mod:`flowsql.session.ddl`, queries and inserts to
  :mod:`flowsql.session.queries`, settings here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa

from flowsql.config import CATALOG_KIND, SessionConfig, flowsql_home
from flowsql.errors import FlowSQLError, NotSupportedError
from flowsql.session.result import Result
from flowsql.sql import statements as st


class Session:
    def __init__(self, home: Path | None = None, config: dict[str, str] | None = None) -> None:
        from catalog.catalog import Catalog

        self.home = Path(home) if home else flowsql_home()
        self.home.mkdir(parents=True, exist_ok=True)
        self.config = SessionConfig(config)
        self._catalogs: dict[str, Catalog] = {}
        self.catalog = self._catalog_of_kind()
        self._cancel_hooks: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    # -- execution -----------------------------------------------------------------------
    def execute(self, text: str) -> Iterator[Result]:
        """Parse and run every statement of ``text`` in order; yields their results."""
        for piece in st.split_script(text):
            stmt = st.parse_statement(piece.text, line=piece.line, col=piece.col)
            yield self.execute_statement(stmt)

    def execute_one(self, text: str) -> Result:
        """Run a script and return the last statement's result (convenience for tests)."""
        results = list(self.execute(text))
        return results[-1] if results else Result.ok()

    def execute_statement(self, stmt: st.Statement) -> Result:
        handler = _HANDLERS.get(type(stmt))
        if handler is None:
            raise NotSupportedError(f"statement {type(stmt).__name__}")
        started = time.perf_counter()
        result = handler(self, stmt)
        result.elapsed = time.perf_counter() - started
        result.statement = stmt.text
        return result

    # -- cancellation --------------------------------------------------------------------
    def add_cancel_hook(self, hook: Callable[[], None]) -> None:
        with self._lock:
            self._cancel_hooks.append(hook)

    def remove_cancel_hook(self, hook: Callable[[], None]) -> None:
        with self._lock:
            if hook in self._cancel_hooks:
                self._cancel_hooks.remove(hook)

    def cancel(self) -> None:
        """Interrupt whatever statement is running (called from another thread / signal)."""
        with self._lock:
            hooks = list(self._cancel_hooks)
        for hook in hooks:
            try:
                hook()
            except Exception:  # noqa: BLE001 - cancelling must never raise
                pass

    def _catalog_of_kind(self):  # -> catalog.catalog.Catalog
        """The catalog 'table.catalog.default.kind' selects, opened on first use."""
        from catalog.catalog import IN_MEMORY, Catalog

        kind = self.config.get(CATALOG_KIND) or "persistent"
        if kind not in self._catalogs:
            self._catalogs[kind] = Catalog(IN_MEMORY if kind == "memory" else self.home / "catalog.db")
        return self._catalogs[kind]

    def sync_catalog(self) -> None:
        """Follow a change of 'table.catalog.default.kind' (SET / RESET)."""
        new = self._catalog_of_kind()
        if new is not self.catalog:
            new.take_temporaries(self.catalog)  # session-scoped, whatever the store
            self.catalog = new

    def close(self) -> None:
        for c in self._catalogs.values():
            c.close()


# -- settings handlers ---------------------------------------------------------------------
def _set(session: Session, stmt: st.Set) -> Result:
    if stmt.key is None:
        items = session.config.items()
        return Result.rows(
            pa.table({"key": list(items.keys()), "value": list(items.values())}),
        )
    session.config.set(stmt.key, stmt.value or "")
    session.sync_catalog()
    if stmt.key == "python.files":  # where Python UDF modules are imported from
        from flowsql.udf.loader import add_python_files

        add_python_files(stmt.value or "")
    return Result.ok("[INFO] Execute statement succeeded.")


def _reset(session: Session, stmt: st.Reset) -> Result:
    session.config.reset(stmt.key)
    session.sync_catalog()
    return Result.ok("[INFO] Execute statement succeeded.")


def _handlers() -> dict[type, Callable[[Session, st.Statement], Result]]:
    from flowsql.session import ddl, functions, queries

    table: dict[type, Callable] = {st.Set: _set, st.Reset: _reset}
    table.update(ddl.HANDLERS)
    table.update(functions.HANDLERS)
    table.update(queries.HANDLERS)
    return table


class _LazyHandlers(dict):
    def get(self, key, default=None):  # type: ignore[override]
        if not self:
            self.update(_handlers())
        return super().get(key, default)


_HANDLERS: dict[type, Callable[[Session, st.Statement], Result]] = _LazyHandlers()

__all__ = ["Session", "FlowSQLError"]
