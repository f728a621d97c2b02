"""Combining the watermarks of a task's input channels (Flink's StatusWatermarkValve).

Contract:
- Each channel has a watermark (initially ``MIN_WATERMARK``), an idle flag and a finished flag.
- The combined watermark is the minimum over channels that are neither idle nor finished; when
  every channel has finished it is ``MAX_WATERMARK``; when every unfinished channel is idle it
  does not move. It never goes backwards.
- Every ``on_*`` method returns the new combined watermark when it advanced, else ``None``;
  the task forwards a watermark to its operator chain only then.
- A channel becomes active again when it sends data, a watermark, or ``IdleMarker(False)``.
- :attr:`WatermarkValve.idle` is true when every unfinished channel is idle; the task forwards
  that status change downstream as an ``IdleMarker``.
"""

from __future__ import annotations

from flowsql.messages import MAX_WATERMARK, MIN_WATERMARK


class WatermarkValve:
    def __init__(self, num_channels: int) -> None:
        self.num_channels = num_channels
        self.watermarks = [MIN_WATERMARK] * num_channels
        self.idle_channels = [False] * num_channels
        self.finished = [False] * num_channels
        self.current = MIN_WATERMARK

    @property
    def all_finished(self) -> bool:
        return all(self.finished)

    @property
    def idle(self) -> bool:
        open_channels = [i for i in range(self.num_channels) if not self.finished[i]]
        return bool(open_channels) and all(self.idle_channels[i] for i in open_channels)

    def on_watermark(self, channel: int, timestamp: int) -> int | None:
        self.idle_channels[channel] = False
        if timestamp > self.watermarks[channel]:
            self.watermarks[channel] = timestamp
        return self._advance()

    def on_data(self, channel: int) -> int | None:
        """Data re-activates an idle channel (which may hold the combined watermark back)."""
        if self.idle_channels[channel]:
            self.idle_channels[channel] = False
            return self._advance()
        return None

    def on_idle(self, channel: int, idle: bool) -> int | None:
        self.idle_channels[channel] = idle
        return self._advance()

    def on_end(self, channel: int) -> int | None:
        self.finished[channel] = True
        return self._advance()

    def _advance(self) -> int | None:
        if self.all_finished:
            candidate = MAX_WATERMARK
        else:
            active = [
                self.watermarks[i]
                for i in range(self.num_channels)
                if not self.finished[i] and not self.idle_channels[i]
            ]
            if not active:
                return None
            candidate = min(active)
        if candidate > self.current:
            self.current = candidate
            return candidate
        return None
