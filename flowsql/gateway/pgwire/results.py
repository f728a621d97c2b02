"""Result cursors behind a Postgres portal: a finished table, or a gateway operation's pages.

Contract:
- A cursor has ``schema`` (None: a command without rows; its ``tag`` is the CommandComplete
  tag) and :meth:`next_rows` ``(limit)`` → up to ``limit`` rows (``None``: the next page) or
  None when there are no more. ``rows_sent`` counts rows for the ``SELECT n`` tag.
- :class:`OperationCursor` pages a :class:`~flowsql.gateway.operation.Operation` with
  ``fetch`` in a worker thread (never on the event loop). A live query's NOT_READY pages are
  polled until rows arrive, the stream ends or the operation is cancelled.
- A client that disconnects while a live query waits for rows cancels the operation
  (``alive`` is polled between fetches).
- A changelog's ``$row_kind`` column becomes a text column ``row_kind`` (``+I``, ``-U``,
  ``+U``, ``-D``), last, like Materialize's SUBSCRIBE diff column; an append-only stream has
  none.
"""

from __future__ import annotations

import asyncio

import pyarrow as pa
import pyarrow.compute as pc

from flowsql.errors import QueryCancelled
from flowsql.gateway.operation import Operation
from flowsql.gateway.pgwire.router import strip_code
from flowsql.messages import ROW_KIND

PAGE_ROWS = 1000
ROW_KIND_COLUMN = "row_kind"


def public_table(table: pa.Table) -> pa.Table:
    if ROW_KIND not in table.column_names:
        return table
    kinds = table.column(ROW_KIND).cast(pa.int64())
    names = pa.array(["+I", "-U", "+U", "-D"])
    text = pc.take(names, kinds)
    table = table.drop_columns([ROW_KIND])
    return table.append_column(ROW_KIND_COLUMN, text)


class TableCursor:
    def __init__(self, table: pa.Table | None, tag: str = "SELECT") -> None:
        self.table = public_table(table) if table is not None else None
        self.schema = self.table.schema if self.table is not None else None
        self._tag = tag
        self._offset = 0
        self.rows_sent = 0

    @property
    def tag(self) -> str:
        return f"SELECT {self.rows_sent}" if self.schema is not None else self._tag

    async def next_rows(self, limit: int | None) -> pa.Table | None:
        if self.table is None or self._offset >= self.table.num_rows:
            return None
        n = limit or PAGE_ROWS
        page = self.table.slice(self._offset, n)
        self._offset += page.num_rows
        self.rows_sent += page.num_rows
        return page

    def close(self) -> None:
        self.table = None


class OperationCursor:
    def __init__(self, op: Operation, tag: str, alive=lambda: True, closer=None) -> None:
        self.op = op
        self._alive = alive
        self._closer = closer or op.close
        self._tag = tag
        self.schema: pa.Schema | None = None
        self.rows_sent = 0
        self.notice: str | None = None
        self._token: int | None = 0
        self._buffer: pa.Table | None = None
        self.live = False

    @property
    def tag(self) -> str:
        return f"SELECT {self.rows_sent}" if self.schema is not None else self._tag

    async def _page(self):
        while True:
            if not self._alive():  # the client disconnected: stop the live query
                self.op.cancel()
                raise QueryCancelled("the client disconnected")
            page = await asyncio.to_thread(self.op.fetch, self._token, PAGE_ROWS)
            if page.result_type != "NOT_READY" or page.schema.names:
                return page

    async def prime(self) -> None:
        """Fetch the first page: it tells the schema (or that this is a command)."""
        page = await self._page()
        self.live = self.op.stream is not None
        if page.kind == "SUCCESS":
            self._token = None
            return
        data = public_table(page.data)
        if data.column_names == ["job id"] and not self.live:
            self.notice = f"submitted job {data.column(0)[0].as_py()}"
            self._token = None
            return
        self.schema = public_table(page.schema.empty_table()).schema
        self._buffer = data if data.num_rows else None
        self._token = page.next_token if page.result_type != "NOT_READY" else self._token

    async def next_rows(self, limit: int | None) -> pa.Table | None:
        want = limit or PAGE_ROWS
        while (self._buffer is None or self._buffer.num_rows < want) and self._token is not None:
            page = await self._page()
            if page.result_type == "NOT_READY":
                if self._buffer is not None:
                    break  # a live query: hand over what has arrived
                continue
            self._token = page.next_token
            data = public_table(page.data)
            if data.num_rows:
                self._buffer = data if self._buffer is None else pa.concat_tables(
                    [self._buffer, data.cast(self._buffer.schema)])
            if limit is None and self._buffer is not None:
                break
        if self._buffer is None or self._buffer.num_rows == 0:
            return None
        out = self._buffer.slice(0, want)
        rest = self._buffer.slice(want)
        self._buffer = rest if rest.num_rows else None
        self.rows_sent += out.num_rows
        return out

    def close(self) -> None:
        """Close the operation (and forget it in its session: a long connection's finished
        statements must not pile up)."""
        self._closer()


def command_tag(sql: str) -> str:
    """The CommandComplete tag of a FlowSQL statement without rows (``CREATE TABLE`` …)."""
    words = strip_code(sql).upper().split()
    if not words:
        return ""
    if words[0] in ("CREATE", "DROP", "ALTER") and len(words) > 1:
        second = words[2] if words[1] == "TEMPORARY" and len(words) > 2 else words[1]
        return f"{words[0]} {second}"
    if words[0] == "INSERT":
        return "INSERT 0 0"
    return words[0]
