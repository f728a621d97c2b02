"""The datagen connector's streaming reader (``DatagenFactory.source_reader``).

Contract: splits are generator shards; shard ``i`` of ``S`` emits the rows of blocks
``i, i + S, ...`` of ``block`` rows (rows depend only on their index, so the data does not
depend on the parallelism); bounded when the generator is. The default block is the
generator's chunk (:data:`~connectors.datagen.generator.CHUNK`), so each shard generates
only its own chunks: with smaller blocks every shard of a parallel source would draw every
chunk and keep a fraction of it (S times the generating work). With ``rows-per-second`` the
shard emits the rows that are *due* (``rate / S`` per second since it started), about every
:data:`PACE_SLICE_S` — a slow source delivers a few rows at a time, promptly, never a whole
block after ``block / rate`` seconds — and yields ``None`` while nothing is due.
``position`` = ``{"next_block", "offset"}``: the next row is ``offset`` rows into that block.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from connectors.base import SourceReader, shard_count
from connectors.datagen.generator import CHUNK

DATAGEN_BLOCK = CHUNK
PACE_SLICE_S = 0.02  # a paced datagen split emits at most ~every 20 ms


class DatagenReader(SourceReader):
    def __init__(self, generator: Any, shards: int = 1, block: int = DATAGEN_BLOCK) -> None:
        self.generator = generator
        self.shards = max(int(shards), 1)
        self.block = max(int(block), 1)
        self.bounded = bool(generator.bounded)
        rate = generator.rows_per_second
        self.rows_per_second = int(rate) if rate else 0
        self._next: dict[str, tuple[int, int]] = {}  # split -> (block, offset in the block)

    def splits(self) -> list[str]:
        return [f"shard-{i}-of-{self.shards}" for i in range(self.shards)]

    def _start(self, split: str) -> tuple[int, int]:
        return self._next.get(split, (int(split.split("-")[1]), 0))

    def read(self, split: str) -> Iterator[pa.RecordBatch | None]:
        block, offset = self._start(split)
        total = self.generator.total_rows
        shards = shard_count(split, self.shards)  # a restored split keeps its own stride
        per_shard = self.rows_per_second / shards if self.rows_per_second else 0.0
        # paced: emit the rows that are due, at least ~PACE_SLICE_S worth (>= 1 row) at a time
        min_rows = max(1, int(per_shard * PACE_SLICE_S))
        started = time.monotonic()
        emitted = 0
        while True:
            start = block * self.block + offset
            if total is not None and start >= total:
                return
            count = self.block - offset
            if per_shard:
                due = int((time.monotonic() - started) * per_shard) - emitted
                while due < min(min_rows, count):
                    yield None
                    due = int((time.monotonic() - started) * per_shard) - emitted
                count = min(count, due)
            batch = self.generator.generate(start, count)
            offset += count
            ended = total is not None and block * self.block + offset >= total
            if offset >= self.block or (ended and offset):
                # (a shard past its last row always rests at the start of its next block, so
                # its final position does not depend on how pacing cut the last block)
                block, offset = block + shards, 0
            self._next[split] = (block, offset)
            emitted += count
            if batch.num_rows:
                yield batch

    def position(self, split: str) -> dict[str, Any] | None:
        block, offset = self._start(split)
        return {"next_block": block, "offset": offset}

    def seek(self, split: str, position: dict[str, Any]) -> None:
        self._next[split] = (int(position["next_block"]), int(position.get("offset", 0)))
