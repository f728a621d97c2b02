"""Validation of connector options against a factory's declared :class:`OptionSpec` list.

Contract of :func:`validate_options`:
1. every key of ``table.options`` except ``connector`` must match a spec, either exactly or a
   spec key holding one ``<name>`` placeholder (``fields.<field>.kind`` matches
   ``fields.id.kind``). A ``<field>`` placeholder must name a physical column of the table;
2. an unknown key raises ``ConnectorError("Unsupported option 'xyz' for connector 'c'")`` whose
   hint lists the valid options, closest matches (difflib) first;
3. a missing required option raises ``ConnectorError("Missing required option 'path' ...")``;
4. each value is converted by its spec type: ``int``, ``float``, ``bool`` (true/false),
   ``duration`` (``'10 s'``, ``'500 ms'``, ``'1 min'``, a bare number is milliseconds; the
   result is milliseconds), ``enum`` (one of ``choices``, case-insensitive, returned as the
   declared spelling), ``char`` (one character; ``\\t``-style escapes allowed) or ``string``;
   an ill-typed value raises ``ConnectorError`` naming the option, the value and what is expected.
5. The result maps every given key to its typed value, plus every non-placeholder spec not
   given: to its typed default, or ``None`` when it has no default.
6. :data:`COMMON_OPTIONS` (engine-level table options such as ``scan.watermark.idle-timeout``
   and ``late-data.sink``) are accepted for every connector; they appear in the result only
   when given.

Hand-written because option grammars are Flink's (duration units, placeholders), which no
library here parses.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from typing import Any

from catalog.table import TableDefinition
from connectors.base import OptionSpec
from flowsql.errors import ConnectorError

FIELD_PLACEHOLDER = "<field>"
_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_-]+)>")

_DURATION_UNITS_MS: dict[str, float] = {
    "ns": 1e-6, "nano": 1e-6, "nanos": 1e-6, "nanosecond": 1e-6, "nanoseconds": 1e-6,
    "us": 1e-3, "µs": 1e-3, "micro": 1e-3, "micros": 1e-3, "microsecond": 1e-3,
    "microseconds": 1e-3,
    "ms": 1, "milli": 1, "millis": 1, "millisecond": 1, "milliseconds": 1,
    "s": 1000, "sec": 1000, "secs": 1000, "second": 1000, "seconds": 1000,
    "m": 60_000, "min": 60_000, "mins": 60_000, "minute": 60_000, "minutes": 60_000,
    "h": 3_600_000, "hour": 3_600_000, "hours": 3_600_000,
    "d": 86_400_000, "day": 86_400_000, "days": 86_400_000,
}
_DURATION = re.compile(r"^\s*(\d+)\s*([A-Za-zµ]*)\s*$")
_CHAR_ESCAPES = {"\\t": "\t", "\\n": "\n", "\\r": "\r", "\\0": "\0", "\\\\": "\\", "\\'": "'"}


COMMON_OPTIONS: list[OptionSpec] = [
    OptionSpec("scan.watermark.idle-timeout", "duration",
               description="Streaming: a source split without data for this long is idle."),
    OptionSpec("late-data.sink", "string",
               description="Streaming: table that receives rows window operators drop as late."),
]


def parse_duration_ms(text: str) -> int | None:
    """Flink duration text → milliseconds (``'10 s'`` → 10000); ``None`` when malformed."""
    m = _DURATION.match(text)
    if not m:
        return None
    unit = m.group(2).lower() or "ms"
    if unit not in _DURATION_UNITS_MS:
        return None
    return int(int(m.group(1)) * _DURATION_UNITS_MS[unit])


def _spec_pattern(spec: OptionSpec) -> tuple[re.Pattern[str], str] | None:
    m = _PLACEHOLDER.search(spec.key)
    if not m:
        return None
    prefix, suffix = spec.key[: m.start()], spec.key[m.end() :]
    return re.compile(f"^{re.escape(prefix)}(.+){re.escape(suffix)}$"), m.group(0)


def _suggestions(word: str, candidates: Sequence[str]) -> list[str]:
    """``candidates`` ordered with the closest matches to ``word`` first, the rest sorted."""
    close = difflib.get_close_matches(word, candidates, n=3, cutoff=0.5)
    return close + sorted(c for c in candidates if c not in close)


def _convert(identifier: str, spec: OptionSpec, key: str, value: str) -> Any:
    def bad(expected: str) -> ConnectorError:
        return ConnectorError(
            f"Invalid value '{value}' for option '{key}' of connector '{identifier}': "
            f"expected {expected}"
        )

    text = value.strip()
    if spec.type == "int":
        try:
            return int(text)
        except ValueError:
            raise bad("an integer") from None
    if spec.type == "float":
        try:
            return float(text)
        except ValueError:
            raise bad("a number") from None
    if spec.type == "bool":
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        raise bad("'true' or 'false'")
    if spec.type == "duration":
        ms = parse_duration_ms(text)
        if ms is None:
            raise bad("a duration such as '500 ms', '10 s', '1 min' or '2 h'")
        return ms
    if spec.type == "enum":
        for choice in spec.choices:
            if choice.lower() == text.lower():
                return choice
        raise bad("one of " + ", ".join(f"'{c}'" for c in spec.choices))
    if spec.type == "char":
        ch = _CHAR_ESCAPES.get(value, value)
        if len(ch) != 1:
            raise bad("a single character (escapes such as '\\t' are allowed)")
        return ch
    return value


def validate_options(
    identifier: str,
    specs: Sequence[OptionSpec],
    options: Mapping[str, str],
    table: TableDefinition | None = None,
) -> dict[str, Any]:
    """Check ``options`` against ``specs``; return typed values (see the module docstring)."""
    exact = {s.key: s for s in specs}
    common = {s.key: s for s in COMMON_OPTIONS if s.key not in exact}
    exact.update(common)
    patterns = [(s, p) for s in specs if (p := _spec_pattern(s)) is not None]
    valid_keys = [s.key for s in specs]
    physical = [c.name for c in table.physical_columns] if table is not None else None
    result: dict[str, Any] = {}

    # 1. every given key matches a spec (exactly, or through its placeholder)
    for key, value in options.items():
        if key == "connector":
            continue
        spec = exact.get(key)
        if spec is None:
            for candidate, (regex, placeholder) in patterns:
                m = regex.match(key)
                if m is None:
                    continue
                name = m.group(1)
                if placeholder == FIELD_PLACEHOLDER and physical is not None and name not in physical:
                    raise ConnectorError(
                        f"Unsupported option '{key}' for connector '{identifier}': "
                        f"'{name}' is not a physical column of the table",
                        hint="Physical columns: " + ", ".join(_suggestions(name, physical)),
                    )
                spec = candidate
                break
        if spec is None:
            # 2. unknown key: list the valid ones, closest first
            raise ConnectorError(
                f"Unsupported option '{key}' for connector '{identifier}'",
                hint="Supported options: " + ", ".join(_suggestions(key, valid_keys)),
            )
        # 4. typed conversion
        result[key] = _convert(identifier, spec, key, value)

    # 3. required options, then defaults
    for spec in specs:
        if spec.key in common or spec.key in result or _spec_pattern(spec) is not None:
            continue
        if spec.required:
            required = [s.key for s in specs if s.required]
            raise ConnectorError(
                f"Missing required option '{spec.key}' for connector '{identifier}'",
                hint="Required options: " + ", ".join(required)
                + ". Supported options: " + ", ".join(sorted(valid_keys)),
            )
        result[spec.key] = (
            _convert(identifier, spec, spec.key, spec.default) if spec.default is not None else None
        )
    return result


def field_options(options: Mapping[str, Any], prefix: str, name: str) -> dict[str, Any]:
    """Options ``<prefix><name>.<suffix>`` as ``{suffix: value}`` (e.g. datagen's per-field)."""
    head = f"{prefix}{name}."
    return {k[len(head) :]: v for k, v in options.items() if k.startswith(head)}
