"""Catalog objects → DuckDB relations (the FROM side of the transpiler).

Contract:
- A :class:`Resolver` answers two questions: what a name means in the catalog
  (``lookup(parts)``) and how a table is read in batch mode (``scan(table)``, the connector's
  :class:`connectors.base.BatchScan`). :class:`SessionResolver` answers them from a Session.
- :class:`Relations` gives each catalog object one CTE, created on first reference:
  * a table → ``SELECT <physical columns>, <computed expr> AS c, <metadata> AS m FROM __scan_<n>``
    where ``__scan_<n>`` is the connector scan registered in the sandbox (a DuckDB view over
    ``BatchScan.duckdb_sql`` or an Arrow object); computed expressions are re-parsed from the
    catalog text and go through the same Flink → DuckDB mapping; metadata columns are read
    from the scan when it carries them (``BatchScan.metadata_columns``), else
    ``CAST(NULL AS <type>)``;
  * a view → its query, transpiled recursively (view cycles raise ``ValidationError``).
  CTEs are kept in dependency order (a view's tables before the view).
- ``columns[cte]`` lists each relation's column names, for error messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import sqlglot
from sqlglot import exp

from catalog.table import ObjectName, TableDefinition, ViewDefinition
from connectors.base import BatchScan
from flowsql.errors import ValidationError
from flowsql.types import parse_type, to_duckdb

if TYPE_CHECKING:
    from flowsql.batch.transpile import Transpiler


class Resolver(Protocol):
    def lookup(self, parts: tuple[str, ...]) -> TableDefinition | ViewDefinition: ...

    def scan(self, table: TableDefinition) -> BatchScan: ...


class SessionResolver:
    """Resolves names through ``session.catalog`` and scans through the connector registry."""

    def __init__(self, session) -> None:
        self.session = session

    def lookup(self, parts: tuple[str, ...]) -> TableDefinition | ViewDefinition:
        return self.session.catalog.get(parts)

    @property
    def functions(self):  # -> catalog.functions.Functions: the session's user functions
        return getattr(self.session.catalog, "functions", None)

    def scan(self, table: TableDefinition) -> BatchScan:
        factory = connector_factory(table)
        return factory.batch_scan(table, factory.validate(table))


def connector_factory(table: TableDefinition):
    """The connector factory named by ``table``'s ``'connector'`` option."""
    from connectors.registry import get_factory
    from flowsql.errors import ConnectorError

    identifier = table.options.get("connector")
    if not identifier:
        raise ConnectorError(
            f"table {table.name} has no 'connector' option",
            hint="add WITH ('connector' = 'filesystem', ...)",
        )
    return get_factory(identifier)


@dataclass
class ScanBinding:
    """One connector scan to register in the sandbox under ``name``."""

    name: str
    table: TableDefinition
    scan: BatchScan
    references: int = 1


def parse_flink(sql: str, *, what: str) -> exp.Expression:
    """Parse stored Flink SQL (a view query or a computed column expression)."""
    try:
        import flowsql.sql.dialect  # noqa: F401  (registers the "flink" dialect)

        dialect = "flink"
    except ImportError:  # pragma: no cover - only before the dialect exists
        dialect = "hive"
    try:
        return sqlglot.parse_one(sql, read=dialect)
    except sqlglot.errors.SqlglotError as e:
        raise ValidationError(f"cannot parse {what}: {sql!r} ({e})") from e


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name)[:40]


@dataclass
class Relations:
    resolver: Resolver
    ctes: list[exp.CTE] = field(default_factory=list)
    scans: list[ScanBinding] = field(default_factory=list)
    columns: dict[str, list[str]] = field(default_factory=dict)
    _names: dict[ObjectName, str] = field(default_factory=dict)
    _view_stack: list[ObjectName] = field(default_factory=list)

    def relation_for(self, parts: tuple[str, ...], transpiler: Transpiler) -> tuple[str, list[str]]:
        """The CTE name (and columns) for a catalog name, creating the CTE on first use."""
        obj = self.resolver.lookup(parts)
        if obj.name in self._view_stack:
            cycle = " -> ".join(str(n) for n in [*self._view_stack, obj.name])
            raise ValidationError(f"view cycle: {cycle}")
        if obj.name in self._names:
            name = self._names[obj.name]
            for scan in self.scans:
                if scan.table.name == obj.name:
                    scan.references += 1
            return name, self.columns[name]
        if isinstance(obj, ViewDefinition):
            name, cols = self._view(obj, transpiler)
        else:
            name, cols = self._table(obj, transpiler)
        self._names[obj.name] = name
        self.columns[name] = cols
        return name, cols

    # -- tables ---------------------------------------------------------------------------
    def _table(self, table: TableDefinition, transpiler: Transpiler) -> tuple[str, list[str]]:
        n = len(self._names)
        scan_name = f"__scan_{n}"
        cte_name = f"__t{n}_{_safe(table.name.name)}"
        scan = self.resolver.scan(table)
        if (scan.duckdb_sql is None) == (scan.arrow is None):
            raise ValidationError(f"connector scan for {table.name} must set duckdb_sql or arrow")
        self.scans.append(ScanBinding(scan_name, table, scan))
        projections: list[str] = []
        for col in table.columns:
            quoted = _quote(col.name)
            if col.kind == "physical":
                projections.append(quoted)
            elif col.kind == "computed":
                projections.append(f"{self._computed(table, col.expression or '', transpiler)} AS {quoted}")
            elif col.name in scan.metadata_columns:
                projections.append(quoted)
            else:
                duck = to_duckdb(parse_type(col.data_type or "STRING"))
                projections.append(f"CAST(NULL AS {duck}) AS {quoted}")
        select = sqlglot.parse_one(
            f"SELECT {', '.join(projections) or '*'} FROM {scan_name}", read="duckdb"
        )
        self.ctes.append(exp.CTE(this=select, alias=exp.TableAlias(this=exp.to_identifier(cte_name))))
        return cte_name, [c.name for c in table.columns]

    def _computed(self, table: TableDefinition, text: str, transpiler: Transpiler) -> str:
        tree = parse_flink(text, what=f"computed column of {table.name}")
        if any(isinstance(n, exp.Query | exp.Table) for n in tree.walk()):
            raise ValidationError(f"computed column of {table.name} may not contain a subquery: {text}")
        tree = transpiler.rewrite_expression(tree)
        return tree.sql(dialect="duckdb")

    # -- views ----------------------------------------------------------------------------
    def _view(self, view: ViewDefinition, transpiler: Transpiler) -> tuple[str, list[str]]:
        self._view_stack.append(view.name)
        try:
            tree = parse_flink(view.query, what=f"view {view.name}")
            tree = transpiler.rewrite_query(tree)
        finally:
            self._view_stack.pop()
        n = len(self._names)
        cte_name = f"__v{n}_{_safe(view.name.name)}"
        names = list(view.column_names) or _output_names(tree)
        alias = exp.TableAlias(this=exp.to_identifier(cte_name))
        if view.column_names:
            alias.set("columns", [exp.to_identifier(c, quoted=True) for c in view.column_names])
        self.ctes.append(exp.CTE(this=tree, alias=alias))
        return cte_name, names


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _output_names(tree: exp.Expression) -> list[str]:
    select = tree
    while isinstance(select, exp.SetOperation):
        select = select.this
    if isinstance(select, exp.Select):
        return [e.alias_or_name for e in select.expressions]
    return []
