"""One Postgres client connection: startup, authentication, simple and extended query protocol.

Contract:
1. Startup: SSLRequest → ``S`` and TLS when the server has a certificate, else ``N``;
   GSSENCRequest → ``N``; CancelRequest → the server cancels the matching connection's
   running statement and this connection closes; protocol 3.0 startup → authentication
   (:mod:`~flowsql.gateway.pgwire.authn`). A failed login is 28P01 and nothing was opened.
2. After AuthenticationOk a gateway session is opened (one FlowSQL Session per connection),
   then ParameterStatus (server_version ``16.0 (FlowSQL)``, UTF8, ISO dates, UTC…),
   BackendKeyData and ReadyForQuery.
3. Simple query: the string's statements run in order (each routed by
   :mod:`~flowsql.gateway.pgwire.router`); rows go in text format; the first error ends the
   string. Extended query: Parse / Bind / Describe / Execute / Close / Flush / Sync with named
   and unnamed statements and portals; parameters are substituted as literals
   (:mod:`~flowsql.gateway.pgwire.params`); ``Execute`` with a row limit suspends the portal
   (PortalSuspended) and the next ``Execute`` continues it; after an error every message up
   to Sync is skipped. A Describe of a statement learns its columns by running it once with
   NULL parameters (queries only: a FlowSQL query wrapped in ``LIMIT 0``).
4. A plain SELECT over an unbounded source streams: the rows of its changelog arrive as the
   job produces them (a ``row_kind`` column when it is a changelog), until the client's row
   limit (a cursor: Execute with a limit, PortalSuspended), a cancel request (57014) or the
   end of the connection. The simple protocol therefore streams until cancelled; add a LIMIT
   or use the extended protocol with a fetch size to page it.
5. Statements run on the gateway session's worker thread; this coroutine only awaits them in
   a thread (``asyncio.to_thread``), never blocking the event loop. When the client goes
   away the gateway session is closed, which cancels its running statement and live jobs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import struct
from dataclasses import dataclass, field

import pyarrow as pa

from flowsql.errors import FlowSQLError, QueryCancelled, ValidationError
from flowsql.gateway.operation import OperationStatus
from flowsql.gateway.pgwire import authn, codec, params, router
from flowsql.gateway.pgwire import pgtypes as T
from flowsql.gateway.pgwire.errors import Refused, error_fields
from flowsql.gateway.pgwire.mirror import CatalogMirror
from flowsql.gateway.pgwire.pgcatalog import SETTINGS, pg_column_type
from flowsql.gateway.pgwire.results import OperationCursor, TableCursor, command_tag

log = logging.getLogger(__name__)
WAIT_SLICE_S = 0.5  # how often a waiting statement checks that its client is still there
SERVER_VERSION = SETTINGS["server_version"]
VERSION_TEXT = f"PostgreSQL {SERVER_VERSION} on x86_64-pc-linux-gnu, compiled by FlowSQL"
REPORTED = ["server_version", "server_encoding", "client_encoding", "DateStyle",
            "IntervalStyle", "TimeZone", "integer_datetimes", "standard_conforming_strings",
            "is_superuser", "session_authorization", "application_name",
            "default_transaction_read_only", "in_hot_standby"]


@dataclass
class Prepared:
    sql: str
    param_oids: list[int]
    columns: pa.Schema | None = None
    described: bool = False


@dataclass
class Portal:
    stmt: Prepared
    sql: str
    formats: list[int]
    cursor: object | None = None
    done: bool = False
    sent_description: bool = False
    extra: dict = field(default_factory=dict)


class PgConnection:
    def __init__(self, server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.server = server
        self.reader, self.writer = reader, writer
        self.pid = server.next_pid()
        self.secret = secrets.randbits(31)
        self.gs = None
        self.mirror: CatalogMirror | None = None  # built on first use (_mirror)
        self.database = self.user = ""
        self.statements: dict[str, Prepared] = {}
        self.portals: dict[str, Portal] = {}
        self.cursors: dict[str, object] = {}
        self.current = None  # the running Operation, for cancel requests
        self.tx = b"I"
        self.settings: dict[str, str] = {}

    # -- lifecycle -----------------------------------------------------------------------
    async def run(self) -> None:
        try:
            if await self._startup():
                await self._loop()
        except (asyncio.IncompleteReadError, ConnectionError, BrokenPipeError):
            pass
        except codec.ProtocolError as e:
            with contextlib.suppress(Exception):
                self.writer.write(codec.msg_error({"S": "FATAL", "V": "FATAL", "C": "08P01",
                                                   "M": str(e)}))
        except Exception:  # noqa: BLE001 - never a traceback on the wire; log it here
            log.exception("pgwire connection %s failed", self.pid)
        finally:
            await self._cleanup()

    async def _cleanup(self) -> None:
        self.server.unregister(self)
        for portal in self.portals.values():
            self._close_cursor(portal)
        for cursor in self.cursors.values():
            with contextlib.suppress(Exception):
                cursor.close()
        if self.gs is not None:
            gs, self.gs = self.gs, None
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.server.manager.close, gs.handle)
        if self.mirror is not None:
            self.mirror.close()
        with contextlib.suppress(Exception):
            self.writer.close()

    def gone(self) -> bool:
        """True once the client's connection is closed (noticed without reading from it)."""
        return self.writer.transport is None or self.writer.transport.is_closing()

    def cancel(self) -> None:
        """A CancelRequest for this connection: stop what runs now."""
        op = self.current
        if op is not None:
            op.cancel()
        if self.mirror is not None:
            self.mirror.interrupt()

    # -- startup -------------------------------------------------------------------------
    async def _startup(self) -> bool:
        tls = False
        while True:
            code, body = await codec.read_startup(self.reader)
            if code == codec.SSL_REQUEST:
                if self.server.ssl_context is not None and not tls:
                    self.writer.write(b"S")
                    await self.writer.drain()
                    await self.writer.start_tls(self.server.ssl_context)
                    tls = True
                else:
                    self.writer.write(b"N")
                    await self.writer.drain()
                continue
            if code == codec.GSSENC_REQUEST:
                self.writer.write(b"N")
                await self.writer.drain()
                continue
            if code == codec.CANCEL_REQUEST:
                pid, secret = struct.unpack("!ii", body[:8])
                self.server.cancel(pid, secret)
                return False
            if code >> 16 != 3:
                raise codec.ProtocolError(f"unsupported frontend protocol {code >> 16}")
            startup = codec.parse_startup_params(body)
            break
        user = startup.get("user", "")
        database = startup.get("database") or user or "flowsql"
        if not await authn.authenticate(self.reader, self.writer, self.server.auth, user,
                                        self.server.auth_method):
            self.writer.write(codec.msg_error({
                "S": "FATAL", "V": "FATAL", "C": "28P01",
                "M": f'password authentication failed for user "{user}"'}))
            await self.writer.drain()
            return False
        try:
            self.gs = await asyncio.to_thread(self.server.manager.open, {}, f"pg:{user}")
        except FlowSQLError as e:
            self.writer.write(codec.msg_error({**error_fields(e), "S": "FATAL", "V": "FATAL",
                                               "C": "53300"}))
            return False
        self.database, self.user = database, user
        self.settings = {**SETTINGS, "application_name": startup.get("application_name", ""),
                         "session_authorization": user}
        for key in ("DateStyle", "TimeZone", "client_encoding", "extra_float_digits"):
            if key in startup:
                self.settings[key] = startup[key]
        schema = self.gs.session.catalog.current_database
        self.settings["search_path"] = f'"$user", {schema}'
        self.server.register(self)
        out = [codec.msg_auth(0)]
        out += [codec.msg_parameter_status(k, self.settings[k]) for k in REPORTED]
        out += [codec.msg_backend_key(self.pid, self.secret), codec.msg_ready(self.tx)]
        self.writer.write(b"".join(out))
        await self.writer.drain()
        return True

    # -- message loop --------------------------------------------------------------------
    async def _loop(self) -> None:
        failed = False  # extended protocol: skip to Sync after an error
        while True:
            kind, body = await codec.read_message(self.reader)
            if kind == b"X":
                return
            if kind == b"Q":
                failed = False
                await self._simple(codec.Reader(body).cstring())
                continue
            if kind == b"S":
                failed = False
                self.writer.write(codec.msg_ready(self.tx))
                await self.writer.drain()
                continue
            if kind == b"H":
                await self.writer.drain()
                continue
            if failed or kind in (b"d", b"c", b"f"):
                continue
            handler = {b"P": self._parse, b"B": self._bind, b"D": self._describe,
                       b"E": self._execute, b"C": self._close}.get(kind)
            try:
                if handler is None:
                    raise codec.ProtocolError(f"unsupported message type {kind!r}")
                await handler(codec.Reader(body))
            except codec.ProtocolError:
                raise
            except Exception as e:  # noqa: BLE001 - every failure becomes an ErrorResponse
                self._send_error(e)
                failed = True

    def _send_error(self, exc: BaseException, statement: str | None = None) -> None:
        if not isinstance(exc, FlowSQLError):
            log.warning("pgwire internal error: %r", exc)
        self.writer.write(codec.msg_error(error_fields(exc, statement)))

    # -- simple query --------------------------------------------------------------------
    async def _simple(self, sql: str) -> None:
        statements = router.split(sql)
        if not statements:
            self.writer.write(codec.EMPTY_QUERY)
        for stmt in statements:
            cursor = None
            try:
                cursor = await self._start(stmt)
                if cursor.schema is not None:
                    encoders = self._encoders(cursor.schema, [0])
                    self.writer.write(self._row_description(cursor.schema, encoders))
                    await self._send_rows(cursor, None, encoders)
                self._complete(cursor)
            except Exception as e:  # noqa: BLE001
                if cursor is not None:
                    with contextlib.suppress(Exception):
                        cursor.close()
                self._send_error(e, stmt)
                break
            finally:
                self.current = None
        self.writer.write(codec.msg_ready(self.tx))
        await self.writer.drain()

    def _complete(self, cursor) -> None:
        notice = getattr(cursor, "notice", None)
        if notice:
            self.writer.write(codec.msg_error({"S": "NOTICE", "V": "NOTICE", "C": "00000",
                                               "M": notice}, notice=True))
        self.writer.write(codec.msg_command_complete(cursor.tag))
        if isinstance(cursor, OperationCursor):
            cursor.close()

    async def _send_rows(self, cursor, limit: int | None, encoders) -> bool:
        """Send rows; True when the limit was reached with rows possibly left."""
        sent = 0
        while limit is None or sent < limit:
            table = await cursor.next_rows(None if limit is None else limit - sent)
            if table is None:
                return False
            self._write_rows(table, encoders)
            sent += table.num_rows
            await self.writer.drain()
        return True

    def _write_rows(self, table: pa.Table, encoders) -> None:
        columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
        out = []
        for values in zip(*columns, strict=True):
            out.append(codec.msg_data_row(
                [None if v is None else enc(v) for v, (enc, _) in zip(values, encoders,
                                                                       strict=True)]))
        self.writer.write(b"".join(out))

    def _encoders(self, schema: pa.Schema, formats: list[int]):
        encs = []
        for i, f in enumerate(schema):
            fmt = formats[i] if len(formats) > 1 else (formats[0] if formats else 0)
            encs.append(T.encoder(T.field_type(f)[0], fmt))
        return encs

    def _row_description(self, schema: pa.Schema, encoders) -> bytes:
        fields = []
        for f, (_, fmt) in zip(schema, encoders, strict=True):
            oid, size = T.field_type(f)
            fields.append((f.name, oid, size, fmt))
        return codec.msg_row_description(fields)

    # -- running one statement -------------------------------------------------------------
    async def _start(self, sql: str):
        r = router.route(sql)
        if r.kind == "empty":
            return TableCursor(None, "")
        if r.kind == "local":
            return self._local(sql, r.tag)
        if r.kind == "cursor":
            return await self._cursor_statement(sql, r.tag)
        if r.kind == "refuse":
            raise Refused(f"{r.tag} is not allowed through the Postgres protocol",
                          hint="FlowSQL reads files only through connector tables")
        if r.kind == "mirror":
            assert self.gs is not None
            mirror = await self._mirror()
            table = await asyncio.to_thread(mirror.query, sql, self.gs.session.catalog)
            return TableCursor(table)
        return await self._flowsql(sql)

    async def _mirror(self) -> CatalogMirror:
        """The catalog mirror, built on the first introspection query (most connections of
        scripts never need it, and building it costs a DuckDB start-up)."""
        if self.mirror is None:
            mirror = await asyncio.to_thread(CatalogMirror, self.database, self.user,
                                             VERSION_TEXT)
            mirror.settings.update(self.settings)
            mirror.cursors = sorted(self.cursors)
            self.mirror = mirror
        return self.mirror

    async def _flowsql(self, sql: str) -> OperationCursor:
        assert self.gs is not None
        op = self.gs.submit(sql)
        self.current = op
        while not await asyncio.to_thread(op.wait, WAIT_SLICE_S):
            if self.gone():  # the client went away mid-statement: cancel it
                op.cancel()
                raise QueryCancelled("the client disconnected")
        status = op.status
        if status is not OperationStatus.FINISHED:
            with contextlib.suppress(ValidationError):
                self.gs.close_operation(op.handle)
            if status is OperationStatus.ERROR and op.error is not None:
                raise op.error
            raise QueryCancelled("canceling statement due to user request")
        gs = self.gs

        def closer() -> None:
            with contextlib.suppress(ValidationError):
                gs.close_operation(op.handle)

        cursor = OperationCursor(op, command_tag(sql), alive=lambda: not self.gone(), closer=closer)
        try:
            await cursor.prime()
        except BaseException:
            cursor.close()
            raise
        return cursor

    async def _cursor_statement(self, sql: str, head: str):
        """DECLARE / FETCH / MOVE / CLOSE of SQL cursors (held until CLOSE or disconnect)."""
        if head == "DECLARE":
            parsed = router.parse_declare(sql)
            if parsed is None:
                raise ValidationError("expected DECLARE name CURSOR FOR query")
            name, query = parsed
            if name in self.cursors:
                raise ValidationError(f'cursor "{name}" already exists')
            self.cursors[name] = await self._start(query)
            self.current = None
            self._sync_cursors()
            return TableCursor(None, "DECLARE CURSOR")
        if head == "CLOSE":
            name = router.strip_code(sql).split()[1].rstrip(";").strip('"').lower()
            if name == "all":
                names = list(self.cursors)
            elif name in self.cursors:
                names = [name]
            else:
                raise ValidationError(f'cursor "{name}" does not exist')
            for n in names:
                self.portals.pop(n, None)
                with contextlib.suppress(Exception):
                    self.cursors.pop(n).close()
            self._sync_cursors()
            return TableCursor(None, "CLOSE CURSOR")
        parsed = router.parse_fetch(sql)
        if parsed is None or parsed[0] not in self.cursors:
            raise ValidationError(f'cursor "{parsed[0] if parsed else "?"}" does not exist')
        name, count = parsed
        cursor = self.cursors[name]
        if isinstance(cursor, OperationCursor):
            self.current = cursor.op
        if cursor.schema is None:
            return TableCursor(None, f"{head} 0")
        parts = []
        got = 0
        while count is None or got < count:
            table = await cursor.next_rows(None if count is None else count - got)
            if table is None:
                break
            parts.append(table)
            got += table.num_rows
            if getattr(cursor, "live", False):
                break  # a live changelog: what has arrived, at least one row
        rows = pa.concat_tables(parts) if parts else cursor.schema.empty_table()
        if head == "MOVE":
            return TableCursor(None, f"MOVE {rows.num_rows}")
        return TableCursor(rows, "FETCH")

    def _sync_cursors(self) -> None:
        if self.mirror is not None:
            self.mirror.cursors = sorted(self.cursors)

    def _local(self, sql: str, tag: str) -> TableCursor:
        if tag in ("BEGIN", "START TRANSACTION"):
            self.tx = b"T"
        elif tag in ("COMMIT", "ROLLBACK"):
            self.tx = b"I"
        if tag == "SET":
            parsed = router.parse_set(sql)
            if parsed is not None:
                name, value = parsed
                key = next((k for k in SETTINGS if k.lower() == name.lower()), name)
                self.settings[key] = value
                if self.mirror is not None:
                    self.mirror.settings[key] = value
                if key in REPORTED:
                    self.writer.write(codec.msg_parameter_status(key, value))
            return TableCursor(None, "SET")
        if tag == "RESET":
            return TableCursor(None, "RESET")
        if tag == "SHOW":
            name = " ".join(router.strip_code(sql).split()[1:]).rstrip(";").strip().lower()
            if name == "all":
                rows = sorted(self.settings.items())
                return TableCursor(pa.table({"name": [k for k, _ in rows],
                                             "setting": [v for _, v in rows]}))
            key = {"transaction isolation level": "transaction_isolation",
                   "time zone": "TimeZone"}.get(name, name)
            key = next((k for k in self.settings if k.lower() == key), key)
            column = name.replace(" ", "_") if " " in name else key
            return TableCursor(pa.table({column: [self.settings.get(key, "")]}))
        return TableCursor(None, tag)

    # -- extended query ------------------------------------------------------------------
    async def _parse(self, r: codec.Reader) -> None:
        name, sql = r.cstring(), r.cstring()
        oids = [r.int32() for _ in range(r.int16())]
        count = params.param_count(sql)
        oids += [0] * max(count - len(oids), 0)
        if name and name in self.statements:
            raise ValidationError(f'prepared statement "{name}" already exists')
        self.statements[name] = Prepared(sql, oids)
        self.writer.write(codec.PARSE_COMPLETE)

    async def _bind(self, r: codec.Reader) -> None:
        portal_name, stmt_name = r.cstring(), r.cstring()
        stmt = self.statements.get(stmt_name)
        if stmt is None:
            raise ValidationError(f'prepared statement "{stmt_name}" does not exist')
        pformats = [r.int16() for _ in range(r.int16())]
        values = []
        for i in range(r.int16()):
            n = r.int32()
            data = None if n < 0 else r.take(n)
            fmt = pformats[i] if len(pformats) > 1 else (pformats[0] if pformats else 0)
            oid = stmt.param_oids[i] if i < len(stmt.param_oids) else 0
            values.append(T.decode_param(oid, fmt, data))
        formats = [r.int16() for _ in range(r.int16())]
        sql = stmt.sql
        if values:
            casts = await asyncio.to_thread(self._param_casts, sql, stmt.param_oids)
            sql = params.substitute(sql, values, casts.get)
        old = self.portals.pop(portal_name, None)
        if old is not None:
            self._close_cursor(old)
        self.portals[portal_name] = Portal(stmt, sql, formats)
        self.writer.write(codec.BIND_COMPLETE)

    def _param_casts(self, sql: str, oids: list[int]) -> dict[int, str]:
        """Types for text parameters compared with a column (see params.substitute)."""
        if router.route(sql).kind != "flowsql" or self.gs is None:
            return {}
        return params.column_casts(sql, oids, self.gs.session.catalog)

    async def _describe(self, r: codec.Reader) -> None:
        what, name = r.take(1), r.cstring()
        if what == b"S":
            stmt = self.statements.get(name)
            if stmt is None:
                raise ValidationError(f'prepared statement "{name}" does not exist')
            if not stmt.described:
                stmt.columns = await self._describe_sql(stmt.sql, len(stmt.param_oids))
                casts = await asyncio.to_thread(self._param_casts, stmt.sql, stmt.param_oids)
                for n, ftype in casts.items():  # an open type takes its column's type
                    stmt.param_oids[n - 1] = pg_column_type(ftype)[0]
                stmt.described = True
            oids = [o if o else T.TEXT for o in stmt.param_oids]
            self.writer.write(codec.msg_parameter_description(oids))
            if stmt.columns is None:
                self.writer.write(codec.NO_DATA)
            else:
                self.writer.write(self._row_description(stmt.columns,
                                                        self._encoders(stmt.columns, [0])))
            return
        portal = self._portal(name)
        cursor = await self._portal_cursor(portal)
        if cursor.schema is None:
            self.writer.write(codec.NO_DATA)
        else:
            self.writer.write(self._row_description(
                cursor.schema, self._encoders(cursor.schema, portal.formats)))

    async def _describe_sql(self, sql: str, nparams: int) -> pa.Schema | None:
        """The columns a statement returns, found by running it once with NULL parameters."""
        probe = params.substitute(sql, [None] * nparams) if nparams else sql
        probe = probe.rstrip().rstrip(";")
        kind = router.route(probe).kind
        head = router.strip_code(probe).split()[0].upper() if probe.strip() else ""
        if kind in ("local", "empty", "refuse", "cursor"):
            tag = router.route(probe).tag
            if kind == "local" and tag == "SHOW":  # only SHOW has rows; nothing runs twice
                return self._local(probe, tag).schema
            fetch = router.parse_fetch(probe) if tag == "FETCH" else None
            if fetch is not None and fetch[0] in self.cursors:
                return self.cursors[fetch[0]].schema  # the cursor's columns, no rows taken
            return None
        if kind == "flowsql" and head not in ("SELECT", "WITH", "VALUES", "SHOW",
                                              "DESCRIBE", "DESC", "EXPLAIN", "("):
            return None
        if kind == "flowsql" and head in ("SELECT", "WITH", "VALUES", "("):
            wrapped = f"SELECT * FROM ({probe}) AS fsql_describe LIMIT 0"
            try:
                cursor = await self._start(wrapped)
            except FlowSQLError:
                cursor = await self._start(probe)
        else:
            cursor = await self._start(probe)
        try:
            return cursor.schema
        finally:
            cursor.close()
            self.current = None

    def _portal(self, name: str) -> Portal:
        """A portal by name; a SQL cursor (DECLARE) is a portal of the same name too."""
        portal = self.portals.get(name)
        if portal is None and name.lower() in self.cursors:
            cursor = self.cursors[name.lower()]
            portal = Portal(Prepared("", []), "", [0], cursor=cursor)
            self.portals[name] = portal
        if portal is None:
            raise ValidationError(f'portal "{name}" does not exist')
        return portal

    async def _portal_cursor(self, portal: Portal):
        if portal.cursor is None:
            try:
                portal.cursor = await self._start(portal.sql)
            finally:
                self.current = None
        return portal.cursor

    async def _execute(self, r: codec.Reader) -> None:
        name, limit = r.cstring(), r.int32()
        portal = self._portal(name)
        if portal.done:
            self.writer.write(codec.msg_command_complete(portal.cursor.tag))
            return
        cursor = await self._portal_cursor(portal)
        if isinstance(cursor, OperationCursor):
            self.current = cursor.op
        try:
            if cursor.schema is not None:
                encoders = self._encoders(cursor.schema, portal.formats)
                if await self._send_rows(cursor, limit if limit > 0 else None, encoders):
                    self.writer.write(codec.PORTAL_SUSPENDED)
                    return
            portal.done = True
            self._complete(cursor)
        finally:
            self.current = None

    async def _close(self, r: codec.Reader) -> None:
        what, name = r.take(1), r.cstring()
        if what == b"S":
            self.statements.pop(name, None)
        else:
            portal = self.portals.pop(name, None)
            if portal is not None:
                self._close_cursor(portal)
        self.writer.write(codec.CLOSE_COMPLETE)

    def _close_cursor(self, portal: Portal) -> None:
        if portal.cursor is not None:
            with contextlib.suppress(Exception):
                portal.cursor.close()
