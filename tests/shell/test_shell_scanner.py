"""The shell's statement scanner and shell-command recognition."""

from __future__ import annotations

import pytest

from flowsql.shell.commands import Command, parse_command
from flowsql.shell.scanner import is_complete, scan


@pytest.mark.parametrize(
    "text",
    [
        "SELECT 1;",
        "SET 'execution.runtime-mode'\n= 'batch';",
        "SELECT 'a;b' ;",
        "SELECT 'it''s; fine';",
        "SELECT `we;ird` FROM t;",
        "SELECT 1; -- a comment; with a semicolon",
        "SELECT /* ; */ 1;",
        "SELECT CASE WHEN a THEN 1 ELSE 2 END FROM t;",
        "SELECT CASE WHEN a THEN 1;",  # invalid, but complete: the parser reports it
        "EXECUTE STATEMENT SET BEGIN INSERT INTO a SELECT CASE WHEN x THEN 1 END FROM t; END;",
        "BEGIN STATEMENT SET;\nINSERT INTO a SELECT 1;\nEND /* done */ ;",
        "EXECUTE STATEMENT SET BEGIN\nINSERT INTO a SELECT 1;\nINSERT INTO b SELECT 2;\nEND;",
        "SELECT 1; SELECT 2;",
        "quit",
        "EXIT",
        "Help",
        "  clear  ",
    ],
)
def test_complete_inputs(text: str) -> None:
    assert is_complete(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n  ",
        "-- only a comment",
        "SELECT 1",
        "SET 'execution.runtime-mode'",
        "SELECT 'a;b",
        "SELECT 'it''s; fine",
        "SELECT /* ; ",
        "SELECT 1 -- ;",
        "EXECUTE STATEMENT SET BEGIN\nINSERT INTO a SELECT 1;",
        "EXECUTE STATEMENT SET BEGIN\nINSERT INTO a SELECT 1;\nEND",
        "BEGIN STATEMENT SET;\nINSERT INTO a SELECT 1;",
        "execute statement set begin insert into a select case when x then 1 end from t;",
        "SELECT 1; SELECT 2",
        "quit now",
    ],
)
def test_incomplete_inputs(text: str) -> None:
    assert not is_complete(text)


def test_pieces_carry_positions_and_drop_comment_only_pieces() -> None:
    text = "-- header\nSET 'a' = 'b';\n\n  SELECT\n  1 ;  -- tail\n;"
    pieces = scan(text).pieces
    assert [(p.text, p.line, p.col, p.terminated) for p in pieces] == [
        ("SET 'a' = 'b'", 2, 1, True),
        ("SELECT\n  1", 4, 3, True),
    ]


def test_begin_end_block_is_one_piece() -> None:
    text = "EXECUTE STATEMENT SET BEGIN INSERT INTO a SELECT 1; INSERT INTO b SELECT 2; END; SHOW TABLES;"
    pieces = scan(text).pieces
    assert len(pieces) == 2
    assert pieces[0].text.endswith("END")
    assert pieces[1].text == "SHOW TABLES"


def test_unterminated_last_piece() -> None:
    result = scan("SELECT 1; SELECT")
    assert [p.terminated for p in result.pieces] == [True, False]
    assert not result.complete


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("quit", Command.QUIT),
        ("QUIT;", Command.QUIT),
        ("Exit ;", Command.QUIT),
        ("help;", Command.HELP),
        ("CLEAR", Command.CLEAR),
        ("SELECT 1", None),
        ("quitx", None),
    ],
)
def test_parse_command(text: str, command: Command | None) -> None:
    assert parse_command(text) is command


@pytest.mark.parametrize(
    "text",
    [
        "SELECT 1; SELECT 'a;b'; SELECT `c;d` FROM t /* ; */;",
        "-- header\nSET 'a' = 'b';\n\nSELECT\n 1 ; -- tail\n",
        "EXECUTE STATEMENT SET BEGIN INSERT INTO a SELECT CASE WHEN x THEN 1 END FROM t; END;"
        " SHOW TABLES;",
        "BEGIN STATEMENT SET;\nINSERT INTO a SELECT 1;\nINSERT INTO b SELECT 2;\nEND;\nSELECT 3;",
    ],
)
def test_pieces_agree_with_the_session_splitter(text: str) -> None:
    """The shell stops reading where the session's splitter would cut the statements."""
    from flowsql.sql.statements import split_script

    pieces = scan(text).pieces
    statements = split_script(text)
    assert len(pieces) == len(statements)
    for piece, statement in zip(pieces, statements, strict=True):
        assert statement.text.endswith(piece.text)
