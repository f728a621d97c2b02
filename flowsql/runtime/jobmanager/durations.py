"""Duration settings of the runtime (``'300 s'``, ``'5 min'``, ``'10000'`` = ms) in seconds."""

from __future__ import annotations

from connectors.options import parse_duration_ms
from flowsql.errors import ValidationError


def seconds(text: str | None, default: float) -> float:
    """``text`` as seconds, ``default`` when unset; a malformed value is a ValidationError."""
    if text is None or str(text).strip() == "":
        return default
    ms = parse_duration_ms(str(text))
    if ms is None:
        raise ValidationError(f"'{text}' is not a duration (examples: '500 ms', '10 s', '5 min')")
    return ms / 1000.0
