"""Hive-style partition directories of a PARTITIONED BY filesystem table (Flink's layout).

Contract:
- A row with partition values ``v1, v2`` of keys ``k1, k2`` lives under
  ``<path>/k1=v1/k2=v2/``; the part files hold the other physical columns only (as Flink).
- A value is its SQL text (``CAST(v AS STRING)``); NULL, empty or whitespace-only text is
  ``partition.default-name`` (default ``__DEFAULT_PARTITION__``). Names and values are escaped
  as Flink's ``PartitionPathUtils.escapePathName`` does: control characters and
  ``"#%'*/:=?\\{[]^`` plus DEL become ``%XX`` (upper-case hex); :func:`unescape` reverses it.
- :func:`split_by_partition` groups a table by its partition values (Arrow group-by; the
  per-partition work is one filter per distinct partition, never per row).
- :func:`partition_values` reads ``k=v`` segments of a file's directory relative to the
  table's root; :func:`with_partition_columns` rebuilds the physical columns of a file's rows
  from its data columns and those values (the default name reads back as NULL).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc

from catalog.table import Column, TableDefinition
from flowsql.errors import ConnectorError

DEFAULT_PARTITION_NAME = "__DEFAULT_PARTITION__"
_ESCAPED = {chr(c) for c in range(1, 0x20)} | set("\"#%'*/:=?\\\x7f{[]^")
_HEX = re.compile(r"%([0-9A-Fa-f]{2})")


def escape(text: str) -> str:
    """Flink's ``escapePathName``: unsafe characters become ``%XX``."""
    return "".join(f"%{ord(ch):02X}" if ch in _ESCAPED else ch for ch in text)


def unescape(text: str) -> str:
    return _HEX.sub(lambda m: chr(int(m.group(1), 16)), text)


def data_columns(table: TableDefinition) -> list[Column]:
    """The physical columns stored inside the part files (all but the partition keys)."""
    keys = set(table.partition_keys)
    return [c for c in table.physical_columns if c.name not in keys]


def partition_dir(keys: Sequence[str], values: Sequence[str | None], default_name: str) -> str:
    """``k1=v1/k2=v2`` (escaped; NULL or blank values are ``default_name``)."""
    parts = []
    for k, v in zip(keys, values, strict=True):
        text = default_name if v is None or not v.strip() else escape(v)
        parts.append(f"{escape(k)}={text}")
    return "/".join(parts)


def split_by_partition(
    data: pa.Table, table: TableDefinition, default_name: str
) -> list[tuple[str, pa.Table]]:
    """``(relative partition directory, data columns of its rows)`` per distinct partition of
    ``data`` (columns by position = the table's physical columns, maybe more after them).
    Values that share a directory (NULL and blank) share one entry."""
    physical = [c.name for c in table.physical_columns]
    keys = list(table.partition_keys)
    if not keys:
        return [("", data)]
    named = data.rename_columns(physical + data.column_names[len(physical):])
    text = {k: pc.cast(named.column(k), pa.string()) for k in keys}
    keyed = pa.table({f"k{i}": text[k] for i, k in enumerate(keys)})
    groups = keyed.group_by([f"k{i}" for i in range(len(keys))]).aggregate([]).to_pylist()
    keep = [i for i, n in enumerate(named.column_names) if n not in set(keys)]
    rest = named.select(keep)
    out: dict[str, list[pa.Table]] = {}
    for g in groups:
        values = [g[f"k{i}"] for i in range(len(keys))]
        mask = None
        for k, v in zip(keys, values, strict=True):
            m = pc.is_null(text[k]) if v is None else pc.equal(text[k], v)
            mask = m if mask is None else pc.and_(mask, m)
        out.setdefault(partition_dir(keys, values, default_name), []).append(rest.filter(mask))
    return [(d, parts[0] if len(parts) == 1 else pa.concat_tables(parts))
            for d, parts in out.items()]


def partition_values(root: str, file: str, keys: Sequence[str]) -> dict[str, str]:
    """The ``k=v`` segments of ``file``'s directory below ``root`` (unescaped), for ``keys``."""
    rel = os.path.relpath(os.path.dirname(file), root)
    found: dict[str, str] = {}
    for segment in rel.split(os.sep):
        name, sep, value = segment.partition("=")
        if sep and unescape(name) in keys:
            found[unescape(name)] = unescape(value)
    return found


def with_partition_columns(
    data: pa.Table, table: TableDefinition, schema: pa.Schema, values: dict[str, str],
    default_name: str, file: str,
) -> pa.Table:
    """The physical columns of ``data`` (its data columns) plus constant partition columns."""
    arrays = []
    for field in schema:
        if field.name not in table.partition_keys:
            arrays.append(data.column(field.name))
            continue
        text = values.get(field.name)
        if text is None or text == default_name:
            arrays.append(pa.nulls(data.num_rows, field.type))
            continue
        try:
            value = pc.cast(pa.array([text]), field.type)[0]
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise ConnectorError(
                f"partition value {field.name}='{text}' of file '{file}' is not a "
                f"{field.type}: {exc}"
            ) from exc
        arrays.append(pa.repeat(value, data.num_rows))
    return pa.Table.from_arrays(arrays, schema=schema)
