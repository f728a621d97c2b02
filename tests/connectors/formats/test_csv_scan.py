"""The C CSV scanner (connectors/formats/csv_scan.py, native/_csvscan.c) against Arrow's CSV
reader with the fast path's settings (``csv_format._arrow_batches`` with the scanner switched
off): whenever the scanner takes a block it gives exactly Arrow's columns, and it declines
every block of the kinds its contract lists; the fast path and the streaming filesystem
source give the same rows with ``FLOWSQL_CSV_NATIVE`` on and off, also when a block in the
middle of a file is declined."""

from __future__ import annotations

import gzip
import random

import pyarrow as pa
import pytest

from catalog.table import Column, TableDefinition
from connectors.filesystem.factory import FilesystemFactory
from connectors.formats import csv_format, csv_scan
from flowsql.errors import MalformedRecordError

BOUNDS = {pa.int8(): (-128, 127), pa.int16(): (-32768, 32767),
          pa.int32(): (-2**31, 2**31 - 1), pa.int64(): (-2**63, 2**63 - 1)}
TYPES = [*BOUNDS, pa.string()]
SQL_TYPES = {pa.int8(): "TINYINT", pa.int16(): "SMALLINT", pa.int32(): "INT",
             pa.int64(): "BIGINT", pa.string(): "STRING"}
TEXT = ["a", "Z", "0", "7", " ", "\t", "#", "'", "é", "ünï", "中文", "😀", "\x00", "\ufeff", "-"]
BAD_UTF8 = [b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe4\xb8", b"a\x80"]
BAD_INT = [" 5", "5 ", "\t5", "+5", "0x10", "1e3", "1.5", "abc", "-", "--5", "5-",
           "99999999999999999999", "-99999999999999999999"]


def _options(delimiter: str, quote: str | None) -> dict:
    if quote is None:
        return {"csv.field-delimiter": delimiter, "csv.disable-quote-character": True}
    return {"csv.field-delimiter": delimiter, "csv.quote-character": quote}


def _scanner(types, wanted, delimiter=",", quote='"') -> csv_scan.Scanner:
    schema = pa.schema([(f"f{p}", types[p]) for p in wanted])
    scan = csv_scan.scanner(len(types), delimiter, quote, list(wanted), schema)
    assert scan is not None
    return scan


def _arrow(tmp_path, monkeypatch, data: bytes, types, wanted, delimiter=",", quote='"'):
    """Arrow's table (or its error) for ``data`` with the fast path's settings."""
    path = tmp_path / "arrow.csv"
    path.write_bytes(data)
    names = [f"f{p}" for p in range(len(types))]
    schema = pa.schema([(f"f{p}", types[p]) for p in wanted])
    with monkeypatch.context() as m:
        m.setenv("FLOWSQL_CSV_NATIVE", "0")
        batches = csv_format._arrow_batches(str(path), names, schema, _options(delimiter, quote))
        assert batches is not None
        try:
            return pa.Table.from_batches(list(batches), schema=schema)
        except pa.ArrowInvalid as exc:
            return exc


def _same(batch: pa.RecordBatch, table: pa.Table) -> None:
    batch.validate(full=True)
    assert not isinstance(table, Exception), table
    assert batch.schema.types == table.schema.types
    for got, want in zip(batch.columns, table.columns, strict=True):
        assert got.null_count == want.null_count
        assert got.to_pylist() == want.to_pylist()


def _check(tmp_path, monkeypatch, data, types, wanted, delimiter=",", quote='"'):
    """The scanner's batch for ``data`` (asserted equal to Arrow's when taken), or None. Arrow
    reads a newline first: it skips a byte-order mark where its input starts, and the scanner
    takes the bytes it is given as data (the file reader strips that mark)."""
    batch = _scanner(types, wanted, delimiter, quote).scan(data, len(data))
    if batch is not None:
        _same(batch, _arrow(tmp_path, monkeypatch, b"\n" + data, types, wanted, delimiter, quote))
    return batch


# ---- random blocks ---------------------------------------------------------------------


def _field(r: random.Random, t: pa.DataType, wanted: bool, delimiter: str,
           quote: str | None, bad_rate: float) -> tuple[bytes, bool]:
    """A field's bytes, and whether it makes the scanner decline the block."""
    if r.random() < bad_rate:  # something the scanner declines (when the field is wanted)
        if r.random() < 0.2:
            return (b"\r" if r.random() < 0.5 or quote is None else quote.encode()) + b"1", True
        if t == pa.string():
            return r.choice(BAD_UTF8), wanted
        lo, hi = BOUNDS[t]
        bad = [v for v in [str(hi + 1), str(lo - 1), *BAD_INT] if delimiter not in v]
        return r.choice(bad).encode(), wanted
    if t == pa.string():
        alphabet = [c for c in [*TEXT, '"'] if c not in (delimiter, quote)]
        return "".join(r.choice(alphabet) for _ in range(r.randint(0, 6))).encode(), False
    lo, hi = BOUNDS[t]
    value = r.choice([str(r.randint(lo, hi)), str(lo), str(hi), "0", "-0", "", "",
                      "0" * r.randint(1, 25) + str(r.randint(0, hi)), str(r.randint(-9, 9))])
    return value.encode(), False


def _block(r: random.Random, types, wanted, delimiter: str, quote: str | None) -> tuple[bytes, bool]:
    """Random lines (at least one not empty), and whether the scanner must decline them."""
    lines, declines = [], False
    bad_rate = r.choice([0, 0, 0.01, 0.05])  # half the blocks hold nothing to decline
    while not any(lines):
        lines = []
        for _ in range(r.randint(1, 20)):
            if r.random() < 0.1:
                lines.append(b"")
                continue
            fields = []
            for p, t in enumerate(types):
                text, bad = _field(r, t, p in wanted, delimiter, quote, bad_rate)
                fields.append(text)
                declines |= bad
            if r.random() < bad_rate:  # a field too few or too many
                fields = fields[:-1] if r.random() < 0.5 else [*fields, b"9"]
                declines |= fields != [b""]  # (an empty line is no record)
            line = delimiter.encode().join(fields)
            if r.random() < bad_rate / 2:
                line += b"\r"  # a CRLF line end
                declines = True
            lines.append(line)
    data = b"\n".join(lines)
    if r.random() < 0.7:
        data += b"\n"
    return data, declines


def _case(r: random.Random):
    types = [r.choice(TYPES) for _ in range(r.randint(2, 6))]
    wanted = r.sample(range(len(types)), r.randint(1, len(types)))  # any subset, any order
    delimiter = r.choice([",", ";", "\t", "|"])
    quote = r.choice(['"', "'", None])
    return types, wanted, delimiter, quote


@pytest.mark.parametrize("seed", range(8))
def test_random_blocks_equal_arrow_or_decline(tmp_path, monkeypatch, seed):
    r = random.Random(seed)
    taken = 0
    for _ in range(60):
        types, wanted, delimiter, quote = _case(r)
        data, declines = _block(r, types, wanted, delimiter, quote)
        batch = _check(tmp_path, monkeypatch, data, types, wanted, delimiter, quote)
        assert (batch is None) == declines, (data, types, wanted, delimiter, quote)
        taken += batch is not None
    assert taken > 20


@pytest.mark.parametrize("seed", range(4))
def test_fast_path_equals_arrow_with_the_scanner_on(tmp_path, monkeypatch, seed):
    """Whole files in small blocks (of more bytes than any line, or Arrow's reader may refuse
    a line as long as a block): the scanner's blocks, then Arrow's reader from the first
    block declined, give Arrow's rows, or its error after the same rows."""
    monkeypatch.setattr(csv_format, "_FAST_BLOCK_BYTES", 512)
    r = random.Random(100 + seed)
    for _ in range(25):
        types, wanted, delimiter, quote = _case(r)
        data = b"".join(_block(r, types, wanted, delimiter, quote)[0] + b"\n"
                        for _ in range(r.randint(1, 8)))
        want = _arrow(tmp_path, monkeypatch, data, types, wanted, delimiter, quote)
        path = tmp_path / "native.csv"
        path.write_bytes(data)
        schema = pa.schema([(f"f{p}", types[p]) for p in wanted])
        batches = csv_format._arrow_batches(str(path), [f"f{p}" for p in range(len(types))],
                                            schema, _options(delimiter, quote))
        got: list[pa.RecordBatch] = []
        try:
            for b in batches:
                got.append(b)
        except pa.ArrowInvalid:
            assert isinstance(want, Exception), data
            continue
        table = pa.Table.from_batches(got, schema=schema)
        assert not isinstance(want, Exception), (data, want)
        assert table.to_pylist() == want.to_pylist()


# ---- the listed cases ------------------------------------------------------------------


@pytest.mark.parametrize("t", list(BOUNDS))
def test_integers_of_every_width(tmp_path, monkeypatch, t):
    lo, hi = BOUNDS[t]
    data = f"{lo},x\n{hi},y\n-0,z\n0{hi},w\n{'0' * 30}{hi},v\n-{'0' * 30}{-lo},u\n,\n".encode()
    batch = _check(tmp_path, monkeypatch, data, [t, pa.string()], [0, 1])
    assert batch is not None
    assert batch.column(0).to_pylist() == [lo, hi, 0, hi, hi, lo, None]
    assert batch.column(1).to_pylist() == ["x", "y", "z", "w", "v", "u", ""]
    for bad in (hi + 1, lo - 1):
        assert _check(tmp_path, monkeypatch, f"1,x\n{bad},y\n".encode(), [t, pa.string()],
                      [0, 1]) is None
        # not wanted: split, not converted
        assert _check(tmp_path, monkeypatch, f"1,{bad}\n".encode(), [pa.int8(), t], [0]) is not None


@pytest.mark.parametrize("text", [
    b"1,x\n\n\n2,y\n\n",  # empty lines are skipped
    b"1,x\n2,y",  # no final newline
    b"\n\n1,x",
    "1,ünï©ødé 中文 😀\n2,\ufeffmark\n".encode(),
    b"1,a\x00b\n",
    b"1, lead and trail \t\n",
    b",\n,\n",  # NULL and ''
])
def test_accepted(tmp_path, monkeypatch, text):
    assert _check(tmp_path, monkeypatch, text, [pa.int64(), pa.string()], [0, 1]) is not None


@pytest.mark.parametrize("text", [
    *(f"{bad},x\n".encode() for bad in BAD_INT),
    b"9223372036854775808,x\n", b"-9223372036854775809,x\n", b"18446744073709551616,x\n",
    b'1,"x"\n', b'"1",x\n', b'1,a"b\n',  # the quote character anywhere
    b"1,x\r\n", b"1,x\r2,y\n", b"1,x\r",  # CR, CRLF
    b"1\n", b"1,x,y\n", b"1,x\n2\n", b"1,x\n2,y,\n",  # field counts
    *(b"1," + bad + b"\n" for bad in BAD_UTF8),
    b" \n",  # a blank line is one field, not an empty line
])
def test_declined(tmp_path, monkeypatch, text):
    assert _check(tmp_path, monkeypatch, text, [pa.int64(), pa.string()], [0, 1]) is None


def test_unwanted_fields_are_split_not_validated(tmp_path, monkeypatch):
    types = [pa.int32(), pa.string(), pa.int8(), pa.string()]
    data = b"1,\xff,999, x \n2,\xc0\x80,+1,\xfe\n"
    batch = _check(tmp_path, monkeypatch, data, types, [0])
    assert batch is not None and batch.column(0).to_pylist() == [1, 2]
    assert _check(tmp_path, monkeypatch, b"1,a,2\n", types, [0]) is None  # still counted


def test_quotes_are_data_when_quoting_is_off(tmp_path, monkeypatch):
    data = b'1;"a";b"\n'
    batch = _check(tmp_path, monkeypatch, data, [pa.int16(), pa.string(), pa.string()], [2, 1],
                   delimiter=";", quote=None)
    assert batch is not None
    assert batch.to_pylist() == [{"f2": 'b"', "f1": '"a"'}]


def test_projection_in_any_order(tmp_path, monkeypatch):
    types = [pa.int64(), pa.string(), pa.int16(), pa.string(), pa.int8()]
    data = b"1,a,2,b,3\n4,c,,d,-6\n"
    batch = _check(tmp_path, monkeypatch, data, types, [4, 1, 2])
    assert batch is not None
    assert batch.schema.names == ["f4", "f1", "f2"]
    assert batch.to_pylist() == [{"f4": 3, "f1": "a", "f2": 2}, {"f4": -6, "f1": "c", "f2": None}]


def test_no_rows(tmp_path, monkeypatch):
    for data in (b"", b"\n", b"\n\n\n"):
        batch = _scanner([pa.int64(), pa.string()], [0, 1]).scan(data, len(data))
        assert batch is not None and batch.num_rows == 0


def test_scan_reads_only_length_bytes():
    scan = _scanner([pa.int64(), pa.string()], [0, 1])
    data = bytearray(b"1,x\n2,y\ngarbage")
    assert scan.scan(data, 8).to_pylist() == [{"f0": 1, "f1": "x"}, {"f0": 2, "f1": "y"}]
    with pytest.raises(ValueError):
        scan.scan(data, len(data) + 1)


def test_output_buffers_too_small_are_refused():
    native = csv_scan._native
    data = b"1,2\n3,4\n"
    small = (pa.allocate_buffer(1), pa.allocate_buffer(8), None)  # room for one int64
    with pytest.raises(ValueError, match="too small"):
        native.scan(data, len(data), 2, ord(","), ord('"'), [(0, native.INT64)], [small])


@pytest.mark.parametrize(("delimiter", "quote", "t"), [
    ("\n", '"', pa.int64()), ("\r", '"', pa.int64()), ("é", '"', pa.int64()),
    (",", ",", pa.int64()), (",", "\n", pa.int64()), (",", '"', pa.float64()),
    (",", '"', pa.uint8()),
])
def test_outside_the_scanner(delimiter, quote, t):
    schema = pa.schema([("f0", t)])
    assert csv_scan.scanner(2, delimiter, quote, [0], schema) is None


def test_switch_off(monkeypatch):
    schema = pa.schema([("f0", pa.int64())])
    assert csv_scan.scanner(2, ",", '"', [0], schema) is not None
    monkeypatch.setenv("FLOWSQL_CSV_NATIVE", "0")
    assert not csv_scan.available()
    assert csv_scan.scanner(2, ",", '"', [0], schema) is None


# ---- files, block by block -------------------------------------------------------------


def _scan_file(path, scan, block_bytes):
    gen = csv_scan.scan_file(str(path), scan, block_bytes)
    batches = []
    while True:
        try:
            batches.append(next(gen))
        except StopIteration as stop:
            return batches, stop.value


@pytest.mark.parametrize("block_bytes", [220, 221, 512, 1 << 20])
def test_scan_file_blocks(tmp_path, monkeypatch, block_bytes):
    r = random.Random(block_bytes)
    types, wanted = [pa.int64(), pa.string(), pa.int32()], [2, 0, 1]
    lines = [f"{r.randint(-99, 99)},{'x' * r.randint(0, 200)},{i}" for i in range(300)]
    lines.append(f"1,{'y' * 211},2")  # 219 bytes and the newline
    data = ("\n".join(lines) + "\n\n" + "5,tail,6").encode()  # an empty line, no final newline
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    batches, declined = _scan_file(path, _scanner(types, wanted), block_bytes)
    assert declined is None
    assert all(b.num_rows for b in batches)
    want = _arrow(tmp_path, monkeypatch, data, types, wanted)
    assert pa.Table.from_batches(batches).to_pylist() == want.to_pylist()


def test_scan_file_skips_a_byte_order_mark_at_the_start_only(tmp_path, monkeypatch):
    types = [pa.string(), pa.string()]
    for data in (b"\xef\xbb\xbfa,b\n\xef\xbb\xbfc,d\n", b"\xef\xbb\xbf\na,b\n", b"\xef\xbb\xbf"):
        path = tmp_path / "f.csv"
        path.write_bytes(data)
        batches, declined = _scan_file(path, _scanner(types, [0, 1]), 16)
        assert declined is None
        got = pa.Table.from_batches(batches, schema=batches[0].schema) if batches else None
        want = _arrow(tmp_path, monkeypatch, data, types, [0, 1])
        if got is None:
            assert isinstance(want, Exception) or not want.num_rows
        else:
            assert got.to_pylist() == want.to_pylist()


def test_scan_file_declines_a_line_as_long_as_a_block(tmp_path):
    for data in (b"1,a\n22,bbbbbbbb\n3,c\n", b"1,a\n22,bbbbbbbb"):
        path = tmp_path / "f.csv"
        path.write_bytes(data)
        batches, declined = _scan_file(path, _scanner([pa.int8(), pa.string()], [0, 1]), 8)
        assert declined == 4 and [b.num_rows for b in batches] == [1]


def test_scan_file_returns_the_declined_block_start(tmp_path):
    data = b"1,a\n2,b\n3,c\n4,+d\n5,\"e\"\n6,f\n"
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    batches, declined = _scan_file(path, _scanner([pa.int8(), pa.string()], [0, 1]), 8)
    assert data[declined:].startswith(b"5,")  # "4,+d" is a string: taken
    assert [v for b in batches for v in b.column(0).to_pylist()] == [1, 2, 3, 4]


def test_resuming_after_a_declined_block_keeps_a_byte_order_mark_as_data(tmp_path, monkeypatch):
    """Arrow reads on from the newline before the declined block: a mark starting that
    block's first line is data, as when Arrow reads the whole file."""
    monkeypatch.setattr(csv_format, "_FAST_BLOCK_BYTES", 8)
    data = "1,a\n2,b\n\ufeff3,\"c\"\n4,d\n".encode()
    types = [pa.string(), pa.string()]
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    schema = pa.schema([("f0", pa.string()), ("f1", pa.string())])
    got = pa.Table.from_batches(list(csv_format._arrow_batches(str(path), ["f0", "f1"], schema, {})))
    want = _arrow(tmp_path, monkeypatch, data, types, [0, 1])
    assert got.to_pylist() == want.to_pylist()
    assert got.column(0).to_pylist()[2] == "\ufeff3"


# ---- the streaming filesystem source, scanner on and off --------------------------------

BIDS = [Column("seq", "BIGINT"), Column("auction", "INT"), Column("channel", "STRING"),
        Column("price", "BIGINT"), Column("url", "STRING")]


def _source_rows(path, monkeypatch, native: bool, project=None, options=None):
    table = TableDefinition.from_json({
        "name": {"catalog": "c", "database": "d", "name": "t"},
        "columns": [{"name": c.name, "data_type": c.data_type, "kind": "physical"} for c in BIDS],
        "options": {"connector": "filesystem", "path": str(path), "format": "csv",
                    **(options or {})},
    })
    with monkeypatch.context() as m:
        m.setenv("FLOWSQL_CSV_NATIVE", "1" if native else "0")
        factory = FilesystemFactory()
        reader = factory.source_reader(table, factory.validate(table), project=project)
        try:
            rows = [row for split in reader.splits() for b in reader.read(split)
                    for row in b.to_pylist()]
        except MalformedRecordError as exc:
            return str(exc), reader.skipped
        return rows, reader.skipped


def _bid_lines(n: int, start: int = 0) -> list[str]:
    return [f"{i},{1000 + i % 7},{i * 2654435761 % 2**32:08x},{i * 31 % 9973},"
            f"http://x/{i:016x}" for i in range(start, start + n)]


@pytest.mark.parametrize("middle", [
    '{i},1,"quoted, with a comma",5,u',  # the scanner declines, Arrow reads on
    "{i},+1,c,5,u",  # the scanner declines when auction is read, Arrow refuses, the query reads on
    "{i}, 1,c,5,u",  # blanks: the scanner declines when auction is read, Arrow takes them
    "{i},1,c,5,u\r",  # CRLF
    "{i},x,c,5,u",  # a malformed record when auction is read
    "{i},1,c,5",  # too few fields
])
@pytest.mark.parametrize("project", [None, ["price", "seq"], ["url"], ["auction", "channel"]])
def test_source_rows_equal_with_the_scanner_on_and_off(tmp_path, monkeypatch, middle, project):
    monkeypatch.setattr(csv_format, "_FAST_BLOCK_BYTES", 4096)
    lines = _bid_lines(300) + [middle.format(i=300)] + _bid_lines(300, 301)
    lines[10:10] = ["", ""]  # empty lines, skipped by every path
    path = tmp_path / "bids.csv"
    path.write_text("\n".join(lines) + "\n")
    declines = ('"' in middle or "\r" in middle or middle.count(",") != 4
                or project is None or "auction" in project)
    scanned = []
    original = csv_scan.Scanner.scan
    monkeypatch.setattr(csv_scan.Scanner, "scan",
                        lambda self, *a: scanned.append(original(self, *a)) or scanned[-1])
    for options in ({}, {"csv.ignore-parse-errors": "true"}):
        off = _source_rows(path, monkeypatch, False, project, options)
        assert not scanned
        on = _source_rows(path, monkeypatch, True, project, options)
        assert on == off
        assert len(scanned) > 2 and all(b is not None for b in scanned[:2])
        assert (scanned[-1] is None) == declines  # declined in the middle of the file
        scanned.clear()
        rows, skipped = on
        if isinstance(rows, list):
            assert len(rows) + skipped == 601


def test_source_resumes_at_its_position_with_the_scanner(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_format, "_FAST_BLOCK_BYTES", 4096)
    monkeypatch.setenv("FLOWSQL_CSV_NATIVE", "1")
    path = tmp_path / "bids.csv"
    path.write_text("\n".join(_bid_lines(500)) + "\n")
    table = TableDefinition.from_json({
        "name": {"catalog": "c", "database": "d", "name": "t"},
        "columns": [{"name": c.name, "data_type": c.data_type, "kind": "physical"} for c in BIDS],
        "options": {"connector": "filesystem", "path": str(path), "format": "csv"},
    })
    factory = FilesystemFactory()
    reader = factory.source_reader(table, factory.validate(table), project=["seq"])
    (split,) = reader.splits()
    reader.seek(split, {"rows": 123})
    assert [v for b in reader.read(split) for v in b.column(0).to_pylist()] == list(range(123, 500))
    assert reader.position(split) == {"rows": 500}


@pytest.mark.parametrize("text", ["", "\n\n", "\ufeff", "\ufeff1,2,c,4,u\n"])
def test_source_files_without_rows_or_with_a_mark(tmp_path, monkeypatch, text):
    path = tmp_path / "bids.csv"
    path.write_text(text)
    assert _source_rows(path, monkeypatch, True) == _source_rows(path, monkeypatch, False)


def test_compressed_file_is_left_to_arrow(tmp_path, monkeypatch):
    path = tmp_path / "bids.csv.gz"
    path.write_bytes(gzip.compress(("\n".join(_bid_lines(50)) + "\n").encode()))
    rows, _ = _source_rows(path, monkeypatch, True, ["seq", "url"])
    assert rows == _source_rows(path, monkeypatch, False, ["seq", "url"])[0]
    assert [r["seq"] for r in rows] == list(range(50))
