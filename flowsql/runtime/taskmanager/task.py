"""A task: one subtask of one operator chain, running in its own thread.

Contract:
- A task runs one :class:`~flowsql.runtime.descriptors.TaskDeploymentDescriptor` (plain data:
  the chain's operator specs, head first, the subtask index and parallelism) with the live
  wiring its TaskManager built from the descriptor's addresses: an input gate, one
  partitioning writer per output edge, and resources (objects a builder may ask for, e.g. the
  result a collect sink writes to). The task builds its live operators from the specs with
  the operator registry, then runs.
- Source task (head builds to a ``SourceOperator``): the source drives the chain; when it
  returns, the task finishes the chain (final watermark, ``close``) and sends ``EndOfInput``.
- Other tasks loop over the input gate: batches go through the chain (``input_index`` from the
  channel's edge), watermarks/idle markers/end-of-input go through a
  :class:`~flowsql.runtime.taskmanager.watermarks.WatermarkValve`; the chain sees a watermark
  only when the combined input watermark advances. When every channel ended, the chain is
  finished: each operator in order receives ``Watermark(MAX)`` (if it has not yet) and then
  ``close(out)``, so what an operator emits on close still reaches the next one before that
  one's final watermark. Then ``EndOfInput`` goes downstream.
- Processing-time timers: operators of the chain with ``next_timer()`` get ``on_timer(now,
  out)`` once the task's clock (``Task(clock=...)``, the system clock by default, handed to
  every operator as ``ctx.clock``) reaches it: a task with inputs waits on its gate at most
  until the earliest timer is due and checks timers after every message; a source task checks
  them at every ``poll`` (every pass over its splits, at least every 50 ms when idle).
- Checkpoints (:mod:`.checkpointing`): a source task takes a triggered checkpoint between
  reads; a task with inputs aligns barriers (blocking each channel that delivered one until
  all have); either snapshots its chain, forwards the barrier and writes the state on its
  uploader thread, then acknowledges. With ``desc.restore`` every operator restores first.
  A stop-with-savepoint trigger makes the source emit nothing after the barrier (the task
  waits to be cancelled); with drain the source first flushes and emits ``Watermark(MAX)``
  through the chain, so downstream windows fire and their rows precede the barrier.
- Within a chain, operator ``i`` emits straight into operator ``i + 1`` (no queue, no copy);
  the tail emits into the task's outputs. The task counts records in/out per operator itself
  (:attr:`Task.io`; operators need not count); operators count late records in
  ``OperatorContext.metrics``.
- Steps and outcome: ``run`` = (1) build + open operators, (2) process, (3) finish, (4) report
  ``FINISHED``; an exception in an operator reports ``FAILED`` with an
  :class:`~flowsql.errors.ExecutionError` naming that operator (the traceback is kept for logs
  and ``--verbose``); :meth:`Task.cancel` stops the task promptly and reports ``CANCELED``.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from typing import Any

import pyarrow as pa

from flowsql.errors import ExecutionError, FlowSQLError
from flowsql.messages import (
    MAX_WATERMARK,
    MIN_WATERMARK,
    CheckpointBarrier,
    EndOfInput,
    IdleMarker,
    Watermark,
)
from flowsql.operators.base import Operator, OperatorContext, OperatorMetrics
from flowsql.operators.clock import SYSTEM_CLOCK, Clock
from flowsql.operators.registry import BuildEnv, OperatorRegistry
from flowsql.operators.source import SourceOperator
from flowsql.runtime.checkpoints.storage import open_checkpoint
from flowsql.runtime.descriptors import TaskDeploymentDescriptor
from flowsql.runtime.taskmanager.channels import InputGate, TaskCancelled
from flowsql.runtime.taskmanager.checkpointing import (
    BarrierAligner,
    TaskSnapshots,
    positions_from,
    positions_table,
    restore_state,
)
from flowsql.runtime.taskmanager.outputs import EdgeWriter, TaskOutput
from flowsql.runtime.taskmanager.watermarks import WatermarkValve

log = logging.getLogger("flowsql.runtime")


class OperatorFailure(Exception):
    """Internal: an operator raised; carries its id up through the chain."""

    def __init__(self, operator_id: str, cause: BaseException) -> None:
        super().__init__(f"{operator_id}: {cause!r}")
        self.operator_id = operator_id
        self.cause = cause


def _guard(operator_id: str, fn: Callable[..., Any], *args: Any) -> Any:
    try:
        return fn(*args)
    except (OperatorFailure, TaskCancelled):
        raise
    except Exception as e:
        raise OperatorFailure(operator_id, e) from e


class _Link:
    """Collector of operator ``index``: feeds the next operator, or the task output."""

    def __init__(self, chain: OperatorChain, index: int) -> None:
        self.chain = chain
        self.index = index

    def emit(self, batch: pa.RecordBatch) -> None:
        if not batch.num_rows:
            return
        self.chain.io[self.index].records_out += batch.num_rows
        self.chain.push(self.index + 1, batch, 0)


class OperatorChain:
    """Synchronous plumbing through a linear chain of opened operators."""

    def __init__(
        self,
        ids: list[str],
        operators: list[Operator],
        io: list[OperatorMetrics],
        output: TaskOutput,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.ids = ids
        self.operators = operators
        self.io = io
        self.output = output
        self.clock = clock
        # operators with processing-time timers (flowsql.operators.base: next_timer/on_timer)
        self.timed = [i for i, op in enumerate(operators) if hasattr(op, "next_timer")]
        self.links = [_Link(self, i) for i in range(len(operators))]
        self.last_watermark = [MIN_WATERMARK] * len(operators)
        self.output_watermark = MIN_WATERMARK

    def push(self, index: int, batch: pa.RecordBatch, input_index: int) -> None:
        if index >= len(self.operators):
            self.output.emit(batch)
            return
        self.io[index].records_in += batch.num_rows
        _guard(self.ids[index], self.operators[index].process_batch, batch, self.links[index], input_index)

    def process(self, batch: pa.RecordBatch, input_index: int = 0) -> None:
        if batch.num_rows:
            self.push(0, batch, input_index)

    def watermark(self, timestamp: int) -> None:
        wm: Watermark | None = Watermark(timestamp)
        for i, op in enumerate(self.operators):
            self.last_watermark[i] = max(self.last_watermark[i], wm.timestamp)
            wm = _guard(self.ids[i], op.on_watermark, wm, self.links[i])
            if wm is None:
                return
        if wm.timestamp > self.output_watermark:
            self.output_watermark = wm.timestamp
            self.output.broadcast(wm)

    def next_timer(self) -> int | None:
        """The earliest processing-time timer of the chain (clock ms), or None."""
        due = [t for i in self.timed if (t := self.operators[i].next_timer()) is not None]
        return min(due) if due else None

    def fire_timers(self) -> None:
        """Call ``on_timer`` of every operator whose timer is due, head to tail (what one
        emits reaches the next before that one's timer runs)."""
        if not self.timed:
            return
        now = self.clock.now_ms()
        for i in self.timed:
            due = self.operators[i].next_timer()
            if due is not None and now >= due:
                _guard(self.ids[i], self.operators[i].on_timer, now, self.links[i])

    def timer_wait(self) -> float | None:
        """Seconds to wait for input before a timer is due (at most 0.1 s: a clock that
        jumps, e.g. a test's, is noticed soon), or None without timers."""
        due = self.next_timer()
        if due is None:
            return None
        return min(max(0.0, (due - self.clock.now_ms()) / 1000.0), 0.1)

    def finish(self) -> None:
        """Final watermark then close, operator by operator (see module contract)."""
        final = Watermark(MAX_WATERMARK)
        for i, op in enumerate(self.operators):
            if self.last_watermark[i] < MAX_WATERMARK:
                self.last_watermark[i] = MAX_WATERMARK
                _guard(self.ids[i], op.on_watermark, final, self.links[i])
            _guard(self.ids[i], op.close, self.links[i])
        if self.output_watermark < MAX_WATERMARK:
            self.output_watermark = MAX_WATERMARK
            self.output.broadcast(final)


def _execution_error(operator_id: str, exc: BaseException, desc: TaskDeploymentDescriptor) -> ExecutionError:
    where = f"subtask {desc.subtask_index + 1}/{desc.parallelism}"
    if isinstance(exc, ExecutionError):
        if exc.operator_id is None:
            exc.operator_id = operator_id
        return exc
    if isinstance(exc, FlowSQLError):
        err = ExecutionError(f"{exc.title}: {exc.message} ({where})", operator_id=operator_id, hint=exc.hint)
    else:
        err = ExecutionError(f"{type(exc).__name__}: {exc} ({where})", operator_id=operator_id)
    err.__cause__ = exc
    return err


TaskEndCallback = Callable[["Task", str, "ExecutionError | None", "str | None"], None]
# (task, checkpoint id, bytes written, error or None, alignment ms)
CheckpointCallback = Callable[["Task", int, int, "str | None", int], None]


class Task:
    """Runs one task deployment descriptor in a daemon thread."""

    def __init__(
        self,
        desc: TaskDeploymentDescriptor,
        registry: OperatorRegistry,
        on_end: TaskEndCallback,
        *,
        input_gate: InputGate | None = None,
        outputs: list[EdgeWriter] | None = None,
        resources: Mapping[str, Any] | None = None,
        on_checkpoint: CheckpointCallback | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.desc = desc
        self.clock = clock
        self.registry = registry
        self.on_end = on_end
        self.on_checkpoint = on_checkpoint
        # checkpoints asked of this source task, not yet taken:
        # (id, savepoint dir, stop after, drain = final watermark before)
        self._triggers: list[tuple[int, str | None, bool, bool]] = []
        self._snapshots = TaskSnapshots(desc)
        self._source: SourceOperator | None = None  # a source task's head, once it runs
        self.input_gate = input_gate
        self.outputs = list(outputs or [])
        self.resources = dict(resources or {})
        self.state = "CREATED"
        self.contexts: dict[str, OperatorContext] = {
            spec.id: OperatorContext(
                operator_id=spec.id,
                subtask_index=desc.subtask_index,
                parallelism=desc.parallelism,
                max_parallelism=desc.max_parallelism,
                config=dict(desc.config),
                job_id=desc.job_id,
                uid=spec.uid,
                clock=clock,
            )
            for spec in desc.operators
        }
        self.io: dict[str, OperatorMetrics] = {spec.id: OperatorMetrics() for spec in desc.operators}
        self._cancelled = threading.Event()
        self._chain: OperatorChain | None = None
        self._started: float | None = None
        self._ended: float | None = None
        self._idle_seconds = 0.0
        self._thread = threading.Thread(target=self._run, name=f"flowsql-task {desc.name}", daemon=True)

    @property
    def task_id(self) -> str:
        return self.desc.task_id

    def start(self) -> None:
        self._started = time.perf_counter()
        self.state = "RUNNING"
        self._thread.start()

    @property
    def cancelled(self) -> threading.Event:
        """Set when the task is being cancelled (remote channel writers watch it)."""
        return self._cancelled

    def trigger_checkpoint(self, checkpoint_id: int, target: str | None = None,
                           stop: bool = False, drain: bool = False) -> None:
        """Ask a source task to take checkpoint ``checkpoint_id`` at its next poll (a savepoint
        into ``target``; with ``stop`` the source emits nothing more afterwards and waits to
        be cancelled: stop-with-savepoint; with ``drain`` too it first emits what it buffered
        and the final watermark, so every event-time window fires before the barrier)."""
        self._triggers.append((checkpoint_id, target, stop, drain))

    def final_committers(self) -> list[Any]:
        """Operators of this finished chain that publish their output only when the whole
        job finished (transactional sinks)."""
        chain = self._chain
        if chain is None:
            return []
        return [op for op in chain.operators
                if getattr(op, "transactional", False) and hasattr(op, "commit_final")]

    def notify_checkpoint_complete(self, checkpoint_id: int) -> None:
        """Checkpoint ``checkpoint_id`` is complete: operators that commit on completion
        (transactional sinks) do so now, on the caller's thread."""
        chain = self._chain
        if chain is None:
            return
        for op_id, op in zip(chain.ids, chain.operators, strict=True):
            hook = getattr(op, "notify_checkpoint_complete", None)
            if hook is not None:
                try:
                    hook(checkpoint_id)
                except Exception as e:  # noqa: BLE001 - recovery commits it again
                    log.warning("task %s: committing checkpoint %d in %s failed: %s",
                                self.desc.name, checkpoint_id, op_id, e)

    def cancel(self) -> None:
        self._cancelled.set()
        if self.input_gate is not None:
            self.input_gate.cancel()
        for edge in self.outputs:
            edge.abort()

    def metrics(self) -> dict[str, dict[str, int]]:
        """Per operator of the chain: records in/out, late records, the operator's input
        watermark (epoch ms; absent before the first one), and the task's (the chain's, as a
        Flink vertex's) ``backpressured_ms`` (time inside output channel puts) and, for a task
        reading an input gate, ``busy_ms`` (time neither waiting for input nor for output) and
        ``channel_fill_permille`` (queued messages per thousand of the gate's capacity), and
        ``credits`` (the send credits its network channels hold now) — plain data for reports."""
        out: dict[str, dict[str, int]] = {}
        chain = self._chain
        timing: dict[str, int] = {}
        if self._started is not None:
            elapsed = (self._ended or time.perf_counter()) - self._started
            blocked = sum(e.put_seconds for e in self.outputs)
            timing["backpressured_ms"] = int(blocked * 1000)
            gate = self.input_gate
            if gate is not None:
                timing["busy_ms"] = int(max(0.0, elapsed - blocked - self._idle_seconds) * 1000)
                pending = getattr(gate, "pending", None)
                if pending is not None and self._ended is None:
                    timing["channel_fill_permille"] = (
                        1000 * pending() // max(1, gate.num_channels * self.desc.capacity))
            credits = [w.credits for e in self.outputs for w in e.writers if hasattr(w, "credits")]
            if credits:
                timing["credits"] = sum(credits)
        for spec in self.desc.operators:
            io = self.io[spec.id]
            m = {"in": io.records_in, "out": io.records_out,
                 "late": self.contexts[spec.id].metrics.late_records_dropped}
            malformed = self.contexts[spec.id].metrics.extra.get("malformed_records")
            if malformed:
                m["malformed_records"] = int(malformed)
            if chain is not None and spec.id in chain.ids:
                wm = chain.last_watermark[chain.ids.index(spec.id)]
                if wm != MIN_WATERMARK:
                    m["watermark"] = wm
            m.update(timing)
            out[spec.id] = m
        self._flow_metrics(out)
        return out

    def _flow_metrics(self, out: dict[str, dict[str, int]]) -> None:
        """Flow control maxima: on the head operator ``max_queued`` / ``queue_capacity`` of the
        input gate (the most messages one channel held; its bound); on the tail operator
        ``max_in_flight`` / ``capacity`` over the remote output channels (the most messages one
        channel had sent and not yet consumed; the smallest receiver capacity)."""
        gate = self.input_gate
        if gate is not None and hasattr(gate, "max_queued"):
            head = out[self.desc.operators[0].id]
            head["max_queued"] = int(gate.max_queued)
            head["queue_capacity"] = int(getattr(gate, "capacity", 0))
        stats = [w.flow_stats() for e in self.outputs for w in e.writers if hasattr(w, "flow_stats")]
        caps = [c for _, c in stats if c is not None]
        if caps:
            tail = out[self.desc.operators[-1].id]
            tail["max_in_flight"] = max(n for n, _ in stats)
            tail["capacity"] = min(caps)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # -- the thread --------------------------------------------------------------------------
    def _run(self) -> None:
        outcome, error, details = "FINISHED", None, None
        try:
            head, chain = self._build()
            if isinstance(head, SourceOperator):
                self._run_source(head, chain)
            else:
                self._run_inputs(chain)
            if self._cancelled.is_set():
                raise TaskCancelled(self.task_id)
            chain.finish()
            chain.output.broadcast(EndOfInput())
            chain.output.close()
        except TaskCancelled:
            outcome = "CANCELED"
        except OperatorFailure as f:
            outcome, details = "FAILED", "".join(traceback.format_exception(f.cause))
            error = _execution_error(f.operator_id, f.cause, self.desc)
            where = self._source.position_text() if self._source is not None else ""
            if where:
                error.message += f" [source position: {where}]"
        except BaseException as e:  # a runtime bug: still fail the job, never hang it
            outcome, details = "FAILED", traceback.format_exc()
            error = _execution_error(self.desc.operators[0].id, e, self.desc)
        if outcome == "FAILED" and self._cancelled.is_set():
            outcome = "CANCELED"  # errors caused by tearing the job down are not failures
        if outcome == "FAILED":
            log.error("task %s failed: %s\n%s", self.desc.name, error, details)
        self._snapshots.close(wait=outcome == "FINISHED")  # uploads of a stopped task are moot
        self.state = outcome
        self._ended = time.perf_counter()
        try:
            self.on_end(self, outcome, error, details)
        finally:
            # Only now (the JobManager knows why we stopped) release producers still blocked
            # on our channels; they see TaskCancelled while the job is already FAILING.
            # (A FINISHED task saw every channel end: no producer waits, and cancelling the
            # gate would tell remote producers still closing their streams that it failed.)
            if outcome != "FINISHED":
                if self.input_gate is not None:
                    self.input_gate.cancel()
                for edge in self.outputs:
                    edge.abort()

    def _aligned(self, aligner: BarrierAligner, gate: InputGate, chain: OperatorChain) -> None:
        """Every live channel delivered the barrier: snapshot, forward, release the channels."""
        target = aligner.target
        checkpoint_id = aligner.finish()
        self._checkpoint(checkpoint_id, chain, alignment_ms=int(aligner.last_alignment_s * 1000),
                         target=target)
        gate.unblock_all()

    def _build(self) -> tuple[Operator | SourceOperator, OperatorChain]:
        """Step 1: build every operator from its spec and open it."""
        desc = self.desc
        meta = open_checkpoint(str(desc.restore)).metadata if desc.restore else None
        if meta is not None:  # before open: writers number their epochs after it
            for ctx in self.contexts.values():
                ctx.restored_checkpoint_id = int(meta.get("checkpoint_id") or 0)
        live: list[Any] = []
        for spec in desc.operators:
            env = BuildEnv(
                operator_id=spec.id,
                subtask_index=desc.subtask_index,
                parallelism=desc.parallelism,
                resources=self.resources,
                config=desc.config,
            )
            op = _guard(spec.id, self.registry.build, spec.kind, spec.params, env)
            _guard(spec.id, op.open, self.contexts[spec.id])
            live.append(op)
        if meta is not None:
            self._restore(live, meta)
        head = live[0]
        rest = live[1:] if isinstance(head, SourceOperator) else live
        specs = desc.operators[1:] if isinstance(head, SourceOperator) else desc.operators
        for spec, op in zip(specs, rest, strict=True):
            if not isinstance(op, Operator):
                raise OperatorFailure(spec.id, TypeError(f"kind '{spec.kind}' is not an operator"))
        chain = OperatorChain(
            [s.id for s in specs], rest, [self.io[s.id] for s in specs], TaskOutput(self.outputs),
            self.clock,
        )
        self._chain = chain
        return head, chain

    def _restore(self, live: list[Any], meta: Mapping[str, Any]) -> None:
        """Give every operator its state from the checkpoint ``desc.restore`` (``meta``: its
        metadata)."""
        desc = self.desc
        then = meta.get("operators", {})
        for spec, op in zip(desc.operators, live, strict=True):
            is_source = isinstance(op, SourceOperator)
            state = _guard(spec.id, restore_state, desc, spec.uid, is_source,
                           (then.get(spec.uid) or {}).get("parallelism"),
                           getattr(op, "state_keys", None))
            if is_source:
                if "positions" in state:
                    op.restore_positions(positions_from(state["positions"]))
            elif state:
                _guard(spec.id, op.restore, state)

    def _checkpoint(self, checkpoint_id: int, chain: OperatorChain,
                    source: SourceOperator | None = None, alignment_ms: int = 0,
                    target: str | None = None) -> None:
        """Snapshot the chain (and the source's positions), forward the barrier, report.
        Steps: (1) a source emits what it buffered and gives its positions; (2) every operator
        snapshots (synchronously, on the task thread); (3) the barrier goes downstream;
        (4) off the data path, on the task's uploader thread (in order): the state is written,
        then (5) the JobManager hears of it. A failure to write declines the checkpoint
        (reported with the error) without failing the task."""
        states: dict[str, dict[str, pa.Table]] = {}  # by operator uid
        uids = {spec.id: spec.uid for spec in self.desc.operators}
        if source is not None:  # 1
            head = self.desc.operators[0]
            states[head.uid] = {"positions": positions_table(_guard(head.id, source.positions))}
        for op_id, op in zip(chain.ids, chain.operators, strict=True):  # 2
            states[uids[op_id]] = _guard(op_id, op.snapshot, checkpoint_id)
        chain.output.broadcast(CheckpointBarrier(checkpoint_id, target))  # 3

        def upload() -> None:
            error, size = None, 0
            try:
                size = self._snapshots.write(checkpoint_id, states, target)  # 4
            except Exception as e:  # noqa: BLE001 - storage failures decline the checkpoint
                error = (f"writing checkpoint {checkpoint_id} state failed: "
                         f"{type(e).__name__}: {e}")
                log.warning("task %s: %s", self.desc.name, error)
            if self.on_checkpoint is not None:  # 5
                self.on_checkpoint(self, checkpoint_id, size, error, alignment_ms)

        self._snapshots.submit(upload)

    def _run_source(self, source: SourceOperator, chain: OperatorChain) -> None:
        """Step 2 for a source task: the source drives the chain."""
        self._source = source
        source_id = self.desc.operators[0].id
        counts = self.io[source_id]
        triggers = self._triggers

        class _Out:
            def emit(self, batch: pa.RecordBatch) -> None:
                counts.records_out += batch.num_rows
                chain.process(batch)

            def watermark(self, timestamp: int) -> None:
                chain.watermark(timestamp)

            def idle(self, idle: bool) -> None:
                chain.output.broadcast(IdleMarker(idle))

            def poll(_self) -> None:
                chain.fire_timers()  # processing-time timers of the chained operators
                while triggers:
                    n, target, stop, drain = triggers.pop(0)
                    if drain:  # stop WITH DRAIN: MAX watermark first, windows fire
                        _guard(source_id, source.drain)
                    self._checkpoint(n, chain, source, target=target)
                    if stop:  # stop-with-savepoint: nothing after the barrier
                        self._cancelled.wait()

        _guard(source_id, source.run, _Out(), self._cancelled)

    def _run_inputs(self, chain: OperatorChain) -> None:
        """Step 2 for other tasks: read the gate until every channel ended."""
        gate = self.input_gate
        if gate is None:
            raise OperatorFailure(self.desc.operators[0].id, ValueError("task has no inputs"))
        valve = WatermarkValve(gate.num_channels)
        aligner = BarrierAligner(gate.num_channels)
        inputs = self.desc.channel_inputs
        idle_out = False
        clock = time.perf_counter
        while not valve.all_finished:
            t0 = clock()
            item = gate.get(chain.timer_wait())
            self._idle_seconds += clock() - t0
            chain.fire_timers()
            if item is None:
                continue
            channel, msg = item
            if isinstance(msg, pa.RecordBatch):
                advanced = valve.on_data(channel)
                chain.process(msg, inputs[channel])
            elif isinstance(msg, Watermark):
                advanced = valve.on_watermark(channel, msg.timestamp)
            elif isinstance(msg, IdleMarker):
                advanced = valve.on_idle(channel, msg.idle)
            elif isinstance(msg, EndOfInput):
                advanced = valve.on_end(channel)
                if aligner.on_end(channel):
                    self._aligned(aligner, gate, chain)
            elif isinstance(msg, CheckpointBarrier):
                step = aligner.on_barrier(channel, msg.checkpoint_id, msg.target)
                if step == "block":
                    gate.block(channel)
                elif step == "done":
                    self._aligned(aligner, gate, chain)
                continue
            else:
                raise TypeError(f"unexpected message on channel {channel}: {msg!r}")
            if advanced is not None:
                chain.watermark(advanced)
            if valve.idle != idle_out and not valve.all_finished:
                idle_out = valve.idle
                chain.output.broadcast(IdleMarker(idle_out))
