"""The result resource of a collect sink whose reader is in another process.

Contract: a :class:`RemoteCollect` stands where an in-process
:class:`~flowsql.operators.sink.CollectResult` would (``bind(parallelism)``, ``writer()``):
its writer puts every batch into one channel (the subtask's channel of the JobManager's
result gate) and ends it with ``EndOfInput`` when the sink finishes, so the reader knows this
subtask is complete. Backpressure is the channel's: a client that reads slowly slows the job.
"""

from __future__ import annotations

import pyarrow as pa

from flowsql.messages import EndOfInput
from flowsql.runtime.taskmanager.channels import ChannelWriter


class _Writer:
    def __init__(self, channel: ChannelWriter) -> None:
        self.channel = channel

    def write(self, batch: pa.RecordBatch) -> None:
        self.channel.put(batch)

    def finish(self) -> None:
        self.channel.put(EndOfInput())
        close = getattr(self.channel, "close", None)
        if close is not None:
            close()


class RemoteCollect:
    def __init__(self, channel: ChannelWriter) -> None:
        self.channel = channel

    def bind(self, parallelism: int) -> None:
        return None

    def writer(self) -> _Writer:
        return _Writer(self.channel)

    def abort(self) -> None:
        abort = getattr(self.channel, "abort", None)
        if abort is not None:
            abort()
