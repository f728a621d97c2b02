"""How a filesystem table's 'path' resolves to the files it reads.

Contract of :func:`resolve_source`:
- ``file://`` URIs and ``~`` are accepted; relative paths are made absolute (current directory);
- a file is itself; a directory means every file under it, recursively; a path with glob
  characters (``*``, ``?``, ``[``; ``**`` crosses directories) means every match (matched
  directories expand as above);
- like Flink, names starting with ``.`` or ``_`` (``.crc``, ``_SUCCESS``) are skipped inside
  directories; files are sorted so reads are deterministic;
- a path (or the fixed part of a glob) that does not exist, or a glob with no match, raises
  ``ConnectorError`` naming it. An empty directory is an empty table.
Returns ``(files, allowed_paths)``; ``allowed_paths`` are what the table names (the file, the
directory, or the glob's matches), for the DuckDB sandbox.
"""

from __future__ import annotations

import glob
import os

from flowsql.errors import ConnectorError

_GLOB_CHARS = ("*", "?", "[")


def normalize(path: str) -> str:
    """Absolute local path for a 'path' option value (``file://`` prefix, ``~`` expanded)."""
    if path.startswith("file://"):
        path = path[len("file://") :]
    return os.path.abspath(os.path.expanduser(path))


def _hidden(name: str) -> bool:
    return name.startswith((".", "_"))


def _walk(directory: str) -> list[str]:
    files = []
    for root, dirs, names in os.walk(directory):
        dirs[:] = [d for d in dirs if not _hidden(d)]
        files.extend(os.path.join(root, n) for n in names if not _hidden(n))
    return sorted(files)


def resolve_source(path_option: str) -> tuple[list[str], list[str]]:
    """``(files, allowed_paths)`` for a source 'path' option (module docstring)."""
    path = normalize(path_option)
    if any(ch in path for ch in _GLOB_CHARS):
        fixed = path
        while any(ch in fixed for ch in _GLOB_CHARS):
            fixed = os.path.dirname(fixed)
        if not os.path.exists(fixed):
            raise ConnectorError(f"Path '{path_option}' does not exist ('{fixed}' is missing)")
        matches = sorted(glob.glob(path, recursive=True))
        if not matches:
            raise ConnectorError(f"No file matches path '{path_option}'")
        files: list[str] = []
        for m in matches:
            files.extend(_walk(m) if os.path.isdir(m) else [m])
        return sorted(dict.fromkeys(files)), matches
    if not os.path.exists(path):
        raise ConnectorError(f"Path '{path_option}' does not exist")
    if os.path.isdir(path):
        return _walk(path), [path]
    return [path], [path]


def sink_directory(path_option: str) -> str:
    """The directory a sink writes into (created if missing); ConnectorError if it is a file."""
    path = normalize(path_option)
    if os.path.exists(path) and not os.path.isdir(path):
        raise ConnectorError(
            f"Sink path '{path_option}' is a file; the filesystem sink writes part files "
            "into a directory"
        )
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise ConnectorError(f"cannot create directory '{path_option}': {exc.strerror}") from exc
    return path
