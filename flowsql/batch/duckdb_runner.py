"""Run bounded queries and inserts on DuckDB (batch mode).

Contract (:class:`BatchRunner`, one per statement, built from a Session):
- ``query(ast) -> pa.Table``: transpile (:mod:`flowsql.batch.transpile`), open a
  :class:`~flowsql.batch.sandbox.Sandbox` with the plan's scans, bind the SQL (binder errors
  become ``ValidationError``), execute, and return Arrow with every timestamp as ``ms``.
- ``insert(stmt) -> int``: the same for ``INSERT INTO t [(cols)] query``; the query's columns
  are matched by position to the target's physical columns (or the listed ones; the others
  get NULL), cast in DuckDB to the target's declared types, streamed as Arrow batches into
  the connector's ``BatchSink.write``; returns the rows written.
- ``explain(stmt) -> str``: the transpiled DuckDB SQL and DuckDB's EXPLAIN plan.
While DuckDB runs, the sandbox's ``interrupt`` is a session cancel hook, so
``Session.cancel()`` makes the statement raise ``QueryCancelled``.
No DuckDB/pyarrow exception escapes: all become ``FlowSQLError`` (see :mod:`.errors`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import duckdb
import pyarrow as pa

from catalog.table import TableDefinition, ViewDefinition
from connectors.base import columns_schema, sink_columns
from flowsql.batch.errors import translate
from flowsql.batch.relations import SessionResolver, connector_factory
from flowsql.batch.sandbox import Sandbox
from flowsql.batch.transpile import BatchPlan, Transpiler
from flowsql.errors import ConnectorError, ExecutionError, FlowSQLError, ValidationError
from flowsql.sql import statements as st
from flowsql.types import parse_type, to_duckdb

_WINDOW_COLUMNS = ["window_start", "window_end", "window_time"]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def normalize_timestamps(table: pa.Table) -> pa.Table:
    """Cast every timestamp column to millisecond precision (the engine's time unit)."""
    fields = []
    changed = False
    for f in table.schema:
        if pa.types.is_timestamp(f.type) and f.type.unit != "ms":
            f = f.with_type(pa.timestamp("ms", tz=f.type.tz))
            changed = True
        fields.append(f)
    return table.cast(pa.schema(fields), safe=False) if changed else table


class BatchRunner:
    """Runs one batch statement for a session (see module contract)."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.transpiler = Transpiler(SessionResolver(session))

    # -- SELECT ---------------------------------------------------------------------------
    def query(self, query) -> pa.Table:
        plan = self.transpiler.plan(query)
        with self._sandbox(plan) as sandbox:
            rel = self._bind(sandbox, plan.sql, plan)
            table = self._guarded(plan, rel.to_arrow_table)
        return unique_names(normalize_timestamps(table))

    # -- INSERT ---------------------------------------------------------------------------
    def insert(self, stmt: st.Insert) -> int:
        target, sink = self._sink(stmt)
        plan = self.transpiler.plan(stmt.query)
        with self._sandbox(plan) as sandbox:
            sql = self._insert_sql(sandbox, stmt, target, plan)
            rel = self._bind(sandbox, sql, plan)
            schema = columns_schema(_sink_columns(target))

            def run() -> int:
                reader = rel.to_arrow_reader(64 * 1024)
                batches = (b.cast(schema, safe=False) for b in reader)
                return sink.write(pa.RecordBatchReader.from_batches(schema, batches))

            return self._guarded(plan, run)

    def _sink(self, stmt: st.Insert):
        target = self.session.catalog.get(stmt.target)
        if isinstance(target, ViewDefinition):
            raise ValidationError(f"cannot INSERT INTO view {target.name}; insert into a table")
        factory = connector_factory(target)
        return target, factory.batch_sink(target, factory.validate(target))

    def _insert_sql(self, sandbox: Sandbox, stmt: st.Insert, target: TableDefinition, plan: BatchPlan) -> str:
        columns = _sink_columns(target)
        physical = [c.name for c in columns]
        if stmt.columns:
            lowered = {p.lower(): p for p in physical}
            listed = []
            for c in stmt.columns:
                if c.lower() not in lowered:
                    raise ValidationError(
                        f"unknown target column '{c}' in INSERT INTO {target.name.name}",
                        hint="physical columns: " + ", ".join(physical),
                    )
                listed.append(lowered[c.lower()])
        else:
            listed = physical
        rel = self._bind(sandbox, plan.sql, plan)
        if len(rel.columns) != len(listed):
            raise ValidationError(
                f"column count mismatch in INSERT INTO {target.name.name}: the query produces "
                f"{len(rel.columns)} column(s), the target expects {len(listed)} ({', '.join(listed)})"
            )
        position = {name: i for i, name in enumerate(listed)}
        items = []
        for col in columns:
            duck = to_duckdb(parse_type(col.data_type or "STRING").with_nullable(True))
            source = f"__q.__c{position[col.name]}" if col.name in position else "NULL"
            items.append(f"CAST({source} AS {duck}) AS {_quote(col.name)}")
        aliases = ", ".join(f"__c{i}" for i in range(len(listed)))
        return f"SELECT {', '.join(items)} FROM ({plan.sql}) AS __q({aliases})"

    # -- EXPLAIN --------------------------------------------------------------------------
    def explain(self, stmt: st.Statement) -> str:
        if isinstance(stmt, st.Query):
            plans = [("query", self.transpiler.plan(stmt.query), None)]
        elif isinstance(stmt, st.Insert):
            target, _ = self._sink(stmt)
            plans = [(f"INSERT INTO {target.name.name}", self.transpiler.plan(stmt.query), (stmt, target))]
        elif isinstance(stmt, st.StatementSet):
            plans = []
            for ins in stmt.inserts:
                target, _ = self._sink(ins)
                plans.append((f"INSERT INTO {target.name.name}", self.transpiler.plan(ins.query), (ins, target)))
        else:
            raise ValidationError(f"cannot EXPLAIN {type(stmt).__name__}")
        sections = []
        for title, plan, insert in plans:
            with self._sandbox(plan) as sandbox:
                sql = plan.sql if insert is None else self._insert_sql(sandbox, *insert[:2], plan)
                self._bind(sandbox, sql, plan)
                try:
                    rows = sandbox.con.execute(f"EXPLAIN {sql}").fetchall()
                except duckdb.Error as e:
                    raise translate(e, self._available(plan)) from None
            text = "\n".join(str(r[-1]) for r in rows)
            pretty = sql if insert is not None or plan.tree is None else plan.tree.sql(
                dialect="duckdb", pretty=True
            )
            sections.append(f"== DuckDB SQL ({title}) ==\n{pretty}\n\n== DuckDB plan ==\n{text}")
        return "\n\n".join(sections)

    # -- helpers --------------------------------------------------------------------------
    @contextmanager
    def _sandbox(self, plan: BatchPlan) -> Iterator[Sandbox]:
        try:
            sandbox = Sandbox(plan.scans)
        except FlowSQLError:
            raise
        except duckdb.Error as e:
            raise translate(e, self._available(plan)) from None
        except Exception as e:  # a connector's Arrow callable failed
            raise ConnectorError(f"cannot open the table scans: {e}") from e
        if plan.udfs is not None:
            plan.udfs.register(sandbox.con)
        self._check_time_columns(sandbox, plan)
        self.session.add_cancel_hook(sandbox.interrupt)
        try:
            yield sandbox
        finally:
            self.session.remove_cancel_hook(sandbox.interrupt)
            if plan.udfs is not None:
                plan.udfs.unregister(sandbox.con)
            sandbox.close()

    def _check_time_columns(self, sandbox: Sandbox, plan: BatchPlan) -> None:
        """Each window TVF's time column is a TIMESTAMP (probed with ``LIMIT 0``; a probe
        DuckDB cannot bind is skipped, the query itself then reports the problem)."""
        for check, probe in plan.time_checks:
            try:
                duck_type = str(sandbox.con.sql(probe).types[0]).upper()
            except duckdb.Error:
                continue
            if not duck_type.startswith("TIMESTAMP"):
                raise check.error(duck_type)

    def _available(self, plan: BatchPlan) -> list[str]:
        cols = [c for names in plan.columns.values() for c in names]
        return cols + (_WINDOW_COLUMNS if "window_start" in plan.sql else [])

    def _bind(self, sandbox: Sandbox, sql: str, plan: BatchPlan) -> duckdb.DuckDBPyRelation:
        """Bind ``sql``; HUGEINT results (DuckDB's SUM of integers) come back as BIGINT, as Flink."""
        try:
            rel = sandbox.con.sql(sql)
            wide = [
                name for name, t in zip(rel.columns, rel.types, strict=True)
                if str(t).upper() in ("HUGEINT", "UHUGEINT", "UBIGINT")
            ]
            if wide:
                casts = ", ".join(f"CAST({_quote(n)} AS BIGINT) AS {_quote(n)}" for n in wide)
                rel = sandbox.con.sql(f"SELECT * REPLACE ({casts}) FROM ({sql}) AS __r")
            return rel
        except duckdb.Error as e:
            raise translate(e, self._available(plan)) from None

    def _guarded(self, plan: BatchPlan, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except FlowSQLError:
            raise
        except duckdb.Error as e:
            if plan.udfs is not None and plan.udfs.error is not None:  # a Python UDF raised
                raise plan.udfs.error from None
            raise translate(e, self._available(plan)) from None
        except pa.ArrowException as e:
            if "interrupt" in str(e).lower():
                from flowsql.errors import QueryCancelled

                raise QueryCancelled("query cancelled") from None
            raise ExecutionError(f"batch query failed: {str(e).splitlines()[0]}") from None


def unique_names(table: pa.Table) -> pa.Table:
    """Result columns with Flink's unique names: a repeated name gets a suffix (``k``, ``k0``,
    ``k1`` ...), as ``SELECT *`` over a join names the columns both inputs have."""
    seen: set[str] = set()
    out = []
    for name in table.column_names:
        new, i = name, 0
        while new in seen:
            new, i = f"{name}{i}", i + 1
        seen.add(new)
        out.append(new)
    return table if out == table.column_names else table.rename_columns(out)


def _sink_columns(target: TableDefinition) -> tuple:
    """The columns the target's sink receives (physical, then writable metadata)."""
    return sink_columns(target, connector_factory(target))
