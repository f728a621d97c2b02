"""The longest literal text every match of a regular expression contains, for a cheap
``match_substring`` prefilter before running RE2 (``REGEXP_EXTRACT``).

:func:`required_literal` parses the (RE2-converted) pattern with Python's own regex parser
(``re._parser``) and looks only at what every match must pass through: runs of plain literal
characters in the top-level sequence, and in capturing or non-capturing groups that sit in
that sequence without a quantifier. Alternations, classes, repeats, anchors and escapes such
as ``\\d`` end a run. It answers None (no prefilter) when the pattern sets any flag
(case-insensitive matching would make the literal wrong), when Python cannot parse it (a
construct only RE2 or Java knows), or when the longest run is shorter than two characters.
The answer is conservative: a string without the literal cannot match the pattern.

:func:`rows_containing` finds the rows holding that literal with one search over the whole
data buffer (Arrow's ``match_substring`` searches row by row, which costs as much as RE2).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

try:  # the parser behind ``re.compile``; private, so its absence only turns the prefilter off
    from re import _constants as _c
    from re import _parser as _p
except ImportError:  # pragma: no cover
    _p = _c = None

MIN_LENGTH = 2


def required_literal(pattern: str) -> str | None:
    """See the module docstring."""
    if _p is None:
        return None
    try:
        parsed = _p.parse(pattern, 0)
    except (re.error, RecursionError, OverflowError, ValueError):
        return None
    if parsed.state.flags & ~re.UNICODE:  # (?i), (?s), (?m), (?x) ...
        return None
    runs: list[str] = []
    if not _collect(list(parsed), runs):
        return None
    best = max(runs, key=len, default="")
    return best if len(best) >= MIN_LENGTH else None


def _collect(items: list[tuple[Any, Any]], runs: list[str]) -> bool:
    """Append the literal runs of one sequence (and its plain groups) to ``runs``; False when
    a scoped flag makes the answer unsafe."""
    current: list[str] = []
    for op, arg in items:
        if op is _c.LITERAL:
            current.append(chr(arg))
            continue
        runs.append("".join(current))
        current = []
        if op is _c.SUBPATTERN:
            _group, add_flags, del_flags, body = arg
            if add_flags or del_flags:
                return False
            if not _collect(list(body), runs):
                return False
    runs.append("".join(current))
    return True


def rows_containing(text: pa.Array, literal: str, limit: int) -> pa.Array | None:
    """A boolean mask of the rows of ``text`` (string or large_string) that contain
    ``literal``, or None when more than ``limit`` occurrences are found (the caller then
    runs RE2 on every row). One ``bytes.find`` pass over the array's data buffer (the
    C-speed search CPython uses) instead of a search per row: the occurrences are mapped
    to rows through the offsets, and one spanning two rows is dropped."""
    if not (pa.types.is_string(text.type) or pa.types.is_large_string(text.type)):
        has = pc.fill_null(pc.match_substring(text, literal), False)
        return has if (pc.sum(has).as_py() or 0) <= limit else None
    n = len(text)
    _validity, offsets_buf, data_buf = text.buffers()
    dtype = np.int32 if pa.types.is_string(text.type) else np.int64
    offsets = np.frombuffer(offsets_buf, dtype=dtype)[text.offset : text.offset + n + 1]
    base = int(offsets[0])
    hay = data_buf[base : int(offsets[-1])].to_pybytes() if data_buf is not None else b""
    needle = literal.encode()
    found: list[int] = []
    at = hay.find(needle)
    while at != -1:
        if len(found) >= limit:
            return None
        found.append(at)
        at = hay.find(needle, at + 1)
    mask = np.zeros(n, dtype=bool)
    if found:
        starts = np.asarray(found, dtype=np.int64) + base
        rows = np.searchsorted(offsets, starts, side="right") - 1
        inside = starts + len(needle) <= offsets[rows + 1]
        mask[rows[inside]] = True
    out = pa.array(mask)
    if text.null_count:
        out = pc.and_(out, pc.is_valid(text))
    return out
