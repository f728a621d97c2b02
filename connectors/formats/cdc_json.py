"""Flink's changelog JSON formats ``debezium-json``, ``canal-json`` and ``maxwell-json``: one
change event per record → changelog rows (+I/-U/+U/-D), decoded batch-wise.

Semantics (Flink's deserialization schemas):
- ``debezium-json``: ``{"before": {...}, "after": {...}, "op": "c"|"r"|"u"|"d", ...}``, inside
  ``"payload"`` when ``debezium-json.schema-include`` is true (Kafka Connect's JsonConverter
  with schemas). ``c``/``r`` → +I after; ``u`` → -U before, +U after (a NULL ``before`` is an
  error: the source table must log full rows, e.g. Postgres ``REPLICA IDENTITY FULL``);
  ``d`` → -D before. Any other ``op`` is an error.
- ``canal-json``: ``{"data": [{...}, ...], "old": [{...}, ...], "type": "INSERT"|"UPDATE"|"DELETE",
  "isDdl": bool, "database": ..., "table": ...}``: every element of ``data`` is a row; for
  UPDATE the row before is that element with the fields of ``old`` (same index) laid over it.
  DDL records (``isDdl`` true) and records whose database / table do not fully match
  ``canal-json.database.include`` / ``canal-json.table.include`` (regular expressions) are
  skipped; another ``type`` is an error.
- ``maxwell-json``: ``{"data": {...}, "old": {...}, "type": "insert"|"update"|"delete", ...}``;
  for update the row before is ``data`` with ``old`` laid over it. Another ``type`` is an error.
- The rows themselves are decoded as the ``json`` format decodes a record
  (:func:`connectors.formats.json_format.decode_json_lines`: fields by name, the same casts;
  ``<format>.timestamp-format.standard`` decides nothing on read, both forms are accepted).
- A record that is not a JSON object, lacks what its operation needs, or holds a value that
  does not convert is *bad*: :class:`ChangelogRows` flags it (per record) and describes the
  first one; callers fail on it (naming the record's place) unless
  ``<format>.ignore-parse-errors`` is set, and then drop all rows of bad records.

How (vectorized): one DuckDB query reads every envelope (``json_valid``, ``->``/``->>``),
flags bad envelopes, and expands each record into its row JSON texts with their row kinds
(``UNION ALL`` of the before / after images; ``unnest(range(...))`` over canal's arrays;
``json_merge_patch`` for the before images built from ``old``); then the row texts are decoded
in one more query by the json format's decoder. Python builds only the first error's message.
:func:`read_changelog_file` reads a newline-delimited file of change events (the filesystem
connector), naming file and line on a bad record. Writing these formats is not supported yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from catalog.table import Column
from connectors.base import OptionSpec
from connectors.formats.duck import connect, literal
from connectors.formats.json_format import decode_json_lines, file_lines, text_lines
from flowsql.errors import ConnectorError, MalformedRecordError
from flowsql.messages import ROW_KIND

CDC_FORMATS = ("debezium-json", "canal-json", "maxwell-json")


def _common(fmt: str) -> list[OptionSpec]:
    return [
        OptionSpec(f"{fmt}.ignore-parse-errors", "bool", default="false",
                   description="Skip records that cannot be parsed instead of failing."),
        OptionSpec(f"{fmt}.timestamp-format.standard", "enum", default="SQL",
                   choices=("SQL", "ISO-8601"), description="Both forms are read."),
        OptionSpec(f"{fmt}.map-null-key.mode", "enum", default="FAIL",
                   choices=("FAIL", "DROP", "LITERAL"), description="Accepted for Flink compatibility."),
        OptionSpec(f"{fmt}.map-null-key.literal", "string", default="null",
                   description="Accepted for Flink compatibility."),
        OptionSpec(f"{fmt}.encode.decimal-as-plain-number", "bool", default="false",
                   description="Accepted for Flink compatibility."),
        OptionSpec(f"{fmt}.encode.ignore-null-fields", "bool", default="false",
                   description="Accepted for Flink compatibility."),
    ]


CDC_OPTIONS: list[OptionSpec] = [
    *_common("debezium-json"),
    OptionSpec("debezium-json.schema-include", "bool", default="false",
               description="The records carry Kafka Connect's schema: the change is in 'payload'."),
    *_common("canal-json"),
    OptionSpec("canal-json.database.include", description="Regular expression of the databases to read."),
    OptionSpec("canal-json.table.include", description="Regular expression of the tables to read."),
    *_common("maxwell-json"),
]

# Per format: envelope columns (SQL over the record ``j``), the bad-envelope test, a
# description of a bad envelope, and the rows: (sub, kind, row JSON, condition[, unnest]).
_ENVELOPE = {
    "debezium-json": "e->>'op' AS op, e->'before' AS before_j, e->'after' AS after_j",
    "canal-json": ("j->>'type' AS op, j->'data' AS data_j, j->'old' AS old_j, "
                   "COALESCE(TRY_CAST(j->>'isDdl' AS BOOLEAN), false) AS ddl, "
                   "j->>'database' AS db, j->>'table' AS tbl"),
    "maxwell-json": "j->>'type' AS op, j->'data' AS data_j, j->'old' AS old_j",
}


def _is_object(col: str) -> str:
    return f"({col} IS NOT NULL AND json_type({col}) = 'OBJECT')"


def _bad_sql(fmt: str) -> str:
    if fmt == "debezium-json":
        return (f"op IS NULL OR op NOT IN ('c', 'r', 'u', 'd') "
                f"OR (op IN ('c', 'r', 'u') AND NOT {_is_object('after_j')}) "
                f"OR (op IN ('u', 'd') AND NOT {_is_object('before_j')})")
    if fmt == "canal-json":
        return ("(op IS NULL OR op NOT IN ('INSERT', 'UPDATE', 'DELETE') "
                "OR data_j IS NULL OR json_type(data_j) <> 'ARRAY' "
                "OR (op = 'UPDATE' AND old_j IS NOT NULL AND json_type(old_j) NOT IN ('ARRAY', 'NULL')))")
    return (f"op IS NULL OR op NOT IN ('insert', 'update', 'delete') OR NOT {_is_object('data_j')} "
            f"OR (old_j IS NOT NULL AND json_type(old_j) NOT IN ('OBJECT', 'NULL'))")


def _rows_sql(fmt: str) -> str:
    """SELECTs (over ``env`` rows that are good and not skipped) of (seq, sub, kind, row)."""
    if fmt == "debezium-json":
        return """
            SELECT seq, 0 AS sub, CASE op WHEN 'u' THEN 1 WHEN 'd' THEN 3 ELSE 0 END AS kind,
                   CASE WHEN op IN ('u', 'd') THEN before_j ELSE after_j END AS row_j
            FROM good
            UNION ALL SELECT seq, 1, 2, after_j FROM good WHERE op = 'u'"""
    if fmt == "maxwell-json":
        return """
            SELECT seq, 0 AS sub, CASE op WHEN 'insert' THEN 0 WHEN 'update' THEN 1 ELSE 3 END AS kind,
                   CASE WHEN op = 'update' THEN json_merge_patch(data_j, COALESCE(old_j, '{}'::JSON))
                        ELSE data_j END AS row_j
            FROM good
            UNION ALL SELECT seq, 1, 2, data_j FROM good WHERE op = 'update'"""
    return """
        , items AS (SELECT seq, op, data_j, old_j,
                           unnest(range(json_array_length(data_j)::BIGINT)) AS i FROM good)
        SELECT seq, 2 * i AS sub, CASE op WHEN 'INSERT' THEN 0 WHEN 'UPDATE' THEN 1 ELSE 3 END AS kind,
               CASE WHEN op = 'UPDATE'
                    THEN json_merge_patch(data_j->(i::INTEGER), COALESCE(old_j->(i::INTEGER), '{}'::JSON))
                    ELSE data_j->(i::INTEGER) END AS row_j
        FROM items
        UNION ALL SELECT seq, 2 * i + 1, 2, data_j->(i::INTEGER) FROM items WHERE op = 'UPDATE'"""


def _skip_sql(fmt: str, options: dict[str, Any]) -> str:
    if fmt != "canal-json":
        return "false"
    parts = ["ddl"]
    for key, col in (("canal-json.database.include", "db"), ("canal-json.table.include", "tbl")):
        if options.get(key):
            parts.append(f"NOT COALESCE(regexp_full_match({col}, {literal(options[key])}), false)")
    return " OR ".join(parts)


def batch_read_error(table: Any, what: str) -> ConnectorError:
    """Flink's refusal to read a changelog source in batch mode."""
    return ConnectorError(
        f"Querying a table in batch mode is currently only possible for INSERT-only table "
        f"sources, but the source of {table.name} ({what}) produces updates and deletes",
        hint="Read it in streaming mode ('scan.bounded.mode' makes a Kafka table end).")


@dataclass
class ChangelogRows:
    """What :func:`decode_changelog` found: the rows of the good records (``values``, in record
    order), each row's record index (``seq``) and row kind (``kind``), the per-record ``bad``
    mask and the first bad record's index and message (or None)."""

    values: pa.Table
    seq: np.ndarray
    kind: np.ndarray
    bad: np.ndarray
    first_bad: tuple[int, str] | None


def decode_changelog(fmt: str, raw: pa.Array, columns: Sequence[Column], schema: pa.Schema,
                     options: dict[str, Any]) -> ChangelogRows:
    """Decode ``raw`` (binary, one change event per element) in format ``fmt`` (module contract)."""
    return decode_changelog_lines(fmt, text_lines(raw), columns, schema, options)


def decode_changelog_lines(fmt: str, lines: pa.Table, columns: Sequence[Column],
                           schema: pa.Schema, options: dict[str, Any]) -> ChangelogRows:
    """:func:`decode_changelog` over text records (``line``: large_string, ``utf8_ok``: bool)."""
    n = len(lines)
    lines = pa.table({"line": lines.column("line"), "utf8_ok": lines.column("utf8_ok"),
                      "seq": pa.array(np.arange(n, dtype=np.int64))})
    payload = "j->'payload'" if options.get("debezium-json.schema-include") else "j"
    ctes = f"""
        WITH src AS (
            SELECT seq, line, CASE WHEN utf8_ok AND json_valid(line) AND json_type(line) = 'OBJECT'
                              THEN line::JSON END AS j FROM records),
        env0 AS (SELECT seq, j, {payload} AS e FROM src),
        env1 AS (SELECT seq, j, e, {_ENVELOPE[fmt]} FROM env0),
        env AS (SELECT *, COALESCE({_skip_sql(fmt, options)}, false) AS skip FROM env1),
        flagged AS (SELECT *, NOT skip AND (j IS NULL OR e IS NULL OR json_type(e) <> 'OBJECT'
                                            OR COALESCE({_bad_sql(fmt)}, true)) AS bad FROM env)"""
    rows_sql = (f"{ctes}, good AS (SELECT * FROM flagged WHERE NOT bad AND NOT skip) "
                f"{_rows_sql(fmt)} ORDER BY seq, sub")
    flags_sql = f"{ctes} SELECT seq, bad FROM flagged ORDER BY seq"
    con = connect()
    try:
        con.register("records", lines)
        rows = con.sql(rows_sql).to_arrow_table()
        flags = con.sql(flags_sql).to_arrow_table()
    except duckdb.Error as exc:
        raise ConnectorError(f"cannot read {fmt} records: {exc}") from exc
    finally:
        con.close()
    bad = flags.column("bad").to_numpy(zero_copy_only=False).astype(bool)
    seq = rows.column("seq").to_numpy(zero_copy_only=False).astype(np.int64)
    kind = rows.column("kind").to_numpy(zero_copy_only=False).astype(np.int8)
    row_text = rows.column("row_j").combine_chunks().cast(pa.large_string())
    decoded = decode_json_lines(
        pa.table({"line": row_text, "utf8_ok": pa.array(np.ones(len(row_text), dtype=bool))}),
        columns, schema, {"json.fail-on-missing-field": False}, what=f"{fmt} rows")
    first_bad: tuple[int, str] | None = None
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        first_bad = (first, _describe_envelope(fmt, lines.column("line")[first].as_py(), options))
    if decoded.bad_count:
        row_bad = decoded.bad.to_numpy(zero_copy_only=False).astype(bool)
        at = int(seq[np.flatnonzero(row_bad)[0]])
        if first_bad is None or at < first_bad[0]:
            message = decoded.first_bad[1] if decoded.first_bad else "malformed row"
            first_bad = (at, message.replace("JSON record", f"{fmt} row", 1))
        bad[seq[row_bad]] = True
    keep = ~bad[seq] if len(seq) else np.zeros(0, dtype=bool)
    values = decoded.values
    if not keep.all():
        values, seq, kind = values.filter(pa.array(keep)), seq[keep], kind[keep]
    return ChangelogRows(values, seq, kind, bad, first_bad)


def read_changelog_file(path: str, fmt: str, columns: Sequence[Column], schema: pa.Schema,
                        options: dict[str, Any]) -> pa.Table:
    """One newline-delimited file of change events → rows with the ROW_KIND column (the
    filesystem connector). A bad record fails naming the file and line, unless
    ``<format>.ignore-parse-errors``."""
    try:
        lines = file_lines(path)
    except OSError as exc:
        raise ConnectorError(f"cannot read file '{path}': {exc.strerror or exc}") from exc
    rows = decode_changelog_lines(fmt, lines, columns, schema, options)
    if rows.first_bad is not None and not options.get(f"{fmt}.ignore-parse-errors"):
        index, message = rows.first_bad
        raise MalformedRecordError(message, position=f"{path}:{lines.column('line_no')[index].as_py()}",
                                   hint=f"Set '{fmt}.ignore-parse-errors' = 'true' to skip "
                                        "malformed records.")
    return rows.values.append_column(pa.field(ROW_KIND, pa.int8(), nullable=False),
                                     pa.array(rows.kind, pa.int8()))


def _describe_envelope(fmt: str, line: str | None, options: dict[str, Any]) -> str:
    """Error path: why the record is not a usable change event (Flink's wording)."""
    import json

    shown = line if line is None or len(line) <= 200 else line[:200] + "..."
    kind = {"debezium-json": "Debezium", "canal-json": "Canal", "maxwell-json": "Maxwell"}[fmt]
    try:
        j = json.loads(line) if line is not None else None
    except ValueError:
        j = None
    if not isinstance(j, dict):
        return f"Corrupt {kind} JSON message {shown!r}"
    if fmt == "debezium-json":
        e = j.get("payload") if options.get("debezium-json.schema-include") else j
        if not options.get("debezium-json.schema-include") and "payload" in j and "op" not in j:
            return (f"Corrupt Debezium JSON message {shown!r}: it carries a 'schema' and "
                    "'payload'; set 'debezium-json.schema-include' = 'true'")
        if not isinstance(e, dict):
            return f"Corrupt Debezium JSON message {shown!r}"
        op = e.get("op")
        if op not in ("c", "r", "u", "d"):
            return f'Unknown "op" value "{op}". The Debezium JSON message is {shown!r}'
        if op == "u" and not isinstance(e.get("before"), dict):
            return ('The "before" field of UPDATE message is null, if you are using Debezium '
                    "Postgres Connector, please check the Postgres table has been set REPLICA "
                    f"IDENTITY to FULL level. The message is {shown!r}")
        return f"Corrupt Debezium JSON message {shown!r}: no row image for op '{op}'"
    types = ("INSERT", "UPDATE", "DELETE") if fmt == "canal-json" else ("insert", "update", "delete")
    if j.get("type") not in types:
        return f'Unknown "type" value "{j.get("type")}". The {kind} JSON message is {shown!r}'
    return f"Corrupt {kind} JSON message {shown!r}: 'data' / 'old' do not hold rows"

