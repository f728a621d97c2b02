"""The watermark valve: min over active inputs, idleness, end of input."""

from __future__ import annotations

from flowsql.messages import MAX_WATERMARK, MIN_WATERMARK
from flowsql.runtime.taskmanager.watermarks import WatermarkValve


def test_min_over_inputs_and_only_advancing():
    v = WatermarkValve(3)
    assert v.on_watermark(0, 100) is None  # others still at MIN
    assert v.on_watermark(1, 50) is None
    assert v.on_watermark(2, 70) == 50
    assert v.on_watermark(1, 200) == 70
    assert v.on_watermark(2, 60) is None  # a channel going back never lowers the output
    assert v.on_watermark(0, 90) is None  # 0 regressing is ignored (stays 100)
    assert v.current == 70
    assert v.on_watermark(2, 300) == 100


def test_idle_channel_is_excluded_until_active_again():
    v = WatermarkValve(2)
    v.on_watermark(0, 10)
    assert v.on_idle(1, True) == 10  # only channel 0 counts now
    assert not v.idle
    assert v.on_watermark(0, 20) == 20
    assert v.on_data(1) is None  # channel 1 active again (at MIN): holds the output back
    assert v.on_watermark(0, 30) is None
    assert v.on_watermark(1, 25) == 25


def test_all_idle_holds_and_reports_idle():
    v = WatermarkValve(2)
    v.on_watermark(0, 5)
    v.on_watermark(1, 7)
    assert v.on_idle(0, True) == 7
    assert v.on_idle(1, True) is None
    assert v.idle
    assert v.on_idle(0, False) is None  # 5 < current 7: nothing to forward
    assert not v.idle


def test_end_of_input_excludes_then_max():
    v = WatermarkValve(2)
    v.on_watermark(0, 10)
    v.on_watermark(1, 40)
    assert v.on_end(0) == 40
    assert not v.all_finished
    assert v.on_end(1) == MAX_WATERMARK
    assert v.all_finished and v.current == MAX_WATERMARK


def test_initial_state():
    v = WatermarkValve(1)
    assert v.current == MIN_WATERMARK and not v.idle and not v.all_finished
