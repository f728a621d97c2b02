"""The Nexmark event generator, vectorized with numpy (the Beam / Flink nexmark design).

Contract:
- Event ``n`` (0-based event number = event id) is a person, an auction or a bid by
  ``n % total`` against the proportions (default 1:3:46 out of every 50 events). Person and
  auction ids start at 1000 and are derived from the event number exactly as in Beam's
  ``lastBase0PersonId`` / ``lastBase0AuctionId``; bids pick hot or recent auctions/bidders and
  auctions hot or recent sellers with the configured hot ratios (2 / 4 / 4), within the active
  people (1000) and in-flight auctions (100) windows, plus the usual id lead of 10.
- Event time: ``base_time + n * 1e6 / rate`` µs (floored to ms), with a square rate shape
  switching between ``first_event_rate`` and ``next_event_rate`` every half ``rate_period_s``.
  Timestamps never decrease with ``n``.
- :meth:`NexmarkGenerator.batch` ``(start, count)`` returns a RecordBatch with
  :data:`NEXMARK_SCHEMA` (``event_type`` INT and the ``person``/``auction``/``bid`` ROWs of the
  Flink Nexmark DDL; the non-matching structs are NULL). All randomness of event ``n`` is a
  counter-based hash of ``(seed, n)`` (splitmix64), never a sequential RNG stream, so the rows
  of event ``n`` are the same whatever the batch boundaries, shard or subtask.
- Strings: names, cities and states come from Beam's fixed lists; emails, credit cards, item
  names, descriptions, URLs and ``extra`` padding are drawn from pools of random strings built
  once per seed (Beam generates a fresh random string per event; pools keep the generator
  vectorized: one ``take`` per column instead of per-character Python work). ``extra`` pads
  each event to its average byte size ±20%, as Beam's ``nextExtra`` does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from flowsql.types import parse_type, to_arrow

PERSON_TYPE = (
    "ROW<id BIGINT, name VARCHAR, emailAddress VARCHAR, creditCard VARCHAR, city VARCHAR, "
    "state VARCHAR, dateTime TIMESTAMP(3), extra VARCHAR>"
)
AUCTION_TYPE = (
    "ROW<id BIGINT, itemName VARCHAR, description VARCHAR, initialBid BIGINT, reserve BIGINT, "
    "dateTime TIMESTAMP(3), expires TIMESTAMP(3), seller BIGINT, category BIGINT, extra VARCHAR>"
)
BID_TYPE = (
    "ROW<auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR, "
    "dateTime TIMESTAMP(3), extra VARCHAR>"
)
NEXMARK_COLUMNS: tuple[tuple[str, str], ...] = (
    ("event_type", "INT"),
    ("person", PERSON_TYPE),
    ("auction", AUCTION_TYPE),
    ("bid", BID_TYPE),
)
NEXMARK_SCHEMA = pa.schema([pa.field(n, to_arrow(parse_type(t))) for n, t in NEXMARK_COLUMNS])
PERSON, AUCTION, BID = 0, 1, 2

FIRST_PERSON_ID = 1000
FIRST_AUCTION_ID = 1000
FIRST_CATEGORY_ID = 10
NUM_CATEGORIES = 5
PERSON_ID_LEAD = 10
AUCTION_ID_LEAD = 10
HOT_SELLER_RATIO = 100  # hot sellers/bidders/auctions: the first of each batch of 100 ids
HOT_BIDDER_RATIO = 100
HOT_AUCTION_RATIO = 100
HOT_CHANNELS_RATIO = 2
CHANNELS_NUMBER = 10_000
HOT_CHANNELS = ("Google", "Facebook", "Baidu", "Apple")
FIRST_NAMES = ("Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter")
LAST_NAMES = ("Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris")
US_STATES = ("AZ", "CA", "ID", "OR", "WA", "WY")
US_CITIES = (
    "Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland", "Bend", "Redmond", "Seattle",
    "Kent", "Cheyenne",
)
POOL_SIZE = 4096
_LETTERS = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_LOW16 = np.uint64(0xFFFF)
_LOW32 = np.uint64(0xFFFFFFFF)


@dataclass(frozen=True)
class _Pooled:
    """A string child not yet materialised: ``pool.take(index)``."""

    pool: pa.Array
    index: np.ndarray


Child = np.ndarray | _Pooled


@dataclass(frozen=True)
class NexmarkConfig:
    seed: int = 0
    base_time_ms: int = 1_704_067_200_000  # 2024-01-01 00:00:00 UTC
    first_event_rate: int = 10_000
    next_event_rate: int = 10_000
    rate_period_s: int = 600
    person_proportion: int = 1
    auction_proportion: int = 3
    bid_proportion: int = 46
    hot_auction_ratio: int = 2
    hot_bidders_ratio: int = 4
    hot_sellers_ratio: int = 4
    num_active_people: int = 1000
    num_in_flight_auctions: int = 100
    avg_person_size: int = 200
    avg_auction_size: int = 500
    avg_bid_size: int = 100
    events_num: int = 0  # 0 = unbounded

    @property
    def total_proportion(self) -> int:
        return self.person_proportion + self.auction_proportion + self.bid_proportion


def _mix(z: np.ndarray) -> np.ndarray:
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


def _random_strings(rng: np.random.Generator, lengths: np.ndarray) -> pa.Array:
    """Random lower-case strings with the given lengths, built from two buffers."""
    offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    data = _LETTERS[rng.integers(0, 26, int(offsets[-1]))]
    return pa.StringArray.from_buffers(len(lengths), pa.py_buffer(offsets), pa.py_buffer(data.tobytes()))


def _extra_lengths(rng: np.random.Generator, current: int, average: int) -> np.ndarray:
    desired = average - current
    if desired <= 0:
        return np.zeros(POOL_SIZE, dtype=np.int64)
    delta = round(desired * 0.2)
    return desired - delta + rng.integers(0, max(2 * delta, 1), POOL_SIZE)


class NexmarkGenerator:
    def __init__(self, config: NexmarkConfig | None = None) -> None:
        self.config = c = config or NexmarkConfig()
        if min(c.person_proportion, c.auction_proportion, c.bid_proportion) < 0 or c.total_proportion <= 0:
            raise ValueError("nexmark proportions must be >= 0 with a positive total")
        self._seeds = [
            _mix(np.array([(c.seed * 0x2545F4914F6CDD1D + k * 0x9E3779B97F4A7C15) % 2**64], np.uint64))[0]
            for k in range(5)
        ]
        rng = np.random.default_rng([c.seed & 0xFFFFFFFF, 0x6E78])
        names = [f"{f} {last}" for f in FIRST_NAMES for last in LAST_NAMES]
        self._names = pa.array(names, pa.string())
        self._cities = pa.array(US_CITIES, pa.string())
        self._states = pa.array(US_STATES, pa.string())
        user = _random_strings(rng, np.full(POOL_SIZE, 7))
        host = _random_strings(rng, np.full(POOL_SIZE, 5))
        self._emails = pa.array([f"{u}@{h}.com" for u, h in zip(user.to_pylist(), host.to_pylist(), strict=True)])
        digits = rng.integers(0, 10, (POOL_SIZE, 16))
        self._cards = pa.array(
            [" ".join("".join(map(str, row[i : i + 4])) for i in range(0, 16, 4)) for row in digits.tolist()]
        )
        self._item_names = _random_strings(rng, rng.integers(3, 21, POOL_SIZE))
        self._descriptions = _random_strings(rng, rng.integers(3, 101, POOL_SIZE))
        self._person_extra = _random_strings(rng, _extra_lengths(rng, 8 + 8 + 8 + 8 + 8 + 16 + 8, c.avg_person_size))
        self._auction_extra = _random_strings(rng, _extra_lengths(rng, 8 * 7 + 20 + 100, c.avg_auction_size))
        self._bid_extra = _random_strings(rng, _extra_lengths(rng, 8 + 8 + 8 + 8, c.avg_bid_size))
        # channel pool: CHANNELS_NUMBER regular channels, then the hot ones
        url_parts = _random_strings(rng, np.full(3 * (CHANNELS_NUMBER + len(HOT_CHANNELS)), 5)).to_pylist()
        urls = [
            f"https://www.nexmark.com/{url_parts[3 * i]}/{url_parts[3 * i + 1]}/{url_parts[3 * i + 2]}/item.htm?query=1"
            for i in range(CHANNELS_NUMBER + len(HOT_CHANNELS))
        ]
        channels = [f"channel-{i}" for i in range(CHANNELS_NUMBER)] + list(HOT_CHANNELS)
        urls = [
            url + (f"&channel_id={int(format(i, '032b')[::-1], 2)}" if i < CHANNELS_NUMBER else "")
            for i, url in enumerate(urls)
        ]
        self._channels = pa.array(channels, pa.string())
        self._urls = pa.array(urls, pa.string())

    # -- per-event arithmetic (vectorized over event numbers) ---------------------------------
    def _hash(self, n: np.ndarray, stream: int) -> np.ndarray:
        return _mix(n.astype(np.uint64) * _GOLDEN + self._seeds[stream])

    def timestamps(self, n: np.ndarray) -> np.ndarray:
        """Event time (epoch ms, int64) of each event number."""
        c = self.config
        nf = n.astype(np.float64)
        if c.first_event_rate == c.next_event_rate:
            us = nf * (1e6 / c.first_event_rate)
        else:
            half_s = c.rate_period_s / 2.0
            n1, n2 = c.first_event_rate * half_s, c.next_event_rate * half_s
            cycle, rem = np.divmod(nf, n1 + n2)
            us = cycle * c.rate_period_s * 1e6 + np.where(
                rem < n1, rem * (1e6 / c.first_event_rate), half_s * 1e6 + (rem - n1) * (1e6 / c.next_event_rate)
            )
        return c.base_time_ms + np.floor(us / 1000.0).astype(np.int64)

    def event_types(self, n: np.ndarray) -> np.ndarray:
        c = self.config
        rem = n % c.total_proportion
        return np.where(
            rem < c.person_proportion, PERSON, np.where(rem < c.person_proportion + c.auction_proportion, AUCTION, BID)
        ).astype(np.int32)

    def last_base0_person_id(self, n: np.ndarray) -> np.ndarray:
        c = self.config
        epoch, offset = np.divmod(n, c.total_proportion)
        return epoch * c.person_proportion + np.minimum(offset, c.person_proportion - 1)

    def last_base0_auction_id(self, n: np.ndarray) -> np.ndarray:
        c = self.config
        epoch, offset = np.divmod(n, c.total_proportion)
        before = offset < c.person_proportion
        after = offset >= c.person_proportion + c.auction_proportion
        epoch = epoch - before
        offset = np.where(before | after, c.auction_proportion - 1, offset - c.person_proportion)
        return epoch * c.auction_proportion + offset

    def _next_base0_person_id(self, n: np.ndarray, r: np.ndarray) -> np.ndarray:
        num_people = self.last_base0_person_id(n) + 1
        active = np.minimum(num_people, self.config.num_active_people)
        return num_people - active + (r % (active + PERSON_ID_LEAD).astype(np.uint64)).astype(np.int64)

    def _next_base0_auction_id(self, n: np.ndarray, r: np.ndarray) -> np.ndarray:
        last = self.last_base0_auction_id(n)
        lo = np.maximum(last - self.config.num_in_flight_auctions, 0)
        span = (last - lo + 1 + AUCTION_ID_LEAD).astype(np.uint64)
        return lo + (r % span).astype(np.int64)

    @staticmethod
    def _price(r: np.ndarray) -> np.ndarray:
        u = (r >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))
        return np.rint(np.power(10.0, u * 6.0) * 100.0).astype(np.int64)

    @staticmethod
    def _pick(r: np.ndarray, shift: int, size: int) -> np.ndarray:
        return ((r >> np.uint64(shift)) & _LOW16) % np.uint64(size)

    # -- entities ----------------------------------------------------------------------------
    def _persons(self, n: np.ndarray, ts: np.ndarray) -> list[Child]:
        h0, h1 = self._hash(n, 0), self._hash(n, 1)
        return [
            self.last_base0_person_id(n) + FIRST_PERSON_ID,
            _Pooled(self._names, self._pick(h0, 0, len(self._names))),
            _Pooled(self._emails, self._pick(h0, 16, POOL_SIZE)),
            _Pooled(self._cards, self._pick(h0, 28, POOL_SIZE)),
            _Pooled(self._cities, self._pick(h0, 40, len(self._cities))),
            _Pooled(self._states, self._pick(h1, 0, len(self._states))),
            ts,
            _Pooled(self._person_extra, self._pick(h1, 16, POOL_SIZE)),
        ]

    def _auctions(self, n: np.ndarray, ts: np.ndarray) -> list[Child]:
        c = self.config
        h0, h1, h2, h3, h4 = (self._hash(n, k) for k in range(5))
        initial = self._price(h1)
        reserve = initial + self._price(h2)
        hot = self._pick(h0, 0, c.hot_sellers_ratio) > 0
        seller = np.where(
            hot,
            (self.last_base0_person_id(n) // HOT_SELLER_RATIO) * HOT_SELLER_RATIO,
            self._next_base0_person_id(n, h0 >> np.uint64(32)),
        )
        events_for_auctions = (c.num_in_flight_auctions * c.total_proportion) // max(c.auction_proportion, 1)
        horizon = np.maximum((self.timestamps(n + events_for_auctions) - ts) * 2, 1).astype(np.uint64)
        expires = ts + 1 + (h3 % horizon).astype(np.int64)
        return [
            self.last_base0_auction_id(n) + FIRST_AUCTION_ID,
            _Pooled(self._item_names, self._pick(h0, 16, POOL_SIZE)),
            _Pooled(self._descriptions, self._pick(h4, 16, POOL_SIZE)),
            initial,
            reserve,
            ts,
            expires,
            seller + FIRST_PERSON_ID,
            (FIRST_CATEGORY_ID + self._pick(h4, 0, NUM_CATEGORIES)).astype(np.int64),
            _Pooled(self._auction_extra, self._pick(h4, 32, POOL_SIZE)),
        ]

    def _bids(self, n: np.ndarray, ts: np.ndarray) -> list[Child]:
        c = self.config
        h0, h1, h2 = (self._hash(n, k) for k in range(3))
        hot_auction = self._pick(h2, 0, c.hot_auction_ratio) > 0
        auction = np.where(
            hot_auction,
            (self.last_base0_auction_id(n) // HOT_AUCTION_RATIO) * HOT_AUCTION_RATIO,
            self._next_base0_auction_id(n, h0 & _LOW32),
        )
        hot_bidder = self._pick(h2, 16, c.hot_bidders_ratio) > 0
        bidder = np.where(
            hot_bidder,
            (self.last_base0_person_id(n) // HOT_BIDDER_RATIO) * HOT_BIDDER_RATIO + 1,
            self._next_base0_person_id(n, h0 >> np.uint64(32)),
        )
        hot_channel = self._pick(h2, 32, HOT_CHANNELS_RATIO) > 0
        channel = np.where(
            hot_channel,
            CHANNELS_NUMBER + self._pick(h2, 34, len(HOT_CHANNELS)),
            ((h2 >> np.uint64(36)) & _LOW16) % np.uint64(CHANNELS_NUMBER),
        )
        return [
            auction + FIRST_AUCTION_ID,
            bidder + FIRST_PERSON_ID,
            self._price(h1),
            _Pooled(self._channels, channel),
            _Pooled(self._urls, channel),
            ts,
            _Pooled(self._bid_extra, h2 >> np.uint64(52)),
        ]

    # -- batches -----------------------------------------------------------------------------
    def batch(self, start: int, count: int) -> pa.RecordBatch:
        """Events ``start .. start + count - 1`` as one RecordBatch of :data:`NEXMARK_SCHEMA`."""
        n = np.arange(start, start + count, dtype=np.int64)
        ts = self.timestamps(n)
        types = self.event_types(n)
        columns: list[pa.Array] = [pa.array(types, pa.int32())]
        for kind, build in ((PERSON, self._persons), (AUCTION, self._auctions), (BID, self._bids)):
            field_type = NEXMARK_SCHEMA.field(kind + 1).type
            columns.append(self._struct(types == kind, n, ts, build, field_type))
        return pa.RecordBatch.from_arrays(columns, schema=NEXMARK_SCHEMA)

    @staticmethod
    def _struct(mask: np.ndarray, n: np.ndarray, ts: np.ndarray, build, field_type: pa.StructType) -> pa.Array:
        """The entity's struct: children computed for the selected rows only, then spread to
        their rows (NULL struct and NULL children elsewhere) without copying string data."""
        rows = len(n)
        selected = int(mask.sum())
        if selected == 0:
            return pa.nulls(rows, field_type)
        fields = [field_type.field(i) for i in range(field_type.num_fields)]
        if selected == rows:
            children = build(n, ts)
            arrays = [
                c.pool.take(c.index) if isinstance(c, _Pooled) else pa.array(c, type=f.type)
                for f, c in zip(fields, children, strict=True)
            ]
            return pa.StructArray.from_arrays(arrays, fields=fields)
        idx = np.flatnonzero(mask)
        validity = pa.array(mask).buffers()[1]
        nulls = rows - selected
        arrays = []
        for f, child in zip(fields, build(n[idx], ts[idx]), strict=True):
            if isinstance(child, _Pooled):
                compact = child.pool.take(child.index)
                offsets = np.frombuffer(compact.buffers()[1], np.int32, selected + 1, compact.offset * 4)
                lengths = np.zeros(rows, np.int32)
                lengths[idx] = np.diff(offsets)
                full = np.empty(rows + 1, np.int32)
                full[0] = offsets[0]
                np.cumsum(lengths, out=full[1:])
                full[1:] += offsets[0]
                arrays.append(
                    pa.Array.from_buffers(
                        pa.string(), rows, [validity, pa.py_buffer(full), compact.buffers()[2]], nulls
                    )
                )
            else:
                values = np.zeros(rows, dtype=child.dtype)
                values[idx] = child
                arrays.append(pa.Array.from_buffers(f.type, rows, [validity, pa.py_buffer(values)], nulls))
        return pa.StructArray.from_arrays(arrays, fields=fields, mask=pa.array(~mask))
