"""Handlers for queries: SELECT, INSERT INTO, EXECUTE STATEMENT SET, EXPLAIN.

Contract: ``HANDLERS`` maps statement classes to ``handler(session, stmt) -> Result``.
Every handler first picks an engine with :func:`engine_for` — ``'batch'`` when
``SET 'execution.runtime-mode' = 'batch'`` (bounded input, run on DuckDB by
:mod:`flowsql.batch`), else ``'streaming'`` — and dispatches through ``ENGINES``, so the
streaming engine plugs in by adding its entry, without touching the handlers.

Batch results: SELECT → ``Result.rows(table)``; INSERT / STATEMENT SET →
``Result.ok("[INFO] Inserted N rows into `t`.")`` with ``extra['rows_written']``;
EXPLAIN → ``Result.ok(text)`` holding the DuckDB SQL and DuckDB's plan (also in ``extra``).

Streaming results (:mod:`flowsql.session.streaming`, which documents the live-result
protocol): a bounded SELECT → ``Result.rows(table)`` (changelogs applied); an unbounded SELECT
→ ``Result(kind='job')`` with ``extra['stream']``; INSERT / STATEMENT SET → ``Result(kind='job',
job_id)``; EXPLAIN → logical plans, JobGraph and changelog modes. SHOW JOBS and STOP JOB are
handled here too (the runtime's statements, in either mode).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flowsql.errors import NotSupportedError
from flowsql.session.result import Result
from flowsql.sql import statements as st

_BATCH_HINT = "SET 'execution.runtime-mode' = 'batch' to run bounded queries on DuckDB"


def engine_for(session: Any) -> str:
    """Which engine runs the session's queries: 'batch' or 'streaming'."""
    return "batch" if session.config.batch_mode else "streaming"


# -- batch engine ---------------------------------------------------------------------------
def _batch_query(session: Any, stmt: st.Query) -> Result:
    from flowsql.batch.duckdb_runner import BatchRunner

    table = BatchRunner(session).query(stmt.query)
    return Result.rows(table, message=f"{table.num_rows} row(s) in set")


def _insert_message(counts: list[tuple[str, int]]) -> str:
    parts = [f"{n} rows into `{name}`" for name, n in counts]
    return "[INFO] Inserted " + "; ".join(parts) + "."


def _batch_insert(session: Any, stmt: st.Insert) -> Result:
    from flowsql.batch.duckdb_runner import BatchRunner

    rows = BatchRunner(session).insert(stmt)
    result = Result.ok(_insert_message([(stmt.target[-1], rows)]))
    result.extra["rows_written"] = rows
    return result


def _batch_statement_set(session: Any, stmt: st.StatementSet) -> Result:
    from flowsql.batch.duckdb_runner import BatchRunner

    counts = [(ins.target[-1], BatchRunner(session).insert(ins)) for ins in stmt.inserts]
    result = Result.ok(_insert_message(counts) if counts else "[INFO] Statement set is empty.")
    result.extra["rows_written"] = sum(n for _, n in counts)
    return result


def _batch_explain(session: Any, stmt: st.Explain) -> Result:
    from flowsql.batch.duckdb_runner import BatchRunner

    text = BatchRunner(session).explain(stmt.statement)
    result = Result.ok(text)
    result.extra["plan"] = text
    return result


# -- streaming engine: flowsql.session.streaming --------------------------------------------
def _streaming_query(session: Any, stmt: st.Query) -> Result:
    from flowsql.session import streaming

    return streaming.run_query(session, stmt)


def _streaming_insert(session: Any, stmt: st.Insert) -> Result:
    from flowsql.session import streaming

    return streaming.run_insert(session, stmt)


def _streaming_statement_set(session: Any, stmt: st.StatementSet) -> Result:
    from flowsql.session import streaming

    return streaming.run_statement_set(session, stmt)


def _streaming_explain(session: Any, stmt: st.Explain) -> Result:
    from flowsql.session import streaming

    return streaming.explain(session, stmt)


def _show(session: Any, stmt: st.Show) -> Result:
    """SHOW JOBS is the runtime's (streaming); every other SHOW is DDL introspection."""
    if " ".join(stmt.what.upper().split()) == "JOBS":
        from flowsql.session import streaming

        return streaming.show_jobs(session)
    from flowsql.session import ddl

    return ddl.HANDLERS[st.Show](session, stmt)


def _stop_job(session: Any, stmt: st.StopJob) -> Result:
    from flowsql.session import streaming

    return streaming.stop_job(session, stmt)


Handler = Callable[[Any, Any], Result]
ENGINES: dict[str, dict[type, Handler]] = {
    "batch": {
        st.Query: _batch_query,
        st.Insert: _batch_insert,
        st.StatementSet: _batch_statement_set,
        st.Explain: _batch_explain,
    },
    "streaming": {
        st.Query: _streaming_query,
        st.Insert: _streaming_insert,
        st.StatementSet: _streaming_statement_set,
        st.Explain: _streaming_explain,
    },
}


def _dispatch(session: Any, stmt: st.Statement) -> Result:
    handlers = ENGINES[engine_for(session)]
    handler = handlers.get(type(stmt))
    if handler is None:
        raise NotSupportedError(f"{type(stmt).__name__} in {engine_for(session)} mode", hint=_BATCH_HINT)
    return handler(session, stmt)


HANDLERS: dict[type, Handler] = {
    st.Query: _dispatch,
    st.Insert: _dispatch,
    st.StatementSet: _dispatch,
    st.Explain: _dispatch,
    st.Show: _show,
    st.StopJob: _stop_job,
}
