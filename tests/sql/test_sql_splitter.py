"""Script splitting: quotes, comments, statement-set blocks, positions."""

from __future__ import annotations

import pytest

from flowsql.sql.splitter import split

CASES = [
    # (script, [(text, line, col), ...])
    ("SELECT 1; SELECT 2;", [("SELECT 1", 1, 1), ("SELECT 2", 1, 11)]),
    ("SELECT 1", [("SELECT 1", 1, 1)]),
    ("  \n\n  SELECT 1  ;  \n", [("SELECT 1", 3, 3)]),
    ("SELECT 'a;b', 'it''s; x' FROM t; SELECT 2", [("SELECT 'a;b', 'it''s; x' FROM t", 1, 1), ("SELECT 2", 1, 34)]),
    ("SELECT `a;b` FROM `t``;`; SELECT 2", [("SELECT `a;b` FROM `t``;`", 1, 1), ("SELECT 2", 1, 27)]),
    ('SELECT "a;b"; SELECT 2', [('SELECT "a;b"', 1, 1), ("SELECT 2", 1, 15)]),
    ("SELECT 1 -- a; comment\n; SELECT 2", [("SELECT 1 -- a; comment", 1, 1), ("SELECT 2", 2, 3)]),
    ("SELECT /* ; */ 1; /* lead; */ SELECT 2", [("SELECT /* ; */ 1", 1, 1), ("SELECT 2", 1, 31)]),
    ("-- only a comment\n;;; /* and another */ ;", []),
    ("-- header\nSET 'a' = 'b';\n-- trailing comment", [("SET 'a' = 'b'", 2, 1)]),
    ("", []),
    (";;;", []),
    (
        "EXECUTE STATEMENT SET BEGIN\n  INSERT INTO a SELECT 1;\n  INSERT INTO b SELECT 2;\nEND;\nSELECT 3;",
        [
            ("EXECUTE STATEMENT SET BEGIN\n  INSERT INTO a SELECT 1;\n  INSERT INTO b SELECT 2;\nEND", 1, 1),
            ("SELECT 3", 5, 1),
        ],
    ),
    (
        "execute statement set begin insert into a select case when x then 1 end from t; end; select 1",
        [
            ("execute statement set begin insert into a select case when x then 1 end from t; end", 1, 1),
            ("select 1", 1, 86),
        ],
    ),
    (
        "BEGIN STATEMENT SET;\nINSERT INTO a SELECT 1;\nEND;\nSELECT 2",
        [("BEGIN STATEMENT SET;\nINSERT INTO a SELECT 1;\nEND", 1, 1), ("SELECT 2", 4, 1)],
    ),
    ("SELECT 'unterminated; SELECT 2", [("SELECT 'unterminated; SELECT 2", 1, 1)]),
    ("SELECT 1; /* unterminated ; comment", [("SELECT 1", 1, 1)]),
    ("SELECT 'x'\n;\n\tSELECT 'é';", [("SELECT 'x'", 1, 1), ("SELECT 'é'", 3, 2)]),
]


@pytest.mark.parametrize(("script", "expected"), CASES)
def test_split(script, expected):
    assert [(p.text, p.line, p.col) for p in split(script)] == expected


def test_positions_point_at_the_first_character():
    script = "SELECT 1;\n  -- c\n   INSERT INTO t\nSELECT 2;"
    for piece in split(script):
        line = script.splitlines()[piece.line - 1]
        assert line[piece.col - 1 :].startswith(piece.text.splitlines()[0])


def test_explain_statement_set_is_one_statement():
    from flowsql.sql.splitter import split

    for head in ("EXPLAIN STATEMENT SET BEGIN", "EXPLAIN EXECUTE STATEMENT SET BEGIN"):
        pieces = split(f"{head} INSERT INTO a SELECT 1; INSERT INTO b SELECT 2; END; SELECT 3;")
        assert [p.text.split()[0] for p in pieces] == ["EXPLAIN", "SELECT"]
