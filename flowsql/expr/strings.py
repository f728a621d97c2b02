"""String function kernels (vectorized, ``pyarrow.compute``) with Flink semantics.

Contract: each kernel has the :data:`flowsql.expr.functions.Kernel` signature
``(call, args) -> value``; pattern-like arguments (separators, regexes, pad strings, widths)
must be compile-time constants and are read from ``call``.

- Positions are 1-based characters (not bytes): SUBSTRING, LOCATE/POSITION, INSTR.
- SPLIT_INDEX(s, sep, i): 0-based; NULL when i is negative or out of range, or s is ''.
- REGEXP_EXTRACT(s, re[, group]): group 0 (default) is the whole match; NULL when no match.
  Java regexes are run by RE2 (Arrow): they agree except for Java-only constructs
  (backreferences, lookaround), which are rejected at compile time. Capturing groups are
  renamed ``(?P<gN>…)`` so Arrow's ``extract_regex`` can return the wanted one. When every
  match must contain some literal text (:mod:`flowsql.expr.regex_literal`), rows without it
  are NULL without running RE2 (a substring prefilter).
- REGEXP_REPLACE replacement strings use Java's ``$n`` group syntax (converted to RE2 ``\\n``).
- LPAD/RPAD truncate to the length when the string is longer (Flink's rule); only a
  one-character pad is supported.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from flowsql.errors import NotSupportedError, ValidationError
from flowsql.expr.kernels import Value, as_array
from flowsql.expr.regex_literal import required_literal, rows_containing

if TYPE_CHECKING:
    from flowsql.expr.functions import Call

_NULL_STR = pa.scalar(None, pa.string())


def char_length(call: Call, a: Sequence[Value]) -> Value:
    return pc.cast(pc.utf8_length(a[0]), pa.int32())


def substring(call: Call, a: Sequence[Value]) -> Value:
    start = call.const(1, "start position")
    length = call.const_or(2, None, "length") if len(a) > 2 else None
    if start is None or (len(a) > 2 and length is None):
        return _NULL_STR
    begin = start - 1 if start > 0 else (0 if start == 0 else start)
    if length is None:
        return pc.utf8_slice_codeunits(a[0], begin)
    if length < 0:
        return pc.if_else(pc.is_valid(a[0]), "", _NULL_STR) if not isinstance(a[0], pa.Scalar) \
            else (pa.scalar("") if a[0].is_valid else _NULL_STR)
    stop = begin + length
    if begin < 0 <= stop:
        return pc.utf8_slice_codeunits(a[0], begin)
    return pc.utf8_slice_codeunits(a[0], begin, stop)


def concat(call: Call, a: Sequence[Value]) -> Value:
    if len(a) == 1:
        return a[0]
    return pc.binary_join_element_wise(*a, "")


def concat_ws(call: Call, a: Sequence[Value]) -> Value:
    """NULL arguments are skipped; a NULL separator gives NULL. A non-null sentinel leads the
    join because Arrow's ``null_handling='skip'`` drops rows whose inputs are all NULL."""
    sep = call.const(0, "separator")
    if sep is None:
        return _NULL_STR
    joined = pc.binary_join_element_wise("\x01", *a[1:], sep, null_handling="skip")
    return pc.utf8_slice_codeunits(joined, 1 + len(sep))


def trim(position: str):
    def kernel(call: Call, a: Sequence[Value]) -> Value:
        chars = call.const_or(1, " ", "trim characters")
        if chars is None:
            return _NULL_STR
        fn = {"both": pc.utf8_trim, "leading": pc.utf8_ltrim, "trailing": pc.utf8_rtrim}[position]
        return fn(a[0], characters=chars)

    return kernel


def replace(call: Call, a: Sequence[Value]) -> Value:
    search = call.const(1, "search string")
    replacement = call.const(2, "replacement")
    if search is None or replacement is None:
        return _NULL_STR
    if search == "":
        return a[0]
    return pc.replace_substring(a[0], pattern=search, replacement=replacement)


def locate(call: Call, a: Sequence[Value]) -> Value:
    """LOCATE(needle, haystack[, from]) / POSITION(needle IN haystack): 1-based, 0 if absent."""
    needle = call.const(0, "search string")
    start = call.const_or(2, 1, "start position") if len(a) > 2 else 1
    hay = a[1]
    if needle is None or start is None:
        return pa.scalar(None, pa.int32())
    offset = 0
    if start > 1:
        hay = pc.utf8_slice_codeunits(hay, start - 1)
        offset = start - 1
    if needle == "":
        found_at = pc.if_else(pc.is_valid(hay), pa.scalar(1 + offset, pa.int32()),
                              pa.scalar(None, pa.int32()))
        return found_at
    found = pc.match_substring(hay, needle)
    before = pc.list_element(pc.split_pattern(hay, pattern=needle, max_splits=1), 0)
    index = pc.add(pc.cast(pc.utf8_length(before), pa.int32()), pa.scalar(1 + offset, pa.int32()))
    return pc.if_else(found, index, pa.scalar(0, pa.int32()))


def instr(call: Call, a: Sequence[Value]) -> Value:
    """INSTR(haystack, needle) = LOCATE(needle, haystack)."""
    swapped = type(call)(call.name, call.arg_types[::-1], call.constants[::-1], call.session_tz)
    return locate(swapped, [a[1], a[0]])


def split_index(call: Call, a: Sequence[Value], parts: pa.Array | None = None) -> Value:
    """SPLIT_INDEX; ``parts`` optionally gives ``split_parts(a[0], sep)`` computed once for
    several calls on the same string (see :func:`flowsql.expr.calls.compile_call`)."""
    sep = call.const(1, "separator")
    index = call.const(2, "index")
    text = a[0]
    if sep is None or index is None or index < 0:
        return _NULL_STR
    if isinstance(text, pa.Scalar):
        out = split_index(call, [pa.array([text.as_py()], pa.string()), *a[1:]])
        return out[0]
    text = as_array(text)
    if parts is None:
        parts = split_parts(text, sep)
    return pick_part(text, parts, index)


def split_parts(text: Value, sep: str) -> Value:
    """``text`` split on the literal separator ``sep`` (a list per row; NULL stays NULL)."""
    if sep == "":
        raise NotSupportedError("SPLIT_INDEX with an empty separator")
    if isinstance(text, pa.Scalar):
        return text
    return pc.split_pattern(as_array(text), pattern=sep)


def pick_part(text: pa.Array, parts: pa.Array, index: int) -> pa.Array:
    """Element ``index`` of each list of ``parts`` (NULL when out of range or ``text`` is
    ''). The element positions are computed from the list offsets and gathered with one
    ``take``: no per-row selection over list values (``if_else`` on lists is ~300 ns/row)."""
    n = len(text)
    if n == 0:
        return pa.array([], pa.string())
    has = pc.fill_null(pc.greater(pc.list_value_length(parts), index), False)
    count = pc.sum(has).as_py() or 0
    if count == 0:
        return pa.nulls(n, pa.string())
    starts = pc.add(parts.offsets.slice(0, n), pa.scalar(index, parts.offsets.type))
    if count == n:
        out = pc.take(parts.values, starts)
    else:
        picked = pc.take(parts.values, starts.filter(has))
        out = pc.replace_with_mask(pa.nulls(n, pa.string()), has, picked)
    empty = pc.equal(text, "")
    if pc.any(empty).as_py():  # Flink: SPLIT_INDEX('', sep, 0) is NULL, not ''
        out = pc.if_else(empty, _NULL_STR, out)
    return out


def java_regex_to_re2(pattern: str) -> tuple[str, int]:
    """Rename capturing groups to ``(?P<gN>…)`` (N = Java's group number) and check that RE2
    accepts the pattern. Returns (pattern, number of groups)."""
    out: list[str] = []
    groups = 0
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
            out.append(ch)
            i += 1
            continue
        if ch == "[":
            in_class = True
            out.append(ch)
            if pattern[i + 1 : i + 2] == "]":  # ']' first in a class is literal
                out.append("]")
                i += 1
            i += 1
            continue
        if ch == "(":
            rest = pattern[i + 1 :]
            if not rest.startswith("?"):
                groups += 1
                out.append(f"(?P<g{groups}>")
                i += 1
                continue
            named = re.match(r"\?P?<([A-Za-z][A-Za-z0-9]*)>", rest)
            if named:
                groups += 1
                out.append(f"(?P<g{groups}>")
                i += 1 + named.end()
                continue
            if rest.startswith(("?=", "?!", "?<=", "?<!")):
                raise ValidationError(f"regular expression '{pattern}' uses lookaround, which "
                                      "is not supported (RE2 syntax)")
        out.append(ch)
        i += 1
    converted = "".join(out)
    if re.search(r"\\[1-9]", pattern):
        raise ValidationError(f"regular expression '{pattern}' uses backreferences, which are "
                              "not supported (RE2 syntax)")
    try:
        pc.match_substring_regex(pa.array([""]), converted)
    except pa.ArrowInvalid as exc:
        raise ValidationError(f"invalid regular expression '{pattern}': {exc}") from None
    return converted, groups


def regexp_extract(call: Call, a: Sequence[Value]) -> Value:
    pattern = call.const(1, "regular expression")
    group = call.const_or(2, 0, "group index") if len(a) > 2 else 0
    if pattern is None or group is None:
        return _NULL_STR
    key = f"re:{pattern}"
    if key not in call.cache:
        call.cache[key] = java_regex_to_re2(pattern)
    converted, groups = call.cache[key]
    if group < 0 or group > groups:
        return _NULL_STR
    text = a[0]
    if isinstance(text, pa.Scalar):
        return regexp_extract(call, [pa.array([text.as_py()], pa.string()), *a[1:]])[0]
    literal_key = f"re-literal:{converted}"
    if literal_key not in call.cache:
        call.cache[literal_key] = required_literal(converted)
    return _extract_group(text, f"(?P<g0>{converted})", group, call.cache[literal_key])


def _extract_group(text: pa.Array, pattern: str, group: int, literal: str | None) -> pa.Array:
    """Group ``group`` of the first match of ``pattern`` per row (NULL without a match). With
    a ``literal`` every match contains (:mod:`flowsql.expr.regex_literal`), rows without it
    are NULL at once and RE2 runs only on the others when they are under a quarter of the rows."""
    if literal is not None and len(text) > 0:
        has = rows_containing(text, literal, limit=len(text) // 4)
        if has is not None:
            if not pc.any(has).as_py():
                return pa.nulls(len(text), text.type)
            found = pc.struct_field(pc.extract_regex(pc.filter(text, has), pattern), [group])
            return pc.replace_with_mask(pa.nulls(len(text), found.type), has, found)
    return pc.struct_field(pc.extract_regex(text, pattern), [group])


def regexp_replace(call: Call, a: Sequence[Value]) -> Value:
    pattern = call.const(1, "regular expression")
    replacement = call.const(2, "replacement")
    if pattern is None or replacement is None:
        return _NULL_STR
    converted, _ = java_regex_to_re2(pattern)
    return pc.replace_substring_regex(a[0], pattern=converted,
                                      replacement=_java_replacement(replacement))


def _java_replacement(text: str) -> str:
    """Java ``$1``/``\\$`` replacement syntax → RE2 ``\\1``."""
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append("\\\\" if nxt == "\\" else nxt)
            i += 2
        elif ch == "$" and i + 1 < len(text) and text[i + 1].isdigit():
            out.append("\\" + text[i + 1])
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def regexp(call: Call, a: Sequence[Value]) -> Value:
    pattern = call.const(1, "regular expression")
    if pattern is None:
        return pa.scalar(None, pa.bool_())
    converted, _ = java_regex_to_re2(pattern)
    return pc.match_substring_regex(a[0], converted)


def pad(left: bool):
    def kernel(call: Call, a: Sequence[Value]) -> Value:
        width = call.const(1, "length")
        fill = call.const(2, "pad string")
        if width is None or fill is None or width < 0:
            return _NULL_STR
        if len(fill) != 1:
            if fill == "":
                return _NULL_STR
            raise NotSupportedError(f"{call.name} with a pad string longer than one character")
        fn = pc.utf8_lpad if left else pc.utf8_rpad
        padded = fn(a[0], width=width, padding=fill)
        return pc.utf8_slice_codeunits(padded, 0, width) if not left else pc.if_else(
            pc.greater(pc.utf8_length(a[0]), width),
            pc.utf8_slice_codeunits(a[0], 0, width),
            padded,
        )

    return kernel


def repeat(call: Call, a: Sequence[Value]) -> Value:
    times = a[1]
    times = pc.max_element_wise(pc.cast(times, pa.int64()), 0) if not isinstance(times, pa.Scalar) \
        else (pa.scalar(max(times.as_py(), 0), pa.int64()) if times.is_valid else times)
    return pc.binary_repeat(a[0], times)



def left(call: Call, a: Sequence[Value]) -> Value:
    n = call.const(1, "length")
    if n is None:
        return _NULL_STR
    return pc.utf8_slice_codeunits(a[0], 0, max(n, 0))


def right(call: Call, a: Sequence[Value]) -> Value:
    n = call.const(1, "length")
    if n is None:
        return _NULL_STR
    if n <= 0:
        return pc.utf8_slice_codeunits(a[0], 0, 0)
    return pc.utf8_slice_codeunits(a[0], -n)
