"""REGEXP_EXTRACT's literal prefilter (flowsql/expr/regex_literal.py): the literal it picks
is in every match, its row search agrees with Arrow's per-row search, and REGEXP_EXTRACT
gives the same values with and without it."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from flowsql.expr import strings
from flowsql.expr.compile import compile_expression
from flowsql.expr.regex_literal import required_literal, rows_containing


@pytest.mark.parametrize("pattern,literal", [
    ("(?P<g1>&|^)channel_id=(?P<g2>[^&]*)", "channel_id="),
    ("abc", "abc"),
    (r"a\.bc\d", "a.bc"),
    ("(?:xy)+zz", "zz"),
    ("h(ell)o", "ell"),
    ("ab?cd", "cd"),
    ("[abc]def", "def"),
])
def test_required_literal(pattern, literal):
    assert required_literal(pattern) == literal


@pytest.mark.parametrize("pattern", [
    "(?i)abc", "a(?i:bc)de", "(?s)a.bc", "ab*c", "foo|bar", "x{2}", r"\p{L}+", "(abc)?", "a",
    "(?:abc|xyz)", r"\Qabc\E",
])
def test_no_literal(pattern):
    assert required_literal(pattern) is None


def _random_strings(rng, n, with_nulls=True):
    alphabet = np.array(list("ab=_&xy"))
    words = ["".join(rng.choice(alphabet, rng.integers(0, 12))) for _ in range(n)]
    for i in rng.choice(n, n // 5, replace=False):
        words[i] = words[i][:3] + "a=b" + words[i][3:]
    values = [None if with_nulls and rng.random() < 0.1 else w for w in words]
    return pa.array(values, pa.string())


@pytest.mark.parametrize("kind", [pa.string(), pa.large_string()])
@pytest.mark.parametrize("seed", range(5))
def test_rows_containing_matches_arrow(kind, seed):
    rng = np.random.default_rng(seed)
    text = _random_strings(rng, 400).cast(kind)
    for arr in (text, text.slice(37, 200), text.slice(399)):
        for literal in ("a=b", "ab", "=_&", "zz"):
            want = pc.fill_null(pc.match_substring(arr, literal), False)
            got = rows_containing(arr, literal, limit=10**6)
            assert got.to_pylist() == want.to_pylist(), (literal, arr.offset)


def test_rows_containing_ignores_spans_across_rows():
    text = pa.array(["xa", "by", "ab"])
    assert rows_containing(text, "ab", limit=10).to_pylist() == [False, False, True]


def test_rows_containing_gives_up_past_the_limit():
    assert rows_containing(pa.array(["ab"] * 10), "ab", limit=4) is None


@pytest.mark.parametrize("expression", [
    "REGEXP_EXTRACT(s, '(&|^)a=([^&]*)', 2)",
    "REGEXP_EXTRACT(s, 'a=b')",
    "REGEXP_EXTRACT(s, '([xy]+)a=b(.*)', 1)",
    "REGEXP_EXTRACT(s, '([xy]+)a=b(.*)', 2)",
    "REGEXP_EXTRACT(s, 'x(y)?a=b', 1)",
])
@pytest.mark.parametrize("seed", range(3))
def test_regexp_extract_same_with_and_without_prefilter(monkeypatch, expression, seed):
    rng = np.random.default_rng(seed)
    batch = pa.record_batch({"s": _random_strings(rng, 2000)})
    sparse = pa.record_batch({"s": pa.array(
        [f"q{i}&a=b{i}" if i % 50 == 0 else f"y{i}xa=b" if i % 50 == 25 else f"q{i}"
         for i in range(2000)])})
    compiled = compile_expression(expression, batch.schema)
    with_prefilter = [compiled.evaluate(b).to_pylist() for b in (batch, sparse, batch.slice(5, 9))]
    monkeypatch.setattr(strings, "required_literal", lambda _p: None)
    plain = compile_expression(expression, batch.schema)
    without = [plain.evaluate(b).to_pylist() for b in (batch, sparse, batch.slice(5, 9))]
    assert with_prefilter == without
    assert any(v is not None for v in with_prefilter[1]) or "(y)?" in expression
