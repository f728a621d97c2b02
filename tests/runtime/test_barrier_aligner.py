"""BarrierAligner: which barriers block, complete or are dropped."""

from flowsql.runtime.taskmanager.checkpointing import BarrierAligner


def test_alignment_completes_when_every_live_channel_delivered_the_barrier():
    a = BarrierAligner(3)
    assert a.on_barrier(0, 1) == "block"
    assert a.on_barrier(2, 1) == "block"
    assert a.on_barrier(1, 1) == "done"
    assert a.finish() == 1
    assert a.on_barrier(0, 1) == "drop"  # already taken


def test_an_ended_channel_counts_as_aligned():
    a = BarrierAligner(2)
    assert a.on_barrier(0, 4) == "block"
    assert a.on_end(1) is True
    assert a.finish() == 4
    assert a.on_barrier(0, 5) == "done"  # channel 1 ended: one barrier is enough now


def test_a_newer_barrier_abandons_an_older_alignment():
    a = BarrierAligner(2)
    assert a.on_barrier(0, 1) == "block"
    assert a.on_barrier(0, 2) == "block"
    assert a.on_barrier(1, 1) == "drop"
    assert a.on_barrier(1, 2) == "done"
