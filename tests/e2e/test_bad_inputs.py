"""Bad inputs give their documented message, never a traceback (acceptance point 5).

Contract: every ``bad_inputs/*.sql`` file is one user mistake, data first. Its header holds
- ``-- kind: <class>``: the :mod:`flowsql.errors` class the error must be an instance of;
- ``-- error: <text>`` (one or more): text that must appear in ``err.render()`` — and, with
  ``${DATA}`` shown as ``/data``, in ``docs/errors.md`` (the user-facing catalogue);
- ``-- at: <text>`` (parse errors): the script text that the reported line/column points at;
- ``-- cli``: also run the case through ``python -m flowsql shell -f`` (exit code 1, the
  message in the output, no ``Traceback``).
The statements below the header (the *script*: line 1 is the first line after the header) run
after :data:`SETUP` (batch mode plus three tables over data generated at test time under
``${DATA}``); every statement before the failing one succeeds. Line and column numbers count
from the top of the script, as the shell reports them for a ``-f`` file.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from flowsql import errors
from flowsql.errors import FlowSQLError, SqlParseError

ROOT = Path(__file__).resolve().parents[2]
CASES_DIR = Path(__file__).parent / "bad_inputs"
DOCS = ROOT / "docs" / "errors.md"
DOCS_DATA = "/data"  # how ${DATA} is shown in docs/errors.md

SETUP = """\
SET 'execution.runtime-mode' = 'batch';
CREATE TABLE orders (id BIGINT, name STRING, amount BIGINT)
  WITH ('connector' = 'filesystem', 'path' = '${DATA}/orders.csv', 'format' = 'csv');
CREATE TABLE customers (id BIGINT, name STRING, city STRING)
  WITH ('connector' = 'filesystem', 'path' = '${DATA}/customers.csv', 'format' = 'csv');
CREATE TABLE clicks (id BIGINT, url STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)
  WITH ('connector' = 'datagen', 'number-of-rows' = '10', 'seed' = '7');
"""


def _json_lines(*records: object) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records)


DATA_FILES: dict[str, str] = {
    "orders.csv": "1,alice,10\n2,bob,20\n3,carol,30\n",
    "customers.csv": "1,alice,Paris\n2,bob,Lyon\n",
    "orders_short_row.csv": "1,alice,10\n2,bob\n3,carol,30\n",
    "orders_not_a_number.csv": "1,alice,10\n2,bob,20\n3,carol,lots\n4,dave,40\n",
    "orders_bad.csv": "1,alice,10\n2,bob\n3,carol,lots\n4,dave,40\n",
    "orders_bad.json": _json_lines(
        {"id": 1, "name": "alice", "amount": 10},
        '{"id": 2, "name": "bob"',
        {"id": 3, "name": "carol", "amount": 30},
    ),
    "orders_json_type.json": _json_lines(
        {"id": 1, "name": "alice", "amount": 10},
        {"id": 2, "name": "bob", "amount": "lots"},
        {"id": 3, "name": "carol", "amount": 30},
    ),
    "changes_bad.json": _json_lines(
        {"op": "c", "after": {"id": 1, "name": "alice", "amount": 10}},
        {"op": "x", "after": {"id": 2}},
    ),
    "broken_udfs.py": "import a_library_that_is_not_installed\n",
    "raising_udfs.py": (
        "import pyarrow.compute as pc\n"
        "from flowsql.udf import udf\n"
        "@udf(result_type='DOUBLE')\n"
        "def unit_price(amount, name):\n"
        "    if pc.any(pc.equal(name, 'bob')).as_py():\n"
        "        raise ZeroDivisionError('no units in order 2')\n"
        "    return pc.divide(pc.cast(amount, 'double'), 2.0)\n"
    ),
    "orders_missing_field.json": _json_lines(
        {"id": 1, "name": "alice", "amount": 10},
        {"id": 2, "amount": 20},
    ),
}


@dataclass
class Case:
    path: Path
    kind: type[FlowSQLError]
    errors: list[str] = field(default_factory=list)
    at: str | None = None
    cli: bool = False

    @property
    def name(self) -> str:
        return self.path.stem

    def script(self, data: Path) -> str:
        """The statements below the header, with ``${DATA}`` filled in."""
        lines = self.path.read_text(encoding="utf-8").splitlines(keepends=True)
        start = next((i for i, line in enumerate(lines) if not line.startswith("--")), len(lines))
        return "".join(lines[start:]).replace("${DATA}", str(data))

    def expected(self, data: Path) -> list[str]:
        return [e.replace("${DATA}", str(data)) for e in self.errors]


_DIRECTIVE = re.compile(r"^-- (kind|error|at):\s?(.*)$|^-- (cli)\s*$")


def load_case(path: Path) -> Case:
    kind: type[FlowSQLError] | None = None
    case = Case(path, FlowSQLError)
    for line in path.read_text(encoding="utf-8").splitlines():
        m = _DIRECTIVE.match(line)
        if m is None:
            continue
        key, value = m.group(1) or m.group(3), (m.group(2) or "").rstrip()
        if key == "kind":
            kind = getattr(errors, value)
        elif key == "error":
            case.errors.append(value)
        elif key == "at":
            case.at = value
        else:
            case.cli = True
    assert kind is not None and issubclass(kind, FlowSQLError), f"{path.name}: no valid '-- kind:'"
    assert case.errors, f"{path.name}: no '-- error:' line"
    case.kind = kind
    return case


CASES = [load_case(p) for p in sorted(CASES_DIR.glob("*.sql"))]
CLI_CASES = [c for c in CASES if c.cli]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    for name, text in DATA_FILES.items():
        (data / name).write_text(text, encoding="utf-8")
    return data


@pytest.fixture
def bsession(session, data_dir: Path):
    """A session in batch mode with the SETUP tables."""
    list(session.execute(SETUP.replace("${DATA}", str(data_dir))))
    return session


def _run_case(session, case: Case, data: Path) -> FlowSQLError:
    try:
        for _ in session.execute(case.script(data)):
            pass
    except FlowSQLError as err:
        return err
    pytest.fail(f"{case.name}: no error was raised")


# -- the catalogue itself ------------------------------------------------------------------------
def test_there_are_enough_distinct_cases():
    assert len(CASES) >= 30
    assert len(CLI_CASES) >= 10
    assert len({c.path.read_text().split("\n-- ", 1)[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_case_is_documented(case: Case):
    docs = DOCS.read_text(encoding="utf-8")
    for text in case.expected(Path(DOCS_DATA)):
        assert text in docs, f"{case.name}: {text!r} is not in docs/errors.md"


# -- through the Session ---------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_bad_input_through_session(bsession, data_dir: Path, case: Case):
    err = _run_case(bsession, case, data_dir)
    assert isinstance(err, case.kind), f"{type(err).__name__}: {err.render()}"
    rendered = err.render()
    for text in case.expected(data_dir):
        assert text in rendered
    assert "Traceback" not in rendered
    assert not re.search(r"__(t|v)\d+_|__scan_\d+|__c\d+", rendered), "internal names leak"
    if isinstance(err, SqlParseError):
        _check_position(case, err, data_dir)


def _check_position(case: Case, err: SqlParseError, data: Path) -> None:
    """The caret sits under the reported column of the reported script line."""
    lines = case.script(data).splitlines()
    assert 1 <= err.line <= len(lines)
    source = lines[err.line - 1]
    assert err.source_line and source.startswith(err.source_line)  # the statement's ';' is cut
    caret = " " * (err.col - 1) + "^"
    assert f"\n  {err.source_line}\n  {caret}" in err.render()
    if case.at is not None:
        assert source[err.col - 1 :].startswith(case.at), (source, err.col)


def test_session_stays_usable_after_errors(bsession, data_dir: Path):
    for case in CASES[:5]:
        _run_case(bsession, case, data_dir)
    result = bsession.execute_one("SELECT COUNT(*) AS n FROM orders")
    assert result.table.to_pylist() == [{"n": 3}]


# -- ignore-parse-errors: bad records are skipped, the others returned -----------------------------
@pytest.mark.parametrize(
    ("fmt", "file", "ids"),
    [("csv", "orders_bad.csv", [1, 4]), ("json", "orders_bad.json", [1, 3])],
)
def test_ignore_parse_errors_skips_bad_records(bsession, data_dir: Path, fmt, file, ids):
    bsession.execute_one(
        f"CREATE TABLE t (id BIGINT, name STRING, amount BIGINT) WITH ('connector' = 'filesystem', "
        f"'path' = '{data_dir / file}', 'format' = '{fmt}', '{fmt}.ignore-parse-errors' = 'true')"
    )
    result = bsession.execute_one("SELECT id FROM t ORDER BY id")
    assert [r["id"] for r in result.table.to_pylist()] == ids


@pytest.mark.parametrize(("fmt", "file"), [("csv", "orders_bad.csv"), ("json", "orders_bad.json")])
def test_without_ignore_parse_errors_the_query_fails(bsession, data_dir: Path, fmt, file):
    bsession.execute_one(
        f"CREATE TABLE t (id BIGINT, name STRING, amount BIGINT) WITH ('connector' = 'filesystem', "
        f"'path' = '{data_dir / file}', 'format' = '{fmt}')"
    )
    with pytest.raises(errors.MalformedRecordError) as info:
        bsession.execute_one("SELECT id FROM t")
    assert f"{data_dir / file}:2" in info.value.render()


# -- through the real CLI -------------------------------------------------------------------------
@pytest.mark.parametrize("case", CLI_CASES, ids=lambda c: c.name)
def test_bad_input_through_cli(tmp_path: Path, data_dir: Path, case: Case):
    setup = tmp_path / "setup.sql"
    setup.write_text(SETUP.replace("${DATA}", str(data_dir)), encoding="utf-8")
    script = tmp_path / f"{case.name}.sql"
    script.write_text(case.script(data_dir), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "flowsql", "shell", "--home", str(tmp_path / "home"),
         "-i", str(setup), "-f", str(script)],
        cwd=ROOT, capture_output=True, text=True, timeout=240, stdin=subprocess.DEVNULL,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output
    for text in case.expected(data_dir):
        assert text in proc.stderr, output
    assert "Traceback" not in output
    assert "Internal error" not in output
