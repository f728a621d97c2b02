"""Flink's ``avro-confluent`` format: Avro records in Confluent's wire format, with their
schemas in a Schema Registry (``avro-confluent.url``).

Wire format: byte 0 = magic ``0``, bytes 1–4 = the writer schema's registry id (big-endian),
then one schemaless Avro binary record.

Contract:
- Decoding (:func:`decode_confluent`): every message's schema id is looked up once per id
  and per process (``GET <url>/schemas/ids/<id>``) and the record is read with that writer
  schema; its fields fill the table's columns by name (a field the table lacks is ignored, a
  column the record lacks is NULL). A message without the magic byte or 5-byte header, an id
  the registry does not know, or a record that does not decode is bad: the caller fails,
  naming the record (Flink's format has no ignore-parse-errors).
- Encoding (:func:`encode_confluent`): the table's Avro schema (Flink's mapping,
  :func:`connectors.formats.avro_format.avro_schema`; or ``avro-confluent.schema`` when set)
  is registered once under ``avro-confluent.subject`` (the kafka connectors default it to
  ``<topic>-value``; ``POST <url>/subjects/<subject>/versions``), and each row is written with
  the id it got.
- ``avro-confluent.basic-auth.user-info`` (``user:password``) is sent as HTTP Basic
  authentication. Registry errors and timeouts (:data:`TIMEOUT_S`) are ``ConnectorError``s
  naming the URL.
Not supported yet: the format as a Kafka *key* format, SSL and bearer-token options of the
registry client, and a real Schema Registry in the tests (none can run here; the tests use a
wire-compatible stand-in).
"""

from __future__ import annotations

import base64
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

import fastavro
import pyarrow as pa

from catalog.table import Column
from connectors.base import OptionSpec
from connectors.formats.avro_format import avro_schema, decode_records, encode_avro
from flowsql.errors import ConnectorError

FORMAT = "avro-confluent"
TIMEOUT_S = 10.0
MAGIC = 0
CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"

CONFLUENT_OPTIONS: list[OptionSpec] = [
    OptionSpec(f"{FORMAT}.url", description="Schema Registry URL (required)."),
    OptionSpec(f"{FORMAT}.subject", description="Subject the sink registers its schema under "
                                                "(default '<topic>-value')."),
    OptionSpec(f"{FORMAT}.schema", description="Avro schema (JSON) the sink writes with, instead "
                                               "of the one derived from the table."),
    OptionSpec(f"{FORMAT}.basic-auth.credentials-source", description="USER_INFO (accepted)."),
    OptionSpec(f"{FORMAT}.basic-auth.user-info", description="user:password for HTTP Basic auth."),
]

_LOCK = threading.Lock()
_BY_ID: dict[tuple[str, int], Any] = {}  # (url, id) -> parsed writer schema
_IDS: dict[tuple[str, str, str], int] = {}  # (url, subject, schema json) -> id


def check_options(options: dict[str, Any]) -> None:
    if not options.get(f"{FORMAT}.url"):
        raise ConnectorError(f"Missing required option '{FORMAT}.url' of format '{FORMAT}'",
                             hint="The Schema Registry URL, e.g. 'http://127.0.0.1:8081'.")


def _request(options: dict[str, Any], method: str, path: str, body: dict | None = None) -> Any:
    url = str(options[f"{FORMAT}.url"]).rstrip("/") + path
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Accept": CONTENT_TYPE, "Content-Type": CONTENT_TYPE})
    user_info = options.get(f"{FORMAT}.basic-auth.user-info")
    if user_info:
        req.add_header("Authorization", "Basic " + base64.b64encode(str(user_info).encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")[:200]
        raise ConnectorError(f"Schema Registry {method} {url} failed: HTTP {exc.code} {detail}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise ConnectorError(f"Schema Registry at {url} did not answer: {exc}",
                             hint=f"Check '{FORMAT}.url'.") from None


def writer_schema(options: dict[str, Any], schema_id: int) -> Any:
    """The parsed schema of registry id ``schema_id`` (cached per process)."""
    key = (str(options[f"{FORMAT}.url"]), schema_id)
    with _LOCK:
        cached = _BY_ID.get(key)
    if cached is not None:
        return cached
    answer = _request(options, "GET", f"/schemas/ids/{schema_id}")
    try:
        parsed = fastavro.parse_schema(json.loads(answer["schema"]))
    except (KeyError, ValueError, TypeError, fastavro.schema.SchemaParseException) as exc:
        raise ConnectorError(f"Schema Registry: schema id {schema_id} is not an Avro schema: {exc}") from None
    with _LOCK:
        _BY_ID[key] = parsed
    return parsed


def decode_confluent(raw: pa.Array, columns: Sequence[Column], schema: pa.Schema,
                     options: dict[str, Any]
                     ) -> tuple[pa.Table, pa.Array | None, tuple[int, str] | None]:
    """Wire-format records → (table, bad mask or None, first bad (index, reason) or None)."""
    values = raw.to_pylist()
    bodies: list[bytes | None] = []
    ids: list[int | None] = []
    bad: list[bool] = []
    first: tuple[int, str] | None = None
    for i, v in enumerate(values):  # the 5-byte header of each message
        if v is None or len(v) < 5 or v[0] != MAGIC:
            if first is None:
                first = (i, "not in Confluent's Avro wire format (magic byte 0 and a 4-byte "
                            "schema id expected)")
            bodies.append(None)
            ids.append(None)
            bad.append(True)
            continue
        bodies.append(v[5:])
        ids.append(int.from_bytes(v[1:5], "big"))
        bad.append(False)
    schemas = {sid: writer_schema(options, sid) for sid in set(ids) if sid is not None}
    return decode_records(bodies, lambda i: schemas[ids[i]], schema, first, bad)


def encode_confluent(table: pa.Table, columns: Sequence[Column], options: dict[str, Any]) -> pa.Array:
    """One wire-format record per row, with the schema registered under the subject."""
    subject = options.get(f"{FORMAT}.subject")
    if not subject:
        raise ConnectorError(f"Missing option '{FORMAT}.subject' of format '{FORMAT}'")
    text = options.get(f"{FORMAT}.schema") or json.dumps(avro_schema(columns))
    key = (str(options[f"{FORMAT}.url"]), str(subject), text)
    with _LOCK:
        schema_id = _IDS.get(key)
    if schema_id is None:
        answer = _request(options, "POST", f"/subjects/{subject}/versions", {"schema": text})
        schema_id = int(answer["id"])
        with _LOCK:
            _IDS[key] = schema_id
    header = bytes([MAGIC]) + schema_id.to_bytes(4, "big")
    return encode_avro(table, columns, fastavro.parse_schema(json.loads(text)), header)
