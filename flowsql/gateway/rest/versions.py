"""The REST API versions: which exist, which are advertised, which one unprefixed paths use.

Contract:
- Every known version (``v1`` to ``v4``) is served under its prefix (``/v1/...``), whatever
  is advertised: Flink's own clients ask ``/v1/api_versions`` first, then pick a version.
- ``GET /api_versions`` lists only the advertised versions, in Flink's spelling
  (``["V1", "V2", ...]``). Flink 1.18/1.19 clients fail on a version name they do not know,
  so the set is configurable (``--rest-versions v1,v2,v3``).
- Unprefixed paths serve the default version: the latest advertised one.
- ``configure-session`` and ``complete-statement`` exist from v2 on (as in Flink).
"""

from __future__ import annotations

from flowsql.errors import ValidationError

KNOWN: tuple[str, ...] = ("v1", "v2", "v3", "v4")


def parse_versions(text: str | None) -> tuple[str, ...]:
    """``"v1,v2"`` (any case, blanks ignored) → ``("v1", "v2")``, in version order."""
    if not text:
        return KNOWN
    wanted = {w.strip().lower() for w in text.split(",") if w.strip()}
    unknown = sorted(wanted - set(KNOWN))
    if unknown or not wanted:
        raise ValidationError(f"unknown REST API version(s): {', '.join(unknown) or '(none)'}",
                              hint="choose among " + ", ".join(KNOWN))
    return tuple(v for v in KNOWN if v in wanted)


def number(version: str) -> int:
    return int(version[1:])


def default_version(advertised: tuple[str, ...]) -> str:
    return advertised[-1]
