"""Checkpoint storage: task state as Arrow IPC files, metadata written last and atomically.

Contract:
- A :class:`CheckpointStorage` lives at a directory: a local path or any URI
  ``pyarrow.fs.FileSystem.from_uri`` accepts (``file://``, ``s3://``, ...), options in its
  query string included (``s3://bucket/chk?endpoint_override=host:port&scheme=http&region=
  us-east-1`` for an S3-compatible store): paths below it are joined before the query
  (:func:`join`), so every checkpoint and savepoint path stays a URI ``from_uri`` reads. A
  job's checkpoints live under ``<dir>/<job id>/chk-<n>/``.
- :meth:`write_state` writes one operator subtask's state (named Arrow tables) as
  ``chk-<n>/<operator uid>/<subtask>/<name>.arrow`` (Arrow IPC files) and returns the bytes
  written. :meth:`read_state` reads them back (an empty dict when that operator subtask wrote
  nothing).
- :meth:`complete` writes ``chk-<n>/_metadata`` (JSON) last and atomically, so a checkpoint
  is complete exactly when its ``_metadata`` exists: on a local or HDFS filesystem to a
  temporary name, then renamed into place; on an object store (S3, GCS), where a rename is a
  copy and a delete and not atomic, in one upload of the whole object, which (a single PUT,
  or a multipart upload that becomes visible only when completed) appears entirely or not at
  all.
  :meth:`latest` finds the complete checkpoint with the highest id; directories without
  metadata (a crash while writing) are ignored, and removed by :meth:`discard`.
- Savepoints are written the same way at a directory of their own (:func:`write_state_at`,
  :func:`complete_at`): ``<target>/<uid>/<subtask>/<name>.arrow`` and ``<target>/_metadata``.
- :func:`open_checkpoint` opens a checkpoint or savepoint by its path (``.../chk-<n>``, or its
  ``_metadata`` file), as ``execution.savepoint.path`` names it.
- S3: credentials come from the AWS SDK's usual sources (AWS_ACCESS_KEY_ID /
  AWS_SECRET_ACCESS_KEY in the environment of every process that writes or reads state, or a
  profile), or from the URI (``s3://KEY:SECRET@bucket/...``, which then shows in paths and
  logs). pyarrow finalizes its S3 client at interpreter exit with an atexit hook registered
  when ``pyarrow.fs`` is imported, so it runs after FlowSQL's own exit hooks (the embedded
  cluster's shutdown); tests/runtime/checkpoints/test_s3_storage.py checks that shells and
  cluster processes that used S3 exit 0.
- Failpoint for tests (:mod:`flowsql.failpoints`): ``FLOWSQL_FAILPOINT`` =
  ``checkpoint-write:<n>`` ends the process when it writes state of checkpoint ``n``, as a
  crash in the middle of a snapshot would.
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.ipc as ipc

from flowsql import failpoints
from flowsql.errors import ExecutionError

METADATA = "_metadata"
_CHK = re.compile(r"^chk-(\d+)$")


# filesystems whose rename is atomic (pyarrow type names); elsewhere _metadata is one upload
_ATOMIC_RENAME = frozenset({"local", "hdfs"})


def _filesystem(uri: str) -> tuple[pafs.FileSystem, str]:
    if "://" in uri:
        return pafs.FileSystem.from_uri(uri)
    return pafs.LocalFileSystem(), os.path.abspath(uri)


def join(location: str, *parts: str) -> str:
    """``location`` (a local path, or a URI that may end in a ``?query`` of filesystem
    options) with ``parts`` appended to its path; the query stays at the end."""
    if "://" not in location:
        return posixpath.join(location, *parts)
    head, sep, query = location.partition("?")
    return "/".join([head.rstrip("/"), *parts]) + sep + query


def _without_metadata(path: str) -> str:
    """A checkpoint path named by its ``_metadata`` file → the checkpoint's directory."""
    head, sep, query = path.partition("?") if "://" in path else (path, "", "")
    head = head.rstrip("/")
    if head.endswith("/" + METADATA):
        head = head[: -len(METADATA) - 1]
    return head + sep + query


def _write_metadata(fs: pafs.FileSystem, folder: str, metadata: dict[str, Any]) -> None:
    """``folder/_metadata``, atomically (see the module contract)."""
    data = orjson.dumps(metadata, option=orjson.OPT_INDENT_2)
    final = posixpath.join(folder, METADATA)
    if fs.type_name not in _ATOMIC_RENAME:  # object store: one upload, all or nothing
        with fs.open_output_stream(final) as out:
            out.write(data)
        return
    fs.create_dir(folder, recursive=True)
    tmp = final + ".inprogress"
    with fs.open_output_stream(tmp) as out:
        out.write(data)
    fs.move(tmp, final)


@dataclass(frozen=True)
class CompletedCheckpoint:
    checkpoint_id: int
    path: str  # the chk-<n> directory: a local absolute path or a URI
    metadata: dict[str, Any]


class CheckpointStorage:
    def __init__(self, directory: str, job_id: str) -> None:
        self.directory = directory
        self.fs, base = _filesystem(directory)
        self.root = posixpath.join(base, job_id)
        # how other processes name it: the URI as given, or the absolute local path
        self.root_uri = join(directory, job_id) if "://" in directory else self.root

    def uri(self, checkpoint_id: int) -> str:
        return join(self.root_uri, f"chk-{checkpoint_id}")

    def checkpoint_dir(self, checkpoint_id: int) -> str:
        return posixpath.join(self.root, f"chk-{checkpoint_id}")

    # -- task side -----------------------------------------------------------------------
    def write_state(self, checkpoint_id: int, uid: str, subtask: int,
                    tables: dict[str, pa.Table]) -> int:
        failpoints.hit("checkpoint-write", checkpoint_id)
        return _write_tables(self.fs, posixpath.join(self.checkpoint_dir(checkpoint_id), uid,
                                                     str(subtask)), tables)

    # -- JobManager side -----------------------------------------------------------------
    def complete(self, checkpoint_id: int, metadata: dict[str, Any]) -> CompletedCheckpoint:
        _write_metadata(self.fs, self.checkpoint_dir(checkpoint_id), metadata)
        return CompletedCheckpoint(checkpoint_id, self.uri(checkpoint_id), metadata)

    def completed(self) -> list[CompletedCheckpoint]:
        """Every complete checkpoint of the job, oldest first."""
        out = []
        for n in self._ids():
            folder = self.checkpoint_dir(n)
            meta = _read_metadata(self.fs, folder)
            if meta is not None:
                out.append(CompletedCheckpoint(n, self.uri(n), meta))
        return out

    def latest(self) -> CompletedCheckpoint | None:
        done = self.completed()
        return done[-1] if done else None

    def discard(self, checkpoint_id: int) -> None:
        try:
            self.fs.delete_dir(self.checkpoint_dir(checkpoint_id))
        except (FileNotFoundError, OSError):
            pass

    def _ids(self) -> list[int]:
        try:
            infos = self.fs.get_file_info(pafs.FileSelector(self.root, allow_not_found=True))
        except OSError:
            return []
        ids = [int(m.group(1)) for i in infos if (m := _CHK.match(i.base_name))]
        return sorted(ids)


def _write_tables(fs: pafs.FileSystem, folder: str, tables: dict[str, pa.Table]) -> int:
    fs.create_dir(folder, recursive=True)
    size = 0
    for name, table in tables.items():
        with fs.open_output_stream(posixpath.join(folder, f"{name}.arrow")) as sink:
            with ipc.new_file(sink, table.schema) as writer:
                writer.write_table(table)
            size += sink.tell()
    return size


def write_state_at(target: str, uid: str, subtask: int, tables: dict[str, pa.Table]) -> int:
    """A savepoint's state: ``<target>/<uid>/<subtask>/<name>.arrow``."""
    fs, folder = _filesystem(target)
    return _write_tables(fs, posixpath.join(folder, uid, str(subtask)), tables)


def complete_at(target: str, metadata: dict[str, Any]) -> CompletedCheckpoint:
    """Write a savepoint's ``_metadata`` last, atomically (see the module contract)."""
    fs, folder = _filesystem(target)
    _write_metadata(fs, folder, metadata)
    return CompletedCheckpoint(int(metadata.get("checkpoint_id", 0)),
                               target if "://" in target else folder, metadata)


def discard_at(target: str) -> None:
    fs, folder = _filesystem(target)
    try:
        fs.delete_dir(folder)
    except (FileNotFoundError, OSError):
        pass


def _read_metadata(fs: pafs.FileSystem, folder: str) -> dict[str, Any] | None:
    try:
        with fs.open_input_stream(posixpath.join(folder, METADATA)) as f:
            return orjson.loads(f.read())
    except (FileNotFoundError, OSError, orjson.JSONDecodeError):
        return None


def read_state(checkpoint_path: str, uid: str, subtask: int) -> dict[str, pa.Table]:
    """One operator subtask's tables from the checkpoint at ``checkpoint_path``."""
    fs, folder = _filesystem(checkpoint_path)
    folder = posixpath.join(folder, uid, str(subtask))
    try:
        infos = fs.get_file_info(pafs.FileSelector(folder, allow_not_found=True))
    except OSError as e:
        raise ExecutionError(f"cannot read checkpoint state {folder}: {e}") from None
    tables = {}
    for info in infos:
        if info.base_name.endswith(".arrow"):
            with fs.open_input_file(info.path) as f:
                tables[info.base_name[: -len(".arrow")]] = ipc.open_file(f).read_all()
    return tables


def state_uids(path: str) -> list[str]:
    """The operator uids that hold state in the checkpoint or savepoint at ``path``."""
    fs, folder = _filesystem(_without_metadata(path))
    infos = fs.get_file_info(pafs.FileSelector(folder, allow_not_found=True))
    return sorted(i.base_name for i in infos if i.type == pafs.FileType.Directory)


def checkpoint_id_of(path: str) -> int:
    """The id in a ``.../chk-<n>`` path (0 for a savepoint's folder)."""
    head = path.partition("?")[0] if "://" in path else path
    m = _CHK.match(posixpath.basename(head.rstrip("/")))
    return int(m.group(1)) if m else 0


def open_checkpoint(path: str) -> CompletedCheckpoint:
    """A complete checkpoint by its directory (or its ``_metadata`` file)."""
    path = _without_metadata(path)
    fs, folder = _filesystem(path)
    meta = _read_metadata(fs, folder)
    if meta is None:
        raise ExecutionError(
            f"'{path}' is not a complete checkpoint or savepoint (no readable {METADATA})",
            hint="use a chk-<n> directory that holds a _metadata file")
    n = int(meta.get("checkpoint_id", checkpoint_id_of(folder)))
    return CompletedCheckpoint(n, path if "://" in path else folder, meta)
