"""Stream vocabulary: the row-kind column and the control messages that travel in the same
ordered channel as data batches.

Layering: a shared low-level module (like :mod:`flowsql.types` and :mod:`flowsql.errors`),
not part of ``flowsql.runtime``: operators, connectors' writers, the planner and the faces all
speak it, and the runtime only carries it, so it lives below all of them (architecture §1:
imports point down; ``tests/test_layering.py`` checks it).

Contract:
- Data is a ``pyarrow.RecordBatch``. A changelog stream carries an ``int8`` column named
  :data:`ROW_KIND` holding :class:`RowKind` codes; append-only streams omit it.
- Event time is ``timestamp[ms]``; watermarks and window bounds are ``int`` epoch milliseconds.
- A bounded source ends with ``Watermark(MAX_WATERMARK)`` then ``EndOfInput()``.
- An operator with several inputs forwards the minimum watermark over its inputs.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

ROW_KIND = "$row_kind"
MIN_WATERMARK = -(2**63)
MAX_WATERMARK = 2**63 - 1


class RowKind(enum.IntEnum):
    INSERT = 0  # +I
    UPDATE_BEFORE = 1  # -U
    UPDATE_AFTER = 2  # +U
    DELETE = 3  # -D

    @property
    def short(self) -> str:
        return ("+I", "-U", "+U", "-D")[self.value]


@dataclass(frozen=True)
class Watermark:
    """No row with event time ≤ ``timestamp`` (epoch ms) is expected any more."""

    timestamp: int


@dataclass(frozen=True)
class CheckpointBarrier:
    """Everything before it belongs to checkpoint ``checkpoint_id``. ``target``: the
    directory a savepoint's state goes to (None: the job's checkpoint directory)."""

    checkpoint_id: int
    target: str | None = None


@dataclass(frozen=True)
class EndOfInput:
    """The channel's producer has finished; nothing follows."""


@dataclass(frozen=True)
class IdleMarker:
    """The producer is idle (no data for the idle timeout): exclude it from the min-watermark
    until it sends data or a watermark again. ``idle=False`` marks it active again."""

    idle: bool = True


ControlMessage = Watermark | CheckpointBarrier | EndOfInput | IdleMarker
