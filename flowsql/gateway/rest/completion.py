"""Statement completion for ``GET …/complete-statement`` (v2+): keywords, names, SET keys.

Contract: :func:`candidates` returns the completions of the word that ends at ``position``
in ``statement`` (case-insensitive prefix match): after ``SET``/``RESET`` the known
configuration keys (quoted, as Flink's completer offers them), elsewhere the Flink dialect's
keywords (upper case) and the current database's tables and views. The shell's completer is
built on prompt_toolkit's Completer API, so this reads the same sources without it.
"""

from __future__ import annotations

import re

from flowsql.config import KNOWN_OPTIONS
from flowsql.sql.dialect import Flink

_WORD = re.compile(r"[\w$.]*$")
_SET_KEY = re.compile(r"^\s*(?:SET|RESET)\s+'?(?P<prefix>[\w.\-]*)$", re.IGNORECASE)
_KEYWORDS = tuple(sorted({k for k in Flink.Tokenizer.KEYWORDS if re.fullmatch(r"[A-Z_]+", k)}))
MAX_CANDIDATES = 200


def candidates(statement: str, position: int, names: list[str]) -> list[str]:
    """Completions at ``position``; ``names`` are the current database's tables and views."""
    head = statement[: max(0, min(position, len(statement)))]
    m = _SET_KEY.match(head)
    if m:
        prefix = m.group("prefix").lower()
        return [f"'{k}'" for k in sorted(KNOWN_OPTIONS) if k.lower().startswith(prefix)]
    word = _WORD.search(head).group(0).upper()  # empty: every candidate
    out = [k for k in _KEYWORDS if k.startswith(word)]
    out += [n for n in sorted(names) if n.upper().startswith(word)]
    return out[:MAX_CANDIDATES]
