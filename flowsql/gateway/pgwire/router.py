"""Where a statement arriving on the Postgres wire is answered.

Contract: :func:`route` classifies one statement (comments and literals ignored):
- ``local``: Postgres session chatter answered by the connection itself — ``BEGIN`` /
  ``START TRANSACTION`` / ``COMMIT`` / ``END`` / ``ROLLBACK`` / ``ABORT`` / ``SAVEPOINT`` /
  ``RELEASE`` / ``DISCARD`` / ``DEALLOCATE`` / ``LISTEN`` / ``UNLISTEN`` (no-ops: FlowSQL has
  no transactions), ``SET name = value`` / ``SET name TO value`` / ``SET TIME ZONE …`` /
  ``SET SESSION CHARACTERISTICS …`` / ``RESET name`` with an *unquoted*, dot-free name
  (Postgres settings, kept per connection; ``SET a.b = …`` is FlowSQL's), ``SHOW name`` of a Postgres setting, ``SHOW ALL`` and
  ``SHOW TRANSACTION ISOLATION LEVEL``;
- ``cursor``: ``DECLARE name … CURSOR … FOR query``, ``FETCH [n | ALL] [FROM] name``,
  ``CLOSE name`` — SQL cursors over any query (the way to page a live changelog);
- ``refuse``: ``COPY``, ``ATTACH``, ``DETACH``, ``INSTALL``, ``LOAD``, ``PRAGMA``, ``EXPORT``,
  ``IMPORT``, ``CALL``, ``VACUUM``, ``CHECKPOINT`` (42501, never executed);
- ``mirror``: queries over ``pg_catalog`` / ``information_schema`` or calling Postgres
  introspection functions, and ``SELECT``\\s without ``FROM`` (``SELECT 1``, ``SELECT
  version()``) — answered by the catalog mirror (DuckDB, locked down);
- ``flowsql``: everything else, FlowSQL's own SQL (Flink dialect) through the gateway
  session — the one SQL path. ``SET 'key' = 'value'`` (quoted key), ``SHOW TABLES`` … go here.
:func:`split` splits a simple-query string into statements at top-level semicolons.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flowsql.gateway.pgwire.pgcatalog import SETTINGS

_CODE = re.compile(r"'(?:[^']|'')*'?|\"(?:[^\"]|\"\")*\"?|`[^`]*`?|--[^\n]*|/\*.*?(?:\*/|$)|;",
                   re.S)
NOOPS = {"BEGIN": "BEGIN", "START": "START TRANSACTION", "COMMIT": "COMMIT", "END": "COMMIT",
         "ROLLBACK": "ROLLBACK", "ABORT": "ROLLBACK", "SAVEPOINT": "SAVEPOINT",
         "RELEASE": "RELEASE", "DISCARD": "DISCARD ALL", "DEALLOCATE": "DEALLOCATE",
         "LISTEN": "LISTEN", "UNLISTEN": "UNLISTEN", "CLOSE": "CLOSE CURSOR"}
REFUSED = {"COPY", "ATTACH", "DETACH", "INSTALL", "LOAD", "PRAGMA", "EXPORT", "IMPORT",
           "CALL", "VACUUM", "CHECKPOINT", "FORCE", "UPDATE_EXTENSIONS"}
_PG_FUNCS = re.compile(
    r"\b(pg_catalog|information_schema|pg_[a-z_]+|version\s*\(|current_schema|current_database"
    r"|current_user|session_user|current_catalog|format_type|has_[a-z_]+_privilege"
    r"|obj_description|col_description|current_setting|set_config)\b", re.I)
_SETTING_NAMES = {k.lower() for k in SETTINGS}


@dataclass(frozen=True)
class Route:
    kind: str  # local | refuse | mirror | flowsql | empty
    tag: str = ""


def strip_code(sql: str) -> str:
    """The statement with literals and comments blanked (for classification only)."""
    def blank(m: re.Match) -> str:
        text = m.group(0)
        return " " if text.startswith(("-", "/")) else ("''" if text.startswith("'") else text)
    return _CODE.sub(blank, sql)


def split(sql: str) -> list[str]:
    out, start = [], 0
    for m in _CODE.finditer(sql):
        if m.group(0) == ";":
            out.append(sql[start:m.start()])
            start = m.end()
    out.append(sql[start:])
    return [s for s in out if strip_code(s).strip()]


def route(sql: str) -> Route:
    code = strip_code(sql).strip()
    if not code:
        return Route("empty")
    words = code.split()
    head = words[0].upper().lstrip("(")
    if head in ("DECLARE", "FETCH", "MOVE") or (head == "CLOSE" and len(words) > 1):
        return Route("cursor", head)
    if head in NOOPS:
        return Route("local", NOOPS[head])
    if head in REFUSED:
        return Route("refuse", head)
    if head in ("SET", "RESET"):
        rest = sql.strip()[len(words[0]):].lstrip()
        name = rest.split("=")[0].split()[0] if rest.split() else ""
        if not rest or rest.startswith("'") or "." in name:  # FlowSQL keys have dots
            return Route("flowsql")
        return Route("local", head)
    if head == "SHOW":
        name = " ".join(words[1:]).lower().rstrip(";").strip()
        if name in _SETTING_NAMES or name in ("all", "transaction isolation level",
                                              "time zone", "timezone"):
            return Route("local", "SHOW")
        return Route("flowsql")
    if _PG_FUNCS.search(code):
        return Route("mirror")
    if head == "SELECT" and not re.search(r"\bfrom\b", code, re.I):
        return Route("mirror")
    return Route("flowsql")


_SET = re.compile(r"^\s*set\s+(?:session\s+|local\s+)?([a-z_][\w.]*)\s*(?:=|\bto\b)\s*(.*?)\s*;?\s*$",
                  re.I | re.S)


def parse_set(sql: str) -> tuple[str, str] | None:
    """(name, value) of a Postgres ``SET``; None for forms that only need an acknowledgement."""
    m = _SET.match(sql)
    if m:
        value = m.group(2).strip()
        if value.startswith("'") and value.endswith("'"):
            value = value[1:-1].replace("''", "'")
        return m.group(1), value
    m = re.match(r"^\s*set\s+(?:session\s+|local\s+)?time\s+zone\s+(.*?)\s*;?\s*$", sql, re.I)
    if m:
        return "TimeZone", m.group(1).strip("'")
    return None


_DECLARE = re.compile(r"^\s*declare\s+\"?(\w+)\"?\s+(?:binary\s+)?(?:(?:no\s+)?scroll\s+)?cursor\s+"
                      r"(?:with(?:out)?\s+hold\s+)?for\s+(.*?)\s*;?\s*$", re.I | re.S)
_FETCH = re.compile(r"^\s*(?:fetch|move)\s+(?:(forward|next|all|\d+)\s+)?(?:(all|\d+)\s+)?"
                    r"(?:from\s+|in\s+)?\"?(\w+)\"?\s*;?\s*$", re.I)


def parse_declare(sql: str) -> tuple[str, str] | None:
    m = _DECLARE.match(sql)
    return (m.group(1).lower(), m.group(2)) if m else None


def parse_fetch(sql: str) -> tuple[str, int | None] | None:
    """(cursor name, row count or None for ALL)."""
    m = _FETCH.match(sql)
    if not m:
        return None
    count = (m.group(2) or m.group(1) or "1").lower()
    if count in ("all",):
        return m.group(3).lower(), None
    return m.group(3).lower(), int(count) if count.isdigit() else 1
