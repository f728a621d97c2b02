"""The C scanner of unquoted CSV lines (``connectors/formats/native/_csvscan.c``), wrapped:
blocks of whole lines in, Arrow columns of the wanted fields out, or None when the scanner
does not take a block.

Contract: :meth:`Scanner.scan` reads a buffer of complete lines (a last line without a
newline counts) whose fields map by position to the columns, converting only the wanted
fields (int8..int64 and string): an empty integer field is NULL, an empty string field is
"", empty lines are skipped, other fields are split (their count checked), not validated. It
returns None, not a guess, for any block that Arrow's reader with the settings of
:func:`connectors.formats.csv_format._arrow_batches` might read differently or refuse (the C
file's header lists the cases: the quote character anywhere when quoting is on, a ``\\r``,
a wrong field count, an integer field other than ``-?[0-9]+`` or out of its type's range,
invalid UTF-8 in a wanted string field); the caller then takes that path from the block on.
:func:`scan_file` feeds a file to it block by block. :func:`scanner` is None when the module
is not built (optional, ``setup.py``), ``FLOWSQL_CSV_NATIVE=0`` (the A/B switch), or the
types or the dialect are outside it.

Why hand-written: Arrow's streaming CSV reader (column types given, only the wanted columns
converted, 1 MB blocks, jemalloc) costs 0.13-0.19 us of CPU per bid row (~68 bytes, 6
fields; 2, 3 or 6 columns read) on the 2-core development machine: its parser first builds
an index of every field of the block, then converts each wanted column from it in a second
pass. This scanner finds the separators of 64 bytes at a time as bit masks (SSE2) and
converts each wanted field as it comes, straight into buffers from the same memory pool,
with the GIL released: 0.05-0.09 us per row through :func:`scan_file` (2.1-2.8x less), and
``stream_csv`` as a whole 0.05-0.11 us against 0.13-0.18 with Arrow's reader (1.6-2.7x
less; ``taskset -c 0 .venv/bin/python bench/csv_scan.py``, 100 K and 1 M rows, best of 7,
three runs; one outlier of 0.17 for 6 columns through ``stream_csv`` on the shared machine).
A first version that split fields 8 bytes at a time (SWAR) and malloc'd its columns per
block measured 0.09-0.18 us: page faults on the fresh memory were a third of it.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Generator, Sequence
from types import ModuleType

import pyarrow as pa

try:
    _native: ModuleType | None = importlib.import_module("connectors.formats.native._csvscan")
except ImportError:  # not built: the callers use Arrow's reader
    _native = None

BOM = b"\xef\xbb\xbf"  # a UTF-8 byte-order mark starting a file is not data (Arrow skips it)


def available() -> bool:
    """Whether the scanner is built and switched on."""
    return _native is not None and os.environ.get("FLOWSQL_CSV_NATIVE", "1") != "0"


def _kind(t: pa.DataType) -> int | None:
    assert _native is not None
    return {pa.int8(): _native.INT8, pa.int16(): _native.INT16, pa.int32(): _native.INT32,
            pa.int64(): _native.INT64, pa.string(): _native.STRING}.get(t)


class Scanner:
    """Lines of ``n_fields`` fields into ``schema``'s columns (see :func:`scanner`)."""

    def __init__(self, n_fields: int, delimiter: int, quote: int,
                 fields: list[tuple[int, int]], schema: pa.Schema,
                 memory_pool: pa.MemoryPool | None) -> None:
        self.n_fields = n_fields
        self.delimiter = delimiter
        self.quote = quote
        self.fields = fields
        self.schema = schema
        self.pool = memory_pool

    def scan(self, data: bytes | bytearray | memoryview, length: int) -> pa.RecordBatch | None:
        """The rows of ``data[:length]`` (complete lines), or None (module docstring)."""
        assert _native is not None
        cap = _native.rows_bound(length, self.n_fields)
        outputs = []
        for field in self.schema:
            text = field.type == pa.string()
            outputs.append((self._buffer((cap + 7) // 8),
                            self._buffer((cap + 1) * 4 if text else cap * field.type.bit_width // 8),
                            self._buffer(length) if text else None))
        result = _native.scan(data, length, self.n_fields, self.delimiter, self.quote,
                              self.fields, outputs)
        if result is None:
            return None
        n, stats = result
        arrays = []
        for field, (valid, values, text), (nulls, text_bytes) in zip(self.schema, outputs, stats,
                                                                    strict=True):
            # shrunk to what the rows hold: the batches may be kept a while downstream
            values.resize((n + 1) * 4 if text is not None else n * field.type.bit_width // 8,
                          shrink_to_fit=True)
            buffers = [None, values]
            if nulls:
                valid.resize((n + 7) // 8, shrink_to_fit=True)
                buffers[0] = valid
            if text is not None:
                text.resize(text_bytes, shrink_to_fit=True)
                buffers.append(text)
            arrays.append(pa.Array.from_buffers(field.type, n, buffers, null_count=nulls))
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)

    def _buffer(self, size: int) -> pa.ResizableBuffer:
        return pa.allocate_buffer(max(size, 1), memory_pool=self.pool, resizable=True)


def scanner(n_fields: int, delimiter: str, quote: str | None, positions: Sequence[int],
            schema: pa.Schema, memory_pool: pa.MemoryPool | None = None) -> Scanner | None:
    """A scanner of lines of ``n_fields`` fields separated by ``delimiter`` (quoting off
    when ``quote`` is None), giving the fields at ``positions`` (0-based, distinct, any
    order) as ``schema``'s columns in that order, their memory from ``memory_pool`` (Arrow's
    default when None); None when unavailable (module docstring), a type is not int8..int64
    or string, or a character is not one byte other than CR/LF."""
    if not available() or not len(schema) or len(positions) != len(schema):
        return None
    d = delimiter.encode()
    q = b"" if quote is None else quote.encode()
    if len(d) != 1 or d in b"\r\n" or (quote is not None and (len(q) != 1 or q in b"\r\n" + d)):
        return None
    fields = []
    for position, field in zip(positions, schema, strict=True):
        kind = _kind(field.type)
        if kind is None or not 0 <= position < n_fields:
            return None
        fields.append((position, kind))
    if len({p for p, _ in fields}) != len(fields):
        return None
    return Scanner(n_fields, d[0], q[0] if q else -1, fields, schema, memory_pool)


def scan_file(path: str, scan: Scanner, block_bytes: int) -> Generator[pa.RecordBatch, None, int | None]:
    """The batches of the file at ``path``, block by block (at most ``block_bytes`` each,
    cut after the last newline; a byte-order mark starting the file is skipped). Returns None
    when every block was taken, else the byte offset of the first block the scanner declined
    (a line's start): nothing of it was yielded. A line of ``block_bytes`` or more is
    declined too: Arrow's reader refuses some rows longer than its block (``straddling
    object``), then the query reads them (or reports them: DuckDB's lines are at most 2 MB)."""
    buf = bytearray(block_bytes)
    have = 0  # bytes of buf not yet scanned
    start = 0  # the file offset of buf[0]
    with open(path, "rb", buffering=0) as f:
        if f.read(len(BOM)) == BOM:
            start = len(BOM)
        else:
            f.seek(0)
        while True:
            got = f.readinto(memoryview(buf)[have:])
            have += got
            cut = have if not got else buf.rfind(b"\n", 0, have) + 1
            if not cut and have == len(buf):
                return start  # a line as long as a block
            if cut:
                batch = scan.scan(buf, cut)
                if batch is None:
                    return start
                if batch.num_rows:
                    yield batch
                buf[:have - cut] = buf[cut:have]  # the unfinished line to the front
                start += cut
                have -= cut
            if not got:
                return None
