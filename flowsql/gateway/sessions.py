"""Gateway sessions: one FlowSQL :class:`~flowsql.session.Session` per client session.

Contract:
- :class:`SessionManager` opens a :class:`GatewaySession` per client (``open``), finds it by
  handle (``get``, which also counts as activity) and closes it (``close``). Every session
  goes through the same Session and Catalog code as the shell (no second SQL path): the
  persistent catalog under the gateway's home, the session's own ``SET`` configuration
  (``defaults`` first — e.g. the cluster the gateway fronts — then the client's properties)
  and its TEMPORARY objects.
- A session runs its statements one at a time, in submission order, on its own worker
  thread (:meth:`GatewaySession.submit` returns the PENDING :class:`Operation` at once); a
  statement that blocks (``table.dml-sync``) delays the ones behind it, never other sessions.
  :meth:`GatewaySession.execute` submits and waits (for configure-session and the Postgres
  wire, which answer when the statement is done).
- Idle sessions: a session neither used nor heartbeated for ``idle_timeout_s`` (Flink's
  ``sql-gateway.session.idle-timeout``, default 10 min; 0 = never) is closed by a reaper
  thread checking every ``check_interval_s``; closing cancels its running statements and its
  live queries (submitted INSERT jobs keep running, as in Flink). At most ``max_sessions``
  are open (``sql-gateway.session.max-num``); one more is a ValidationError.
- ``len(manager)`` is the number of open sessions (the session gauge).
"""

from __future__ import annotations

import ctypes
import gc
import queue
import threading
import time
import uuid
from pathlib import Path

from flowsql.errors import ValidationError
from flowsql.gateway.operation import Operation
from flowsql.session import Session

DEFAULT_IDLE_TIMEOUT_S = 600.0
DEFAULT_CHECK_INTERVAL_S = 60.0
DEFAULT_MAX_SESSIONS = 1000


def release_memory() -> None:
    """Give freed heap back to the OS (glibc's ``malloc_trim``; a no-op elsewhere).

    Each session's worker thread allocates from its own glibc arena; what the sessions freed
    stays mapped in those arenas until trimmed, so without this the gateway's RSS would stay
    at its peak after a burst of sessions."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class GatewaySession:
    def __init__(self, home: Path | None, config: dict[str, str], name: str | None = None) -> None:
        self.handle = str(uuid.uuid4())
        self.name = name
        self.session = Session(home, config)
        self.created = time.time()
        self.last_access = time.monotonic()
        self.operations: dict[str, Operation] = {}
        self._queue: queue.SimpleQueue[Operation | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self._worker = threading.Thread(target=self._work, name=f"gateway-session-{self.handle[:8]}",
                                        daemon=True)
        self._worker.start()

    def touch(self) -> None:
        self.last_access = time.monotonic()

    def submit(self, statement: str, config: dict[str, str] | None = None) -> Operation:
        op = Operation(self.session, statement, config=dict(config or {}))
        with self._lock:
            if self._closed:
                raise ValidationError(f"session {self.handle} is closed")
            self.operations[op.handle] = op
        self._queue.put(op)
        self.touch()
        return op

    def execute(self, statement: str, timeout: float | None = None) -> Operation:
        op = self.submit(statement)
        op.wait(timeout)
        return op

    def operation(self, handle: str) -> Operation:
        op = self.operations.get(handle)
        if op is None:
            raise ValidationError(f"operation {handle} does not exist in session {self.handle}")
        self.touch()
        return op

    def close_operation(self, handle: str) -> None:
        self.operation(handle).close()
        with self._lock:
            self.operations.pop(handle, None)

    def _work(self) -> None:
        while True:
            op = self._queue.get()
            if op is None:
                return
            op.run()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            ops = list(self.operations.values())
            self.operations.clear()
        for op in ops:
            op.close()
        self._queue.put(None)
        self._worker.join(timeout=10)
        self.session.close()


class SessionManager:
    def __init__(
        self,
        home: Path | None = None,
        defaults: dict[str, str] | None = None,
        *,
        idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S,
        check_interval_s: float = DEFAULT_CHECK_INTERVAL_S,
        max_sessions: int = DEFAULT_MAX_SESSIONS,
    ) -> None:
        self.home = home
        self.defaults = dict(defaults or {})
        self.idle_timeout_s = idle_timeout_s
        self.max_sessions = max_sessions
        self._sessions: dict[str, GatewaySession] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._reaper: threading.Thread | None = None
        if idle_timeout_s > 0:
            self._reaper = threading.Thread(target=self._reap, args=(check_interval_s,),
                                            name="gateway-session-reaper", daemon=True)
            self._reaper.start()

    def __len__(self) -> int:
        return len(self._sessions)

    def sessions(self) -> list[GatewaySession]:
        """The open sessions (a snapshot)."""
        with self._lock:
            return list(self._sessions.values())

    def open(self, properties: dict[str, str] | None = None, name: str | None = None) -> GatewaySession:
        with self._lock:
            if len(self._sessions) >= self.max_sessions:
                raise ValidationError(
                    f"too many open sessions (the limit is {self.max_sessions})",
                    hint="close idle sessions, or raise 'sql-gateway.session.max-num'")
        config = {**self.defaults, **(properties or {})}
        s = GatewaySession(self.home, config, name)
        with self._lock:
            self._sessions[s.handle] = s
        return s

    def get(self, handle: str) -> GatewaySession:
        s = self._sessions.get(handle)
        if s is None:
            raise ValidationError(f"session {handle} does not exist")
        s.touch()
        return s

    def close(self, handle: str) -> None:
        with self._lock:
            s = self._sessions.pop(handle, None)
        if s is None:
            raise ValidationError(f"session {handle} does not exist")
        s.close()
        if not self._sessions:
            release_memory()

    def _reap(self, interval: float) -> None:
        while not self._stop.wait(interval):
            now = time.monotonic()
            with self._lock:
                idle = [h for h, s in self._sessions.items()
                        if now - s.last_access > self.idle_timeout_s]
            for handle in idle:
                try:
                    self.close(handle)
                except ValidationError:
                    pass  # closed by its client meanwhile

    def shutdown(self) -> None:
        self._stop.set()
        with self._lock:
            handles = list(self._sessions)
        for handle in handles:
            try:
                self.close(handle)
            except ValidationError:
                pass
