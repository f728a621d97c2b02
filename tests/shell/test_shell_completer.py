"""Completion of keywords, catalog names and SET keys."""

from __future__ import annotations

from pathlib import Path

from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from catalog.catalog import Catalog
from catalog.table import Column, TableDefinition, ViewDefinition
from flowsql.shell.completer import SqlCompleter


def _catalog_with_names(path: Path) -> Catalog:
    catalog = Catalog(path / "catalog.db")
    for name in ("orders", "Bids"):
        table = TableDefinition(
            name=catalog.resolve((name,)), columns=(Column("id", "BIGINT"),)
        )
        catalog.create_table(table)
    catalog.create_view(ViewDefinition(name=catalog.resolve(("order_totals",)), query="SELECT 1"))
    return catalog


def _complete(completer: SqlCompleter, text: str) -> list[tuple[str, int]]:
    doc = Document(text, len(text))
    return [(c.text, c.start_position) for c in completer.get_completions(doc, CompleteEvent())]


def test_keywords_match_case_insensitively() -> None:
    completer = SqlCompleter()
    assert ("SELECT", -3) in _complete(completer, "sel")
    assert ("EXECUTE", -4) in _complete(completer, "SHOW TABLES; exec")


def test_catalog_names_after_refresh(tmp_path: Path) -> None:
    catalog = _catalog_with_names(tmp_path)
    completer = SqlCompleter(catalog)
    assert "orders" not in [text for text, _ in _complete(completer, "SELECT * FROM ord")]
    completer.refresh()
    got = [text for text, _ in _complete(completer, "SELECT * FROM ord")]
    assert got == ["order_totals", "orders", "ORDER"]  # names first, then keywords
    assert "Bids" in [text for text, _ in _complete(completer, "select * from bi")]
    assert "default_database" in [text for text, _ in _complete(completer, "USE def")]
    catalog.close()


def test_refresh_survives_a_broken_catalog() -> None:
    class Broken:
        def list_tables(self) -> list[str]:
            raise RuntimeError("store is gone")

    completer = SqlCompleter(Broken())
    completer.refresh()
    assert completer.names == ()


def test_set_keys_and_choices() -> None:
    completer = SqlCompleter()
    assert ("'execution.runtime-mode'", -5) in _complete(completer, "SET 'exec")
    assert ("'execution.runtime-mode'", -4) in _complete(completer, "set exec")
    keys = [text for text, _ in _complete(completer, "RESET ")]
    assert "'table.local-time-zone'" in keys
    assert _complete(completer, "SET 'execution.runtime-mode' = 'b") == [("'batch'", -2)]
    assert len(_complete(completer, "SET 'execution.runtime-mode' = ")) == 2
