"""Records (connectors/kafka/records.py) from confluent-kafka messages, and slicing,
filtering and concatenation: the offsets shortcut (a range) equals reading every offset."""

from __future__ import annotations

import numpy as np
from confluent_kafka import Message

from connectors.kafka.records import concat, from_messages


def messages(offsets, **kw):
    return [Message(topic="t", partition=2, offset=o, key=None if o % 3 == 0 else b"k%d" % o,
                    value=None if o % 4 == 0 else b"v%d" % o, timestamp=(1, 1000 + o),
                    headers=[("h", b"%d" % o)], leader_epoch=o % 2) for o in offsets]


def test_from_messages_reads_what_is_asked():
    for offsets in ([5, 6, 7, 8], [5, 7, 8, 20], [9]):  # a range, gaps (compaction), one
        r = from_messages(messages(offsets), keys=True, timestamps=True, headers=True,
                          leader_epochs=True)
        assert (r.topic, r.partition, len(r)) == ("t", 2, len(offsets))
        assert r.offsets.dtype == np.int64 and r.offsets.tolist() == offsets
        assert r.values.to_pylist() == [None if o % 4 == 0 else b"v%d" % o for o in offsets]
        assert r.keys.to_pylist() == [None if o % 3 == 0 else b"k%d" % o for o in offsets]
        assert r.timestamps.tolist() == [1000 + o for o in offsets]
        assert r.timestamp_types.tolist() == [1] * len(offsets)
        assert r.headers == [[("h", b"%d" % o)] for o in offsets]
        assert r.leader_epochs == [o % 2 for o in offsets]
    bare = from_messages(messages([1, 2]))
    assert bare.keys is None and bare.timestamps is None and bare.headers is None


def test_slice_filter_concat():
    r = from_messages(messages(range(10)), keys=True, timestamps=True, headers=True)
    s = r.slice(2, 5)
    assert s.offsets.tolist() == [2, 3, 4] and s.headers == [[("h", b"2")], [("h", b"3")], [("h", b"4")]]
    f = r.filter(r.offsets % 2 == 1)
    assert f.offsets.tolist() == [1, 3, 5, 7, 9]
    assert f.values.to_pylist() == [b"v1", b"v3", b"v5", b"v7", b"v9"]
    assert f.timestamps.tolist() == [1001, 1003, 1005, 1007, 1009]
    c = concat([r.slice(0, 4), r.slice(4, 10)])
    assert c.offsets.tolist() == list(range(10)) and c.values.equals(r.values)
    assert c.keys.equals(r.keys) and c.headers == r.headers and c.leader_epochs is None
    assert (c.first_offset, c.last_offset) == (0, 9)
