"""``CREATE FUNCTION`` / ``DROP FUNCTION``: Flink's function DDL parsed into statements.

Grammar (keywords case-insensitive; ``CREATE`` / ``DROP`` and ``TEMPORARY`` already consumed
by :mod:`flowsql.sql.parser`)::

    CREATE [TEMPORARY [SYSTEM]] FUNCTION [IF NOT EXISTS] [[cat.]db.]name
        AS 'package.module.attr' [LANGUAGE PYTHON | JAVA | SCALA]
        [USING JAR '...']                       -- parsed only to be refused: no JVM here
    DROP [TEMPORARY] [SYSTEM] FUNCTION [IF EXISTS] [[cat.]db.]name

A SYSTEM function has a one-part name (Flink's rule). The language and the path are kept as
written; the session decides what runs (:mod:`flowsql.session.functions`).
"""

from __future__ import annotations

from flowsql.sql import statements as st
from flowsql.sql.cursor import Cursor


def _system(cur: Cursor, temporary: bool, *, strict: bool = True) -> bool:
    if not cur.accept("SYSTEM"):
        return False
    if not temporary and strict:
        cur.fail("a SYSTEM function is always TEMPORARY: write CREATE TEMPORARY SYSTEM FUNCTION",
                 back=1)
    return True


def _name(cur: Cursor, system: bool) -> tuple[str, ...]:
    name = cur.name("a function name")
    if system and len(name) > 1:
        cur.fail("a temporary system function has a one-part name (no catalog or database)",
                 back=1)
    return name


def parse_create_function(cur: Cursor, *, temporary: bool) -> st.CreateFunction:
    system = _system(cur, temporary)
    cur.expect("FUNCTION")
    if_not_exists = cur.accept("IF", "NOT", "EXISTS")
    name = _name(cur, system)
    cur.expect("AS")
    path = cur.string("the function's quoted path, e.g. 'my_udfs.count_char'")
    language, given = "PYTHON", False
    if cur.accept("LANGUAGE"):
        language, given = cur.word() or "", True
        if not language:
            cur.fail("expected PYTHON, JAVA or SCALA after LANGUAGE")
        cur.i += 1
    if cur.accept("USING"):  # USING JAR '...': a JVM resource
        language, given = ("JAVA" if not given else language), given
        while not cur.at_end():
            cur.i += 1
    if not cur.at_end():
        cur.fail("unexpected text at the end of the statement")
    return st.CreateFunction(
        name=name, path=path, language=language.upper(), language_given=given,
        if_not_exists=if_not_exists, temporary=temporary, system=system,
    )


def parse_drop_function(cur: Cursor, *, temporary: bool) -> st.DropFunction:
    system = _system(cur, temporary, strict=False)  # DROP SYSTEM FUNCTION: temporary anyway
    temporary = temporary or system
    cur.expect("FUNCTION")
    if_exists = cur.accept("IF", "EXISTS")
    name = _name(cur, system)
    if not cur.at_end():
        cur.fail("unexpected text at the end of the statement")
    return st.DropFunction(name=name, if_exists=if_exists, temporary=temporary, system=system)
