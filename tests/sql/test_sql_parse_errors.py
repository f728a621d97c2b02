"""Parse errors: SqlParseError with the script line/column and a caret under the culprit."""

from __future__ import annotations

import pytest

from flowsql.errors import SqlParseError
from flowsql.sql import statements as st

# (script, line, col, words expected in the message)
CASES = [
    ("SELEC 1", 1, 1, "unknown statement"),
    ("SELECT 1;\nFOO BAR;", 2, 1, "unknown statement"),
    ("SELECT 1;\n  SELECT (a + b FROM t;", 2, 17, "Expecting )"),
    ("SET 'a' = 'b'; SELECT * FROM t WHERE x = 'abc", 1, 42, "unterminated string"),
    ("CREATE TABLE t (a INTT) WITH ('connector' = 'x')", 1, 19, "unknown data type 'INTT'"),
    ("SELECT 1;\nCREATE TABLE t (\n  a INT,\n  b VARCHAR(3) NOT\n) WITH ()", 4, 5, "data type"),
    ("CREATE TABLE t (a INT) WITH ('k' 'v')", 1, 34, "expected '='"),
    ("SELECT 1; INSERT INTO s SELECT a FROM FROM t", 1, 39, ""),
    ("SELECT 1; EXECUTE STATEMENT SET BEGIN\nINSERT INTO a SELECT 1;\nSELECT 2;\nEND;", 3, 1, "only INSERT"),
    ("SELECT * FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts)))", 1, 52, "TUMBLE takes"),
    ("DROP TABLE", 1, 11, "expected a table name"),
    ("CREATE TABLE t (a INT", 1, 22, "',' or ')'"),
    ("USE CATALOG c extra", 1, 15, "unexpected text"),
    ("STOP JOB abc", 1, 10, "quoted job id"),
    ("SELECT 1;\n\n   CREATE VIEW v AS SELEC a FROM t", 3, 21, "expected a query"),
]


@pytest.mark.parametrize(("script", "line", "col", "words"), CASES)
def test_error_position(script, line, col, words):
    with pytest.raises(SqlParseError) as info:
        st.parse_script(script)
    err = info.value
    assert (err.line, err.col) == (line, col), err.render()
    assert words in err.message
    assert err.source_line == script.splitlines()[line - 1]
    rendered = err.render().splitlines()
    # the caret sits under column `col` of the echoed source line
    source, caret = rendered[1], rendered[2]
    assert caret.index("^") == source.index(err.source_line) + col - 1


def test_parse_statement_offsets_positions():
    with pytest.raises(SqlParseError) as info:
        st.parse_statement("SELECT\n  a +", line=5, col=7)
    assert info.value.line == 6
    with pytest.raises(SqlParseError) as info:
        st.parse_statement("SELEC 1", line=5, col=7)
    assert (info.value.line, info.value.col) == (5, 7)
    assert info.value.source_line == "      SELEC 1"


def test_unknown_statement_lists_supported_ones():
    with pytest.raises(SqlParseError) as info:
        st.parse_statement("GRANT ALL ON t")
    assert "CREATE" in info.value.hint and "INSERT" in info.value.hint


def test_no_raw_exception_escapes():
    for text in ["(", ")", "'", "`", "/*", "CREATE", "CREATE TABLE", "INSERT INTO", "SELECT * FROM TABLE(", "SET 'a' =",
                 "EXECUTE STATEMENT SET BEGIN", "SHOW CREATE", "EXPLAIN", "SELECT CAST(a AS)", "CREATE TABLE t (a ROW<b>)"]:
        with pytest.raises(SqlParseError):
            st.parse_statement(text)
