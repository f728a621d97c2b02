"""Flink SQL/JSON paths and JSON text, read once for both engines.

Contract (used by the streaming kernels in :mod:`flowsql.expr.json` and the DuckDB rewrite in
:mod:`flowsql.batch.functions`):

- :func:`parse_path` reads the path forms FlowSQL supports today: an optional ``lax`` (the
  default) or ``strict`` mode, then ``$`` followed by member steps ``.a``, ``['a b']``,
  ``["a.b"]``, ``.["a.b"]`` and array steps ``[0]``, ``[-1]`` (from the end). Wildcards
  (``[*]``, ``.*``), filters and ``..`` raise ``NotSupportedError``; anything else is a
  ``ValidationError`` naming the path.
- :meth:`JsonPath.duckdb` renders the path for DuckDB's ``json_extract``/``json_type``
  (``$."a b"[0]``); a key holding a double quote raises ``NotSupportedError``.
- :meth:`JsonPath.find` walks a parsed JSON document: the value, or :data:`MISSING`.
- :func:`loads` parses JSON text as Flink's Jackson does (``NaN``/``Infinity`` are invalid;
  raises ``ValueError``); :func:`dumps` writes compact JSON as Jackson does: no spaces,
  non-ASCII characters unescaped, doubles in Java's ``Double.toString`` form (``100.0``,
  ``1.0E20``, ``1.5E-7``); :func:`behavior_error` is the message of ``ERROR ON EMPTY|ERROR``.

Known difference between the engines: DuckDB prints doubles outside [1e-3, 1e7) in its own
form (``100000000000000000000.0``, ``1.5e-7``), accepts trailing commas and ``NaN`` as valid
JSON, and keeps the first of duplicate keys (Flink and the streaming engine keep the last).
``JSON_VALUE ... RETURNING INT`` (any integer type) of non-integral text ('3.7', '1e3') follows
each engine's CAST(STRING AS INT): the streaming engine truncates (3) or gives NULL, DuckDB
rounds (4, 1000).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flowsql.errors import NotSupportedError, ValidationError

MISSING: Any = object()

_MEMBER = re.compile(r"\.([A-Za-z_$][\w$]*)")
_QUOTED = re.compile(r"\.?\[\s*(?:'((?:[^']|'')*)'|\"([^\"]*)\")\s*\]")
_INDEX = re.compile(r"\[\s*(-?\d+)\s*\]")


@dataclass(frozen=True)
class JsonPath:
    text: str
    strict: bool
    steps: tuple[str | int, ...]  # str: object member, int: array index

    def duckdb(self) -> str:
        out = "$"
        for step in self.steps:
            if isinstance(step, int):
                out += f"[{step}]" if step >= 0 else f"[#{step}]"
            elif '"' in step:
                raise NotSupportedError(f"a JSON path key with a double quote ({self.text})")
            else:
                out += f'."{step}"'
        return out

    def find(self, doc: Any) -> Any:
        node = doc
        for step in self.steps:
            if isinstance(step, int) and isinstance(node, list):
                if not -len(node) <= step < len(node):
                    return MISSING
                node = node[step]
            elif isinstance(step, str) and isinstance(node, dict):
                if step not in node:
                    return MISSING
                node = node[step]
            else:
                return MISSING
        return node


def parse_path(text: str) -> JsonPath:
    """A Flink JSON path (see the module contract)."""
    body = text.strip()
    strict = False
    mode = re.match(r"(?i)(lax|strict)\s+", body)
    if mode:
        strict = mode.group(1).lower() == "strict"
        body = body[mode.end():]
    if not body.startswith("$"):
        raise ValidationError(f"invalid JSON path '{text}': a path starts with '$'")
    pos, steps = 1, []
    while pos < len(body):
        if body.startswith("..", pos) or body.startswith(".*", pos) or body.startswith("[*", pos) \
                or body.startswith("[?", pos):
            raise NotSupportedError(f"JSON path wildcards and filters ({text})")
        for pattern in (_MEMBER, _QUOTED, _INDEX):
            m = pattern.match(body, pos)
            if m:
                break
        else:
            raise ValidationError(f"invalid JSON path '{text}' at character {pos + 1}")
        if pattern is _INDEX:
            steps.append(int(m.group(1)))
        elif pattern is _QUOTED:
            steps.append(m.group(1).replace("''", "'") if m.group(1) is not None else m.group(2))
        else:
            steps.append(m.group(1))
        pos = m.end()
    return JsonPath(text, strict, tuple(steps))


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def loads(text: str) -> Any:
    """Parse JSON text (``ValueError`` when it is not valid JSON)."""
    return json.loads(text, parse_constant=_no_constant)


def java_double(x: float) -> str:
    """Java's ``Double.toString(x)``: plain between 1e-3 and 1e7, else ``d.dddE±n``."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0 or 1e-3 <= abs(x) < 1e7:
        text = repr(x)
        return text if "." in text else text + ".0"
    exact = Decimal(repr(abs(x))).normalize().as_tuple()
    digits = "".join(map(str, exact.digits))
    exponent = len(digits) - 1 + int(exact.exponent)
    sign = "-" if x < 0 else ""
    return f"{sign}{digits[0]}.{digits[1:] or '0'}E{exponent}"


def dumps(value: Any) -> str:
    """Compact JSON text of a parsed value, as Flink writes it (see the module contract)."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{dumps(k)}:{dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    if isinstance(value, float):
        return java_double(value)
    return json.dumps(value, ensure_ascii=False)


def behavior_error(fname: str, path: str, on: str) -> str:
    """The message of ``ERROR ON EMPTY`` / ``ERROR ON ERROR`` (the same in both engines)."""
    reason = "no SQL/JSON item" if on == "EMPTY" else "not valid JSON, or the path fails"
    return f"{fname}: {reason} at path '{path}' (ERROR ON {on})"


def scalar_text(value: Any) -> str:
    """The text JSON_VALUE returns for a scalar: strings unquoted, others as JSON."""
    return value if isinstance(value, str) else dumps(value)
