"""Date/time helpers for the expression compiler: Java patterns and vectorized time kernels.

Contract:
- Java date patterns (what Flink's DATE_FORMAT, TO_TIMESTAMP, UNIX_TIMESTAMP and
  FROM_UNIXTIME take, e.g. ``yyyy-MM-dd HH:mm:ss``) are read by
  :mod:`flowsql.date_patterns`, the reading batch mode uses too:
  :func:`format_timestamps` prints what Arrow's ``strftime`` cannot (unpadded numbers,
  fractions of a second) with component kernels; :func:`parse_timestamps` parses with
  ``strptime`` and refuses a fraction (Arrow's ``strptime`` has no code for it).
- Engine timestamps are ``timestamp[ms]`` (TIMESTAMP(3)) or ``timestamp[ms, tz=UTC]``
  (TIMESTAMP_LTZ(3), an instant). Anything shown to a user for an LTZ value (DATE_FORMAT,
  FROM_UNIXTIME, HOUR(...)) is first converted to wall-clock time in the session time zone
  (``table.local-time-zone``, default ``UTC``) with :func:`to_local`.
- All kernels are vectorized (``pyarrow.compute``); none loops over rows in Python.
- :func:`parse_timestamps` parses strings; unparsable values become NULL and the caller
  decides (TO_TIMESTAMP returns NULL, CAST raises with the offending value).
"""

from __future__ import annotations

import re
import time

import pyarrow as pa
import pyarrow.compute as pc

from flowsql.date_patterns import Component, Strftime, parse_pattern
from flowsql.errors import NotSupportedError
from flowsql.expr.kernels import Value, cast_or_bisect

DEFAULT_FORMAT = "yyyy-MM-dd HH:mm:ss"


def strftime_of(fmt: str) -> str | None:
    """An already-converted ``strftime`` format (dialects such as sqlglot's Hive convert
    DATE_FORMAT patterns at parse time, marking them ``%mstrict``), else None: a Java pattern."""
    if "%" in fmt and not fmt.count("'"):
        return fmt.replace("strict", "")
    return None


def to_local(ts: Value, session_tz: str) -> Value:
    """Wall-clock ``timestamp[ms]`` of a TIMESTAMP_LTZ value in the session time zone; a
    TIMESTAMP without zone is returned unchanged."""
    typ = ts.type
    if not pa.types.is_timestamp(typ) or typ.tz is None:
        return ts
    if session_tz.upper() in ("UTC", "Z", "GMT", "+00:00"):
        return pc.cast(ts, pa.timestamp(typ.unit))
    return pc.local_timestamp(pc.cast(ts, pa.timestamp(typ.unit, tz=session_tz)))


def format_timestamps(ts: Value, pattern: str, session_tz: str) -> Value:
    """DATE_FORMAT: format timestamps/dates with a Java pattern (vectorized).

    The pattern is read by :mod:`flowsql.date_patterns` (as in batch mode) and printed
    in pieces: runs that Arrow's ``strftime`` prints exactly, and the fields it cannot
    (unpadded numbers, fractions of a second) from component kernels, joined per row."""
    if pa.types.is_date(ts.type):
        ts = pc.cast(ts, pa.timestamp("ms"))
    ts = to_local(ts, session_tz)
    direct = strftime_of(pattern)
    segments = ([Strftime(direct)] if direct is not None
                else parse_pattern(pattern).segments("arrow"))
    pieces = [_strftime(ts, seg.format) if isinstance(seg, Strftime) else _component(ts, seg)
              for seg in segments]
    if not pieces:
        return pc.if_else(pc.is_null(ts), pa.scalar(None, pa.string()), "")
    if len(pieces) == 1:
        return pieces[0]
    return pc.binary_join_element_wise(*pieces, "")


def _strftime(ts: Value, fmt: str) -> Value:
    """``strftime`` at whole seconds. It costs ~0.6 µs per value, while a batch usually holds
    few distinct values at the format's finest unit (one or two days for ``%Y-%m-%d``):
    arrays are floored to that unit, dictionary-encoded, and only the distinct values are
    formatted (then ``take``n back), which gives the same strings."""
    unit = finest_unit(fmt)
    if not isinstance(ts, pa.Scalar) and len(ts) >= 64:
        floored = pc.floor_temporal(ts, unit=unit)
        encoded = pc.dictionary_encode(floored)
        if isinstance(encoded, pa.ChunkedArray):
            encoded = encoded.combine_chunks()
        if len(encoded.dictionary) * 4 <= len(ts):
            uniques = pc.cast(encoded.dictionary, pa.timestamp("s"), safe=False)
            return pc.take(pc.strftime(uniques, format=fmt), encoded.indices)
    seconds = pc.floor_temporal(ts, unit="second")
    return pc.strftime(pc.cast(seconds, pa.timestamp("s"), safe=False), format=fmt)


_EXTRACT = {"month": pc.month, "day": pc.day, "day_of_year": pc.day_of_year, "hour": pc.hour,
            "minute": pc.minute, "second": pc.second}


def _component(ts: Value, comp: Component) -> Value:
    """A field Arrow's ``strftime`` does not print: an unpadded number, or the first
    ``digits`` digits of the second's fraction."""
    if comp.kind == "fraction":
        nanos = pc.add(pc.add(pc.multiply(pc.cast(pc.millisecond(ts), pa.int64()), 1_000_000),
                              pc.multiply(pc.cast(pc.microsecond(ts), pa.int64()), 1_000)),
                       pc.cast(pc.nanosecond(ts), pa.int64()))
        padded = pc.utf8_lpad(pc.cast(nanos, pa.string()), width=9, padding="0")
        return pc.utf8_slice_codeunits(padded, 0, comp.digits)
    if comp.kind == "hour12":
        hour = pc.cast(pc.hour(ts), pa.int64())  # 0 → 12, 13..23 → 1..11
        value = pc.if_else(pc.equal(hour, 0), 12,
                           pc.if_else(pc.greater(hour, 12), pc.subtract(hour, 12), hour))
    else:
        value = _EXTRACT[comp.kind](ts)
    return pc.cast(value, pa.string())


# strftime conversions (after '%') by the finest time unit they show; any other one
# (unknown, or %c %T %r %X %s …) is treated as showing seconds.
_DAY_CODES = frozenset("YyCGgmbBhdejaAuwUVWDFxzZnt%")
_CODE_UNITS = {"H": "hour", "I": "hour", "k": "hour", "l": "hour", "p": "hour",
               "M": "minute", "R": "minute"}
_UNIT_ORDER = ("day", "hour", "minute", "second")


def finest_unit(fmt: str) -> str:
    """The finest unit (day, hour, minute or second) a strftime format shows."""
    finest = 0
    for code in re.findall(r"%[-_0^#]?(.)", fmt):
        if code in _DAY_CODES:
            continue
        finest = max(finest, _UNIT_ORDER.index(_CODE_UNITS.get(code, "second")))
    return _UNIT_ORDER[finest]


_ISO = r"^\s*\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{1,2}(:\d{1,2}(\.\d{1,9})?)?)?\s*$"
_ISO_DATE = r"^\s*\d{4}-\d{1,2}-\d{1,2}\s*$"


def parse_timestamps(strings: Value, pattern: str | None, tz: str | None = None) -> Value:
    """Strings → ``timestamp[ms]`` (``tz`` given: interpreted in that zone, returning an
    instant ``timestamp[ms, tz=UTC]``). ``pattern`` None means Flink's lenient default
    ``yyyy-MM-dd[ HH:mm[:ss[.SSS…]]]``. Unparsable values become NULL."""
    if pattern is None:
        result = _parse_iso(strings)
    else:
        fmt = strftime_of(pattern)
        if fmt is None:
            read = parse_pattern(pattern)
            if read.fraction_digits:
                raise NotSupportedError(
                    f"parsing fractional seconds with pattern '{pattern}' in streaming mode",
                    hint="parse without the fraction (e.g. 'yyyy-MM-dd HH:mm:ss'), or use "
                         "CAST(s AS TIMESTAMP(3)) for 'yyyy-MM-dd HH:mm:ss.SSS' text")
            fmt = read.strptime()
        result = pc.strptime(strings, format=fmt, unit="ms", error_is_null=True)
    if tz is not None:
        if tz.upper() not in ("UTC", "Z", "GMT"):
            result = pc.assume_timezone(result, timezone=tz, ambiguous="earliest",
                                        nonexistent="earliest")
        result = pc.cast(result, pa.timestamp("ms", tz="UTC"))
    return result


def _parse_iso(strings: Value) -> Value:
    if isinstance(strings, pa.Scalar):
        arr = _parse_iso(pa.array([strings.as_py()], pa.string()))
        return arr[0]
    ok = pc.match_substring_regex(strings, _ISO)
    cleaned = pc.if_else(ok, pc.replace_substring(pc.utf8_trim_whitespace(strings), "T", " "),
                         pa.scalar(None, pa.string()))
    return cast_or_bisect(cleaned, _iso_cast, pa.timestamp("ms"))


def _iso_cast(arr: pa.Array) -> pa.Array:
    nanos = pc.cast(arr, pa.timestamp("ns"))
    return pc.cast(pc.floor_temporal(nanos, unit="millisecond"), pa.timestamp("ms"), safe=False)


def epoch_to_timestamp(values: Value, precision: int) -> Value:
    """TO_TIMESTAMP_LTZ(epoch, 0|3): epoch seconds or milliseconds → ``timestamp[ms, UTC]``."""
    if precision not in (0, 3):
        raise NotSupportedError(f"TO_TIMESTAMP_LTZ precision {precision} (only 0 and 3)")
    factor = 1000 if precision == 0 else 1
    if pa.types.is_floating(values.type) or pa.types.is_decimal(values.type):
        millis = pc.cast(pc.floor(pc.multiply(pc.cast(values, pa.float64()), float(factor))),
                         pa.int64(), safe=False)
    else:
        millis = pc.cast(values, pa.int64())
        if factor != 1:  # a typed scalar: a bare int re-runs a failing optional import per call
            millis = pc.multiply(millis, pa.scalar(factor, pa.int64()))
    return pc.cast(millis, pa.timestamp("ms", tz="UTC"))


def timestamp_to_epoch_seconds(ts: Value) -> Value:
    """Instant or (UTC) wall-clock timestamp → BIGINT epoch seconds (floor)."""
    unit = ts.type.unit
    raw = pc.cast(pc.cast(ts, pa.timestamp(unit)), pa.int64())
    per_second = {"s": 1, "ms": 1000, "us": 1_000_000, "ns": 1_000_000_000}[unit]
    return pc.floor(pc.divide(pc.cast(raw, pa.float64()), float(per_second))).cast(pa.int64())


def now_instant() -> pa.Scalar:
    """The current instant as a ``timestamp[ms, UTC]`` scalar (CURRENT_TIMESTAMP / NOW())."""
    return pa.scalar(int(time.time() * 1000), pa.timestamp("ms", tz="UTC"))


# EXTRACT / HOUR(...) units → pyarrow.compute component functions
EXTRACT_UNITS: dict[str, str] = {
    "YEAR": "year", "QUARTER": "quarter", "MONTH": "month", "WEEK": "iso_week",
    "DAY": "day", "DAYOFMONTH": "day", "DOY": "day_of_year", "DAYOFYEAR": "day_of_year",
    "DOW": "day_of_week", "DAYOFWEEK": "day_of_week", "ISODOW": "day_of_week",
    "HOUR": "hour", "MINUTE": "minute", "SECOND": "second",
    "MILLISECOND": "millisecond", "MICROSECOND": "microsecond", "EPOCH": "epoch",
    "DECADE": "decade", "CENTURY": "century", "MILLENNIUM": "millennium", "ISOYEAR": "iso_year",
}


def extract(unit: str, ts: Value, session_tz: str) -> Value:
    """EXTRACT(unit FROM ts) → BIGINT, with Flink/Calcite conventions: DOW is Sunday=1 …
    Saturday=7, ISODOW Monday=1, MILLISECOND includes the seconds (``ss * 1000 + ms``)."""
    unit = unit.upper()
    if unit not in EXTRACT_UNITS:
        raise NotSupportedError(f"EXTRACT unit {unit}")
    if unit == "EPOCH":
        return timestamp_to_epoch_seconds(ts if not pa.types.is_date(ts.type)
                                          else pc.cast(ts, pa.timestamp("ms")))
    local = to_local(ts, session_tz)
    if unit in ("DOW", "DAYOFWEEK"):
        out = pc.day_of_week(local, count_from_zero=False, week_start=7)
    elif unit == "ISODOW":
        out = pc.day_of_week(local, count_from_zero=False, week_start=1)
    elif unit == "MILLISECOND":
        out = pc.add(pc.multiply(pc.second(local), 1000), pc.millisecond(local))
    elif unit == "MICROSECOND":
        out = pc.add(pc.multiply(pc.second(local), 1_000_000),
                     pc.add(pc.multiply(pc.millisecond(local), 1000), pc.microsecond(local)))
    elif unit == "DECADE":
        out = pc.divide(pc.year(local), 10)
    elif unit == "CENTURY":
        out = pc.divide(pc.add(pc.year(local), 99), 100)
    elif unit == "MILLENNIUM":
        out = pc.divide(pc.add(pc.year(local), 999), 1000)
    else:
        out = getattr(pc, EXTRACT_UNITS[unit])(local)
    return pc.cast(out, pa.int64())


# CEIL/FLOOR(ts TO unit) units → Arrow temporal rounding units
ROUND_UNITS = {"YEAR": "year", "QUARTER": "quarter", "MONTH": "month", "WEEK": "week",
               "DAY": "day", "HOUR": "hour", "MINUTE": "minute", "SECOND": "second",
               "MILLISECOND": "millisecond"}
