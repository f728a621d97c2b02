"""Postgres wire protocol (v3.0) framing: reading frontend messages, building backend ones.

Contract:
- :func:`read_startup` reads the length-prefixed first packet (StartupMessage, SSLRequest,
  GSSENCRequest or CancelRequest) and returns ``(code, body)``; :func:`read_message` reads
  one typed message ``(type_byte, body)``. Both refuse packets over :data:`MAX_MESSAGE`
  (a :class:`ProtocolError`), so a client cannot make the server buffer without bound.
- :class:`Reader` parses a body (int16/int32/cstring/bytes); the ``msg_*`` functions build
  complete backend messages as ``bytes``.

Written by hand (about 150 lines) rather than with pygwire (0.2.0 on PyPI, a single
pre-1.0 release): the framing is tiny, and the server needs to own the asyncio stream
(TLS upgrade in the middle of the startup) and the size limits itself.
"""

from __future__ import annotations

import asyncio
import struct

MAX_MESSAGE = 64 * 1024 * 1024
SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102
PROTOCOL_3_0 = 196608


class ProtocolError(Exception):
    """The peer broke the protocol; the connection is closed after an ErrorResponse."""


async def read_startup(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readexactly(8)
    length, code = struct.unpack("!ii", head)
    if length < 8 or length > 10_000:
        raise ProtocolError(f"invalid startup packet length {length}")
    return code, await reader.readexactly(length - 8)


async def read_message(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readexactly(5)
    kind = head[:1]
    (length,) = struct.unpack("!i", head[1:])
    if length < 4 or length > MAX_MESSAGE:
        raise ProtocolError(f"invalid message length {length}")
    return kind, await reader.readexactly(length - 4)


def parse_startup_params(body: bytes) -> dict[str, str]:
    parts = body.split(b"\0")
    params: dict[str, str] = {}
    for i in range(0, len(parts) - 1, 2):
        if not parts[i]:
            break
        params[parts[i].decode("utf-8", "replace")] = parts[i + 1].decode("utf-8", "replace")
    return params


class Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def int16(self) -> int:
        (v,) = struct.unpack_from("!h", self.data, self.pos)
        self.pos += 2
        return v

    def int32(self) -> int:
        (v,) = struct.unpack_from("!i", self.data, self.pos)
        self.pos += 4
        return v

    def cstring(self) -> str:
        end = self.data.index(b"\0", self.pos)
        text = self.data[self.pos:end].decode("utf-8")
        self.pos = end + 1
        return text

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ProtocolError("message shorter than its fields")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def rest(self) -> bytes:
        return self.take(len(self.data) - self.pos)


def message(kind: bytes, payload: bytes = b"") -> bytes:
    return kind + struct.pack("!i", len(payload) + 4) + payload


def cstr(text: str) -> bytes:
    return text.encode("utf-8").replace(b"\0", b"") + b"\0"


def msg_auth(code: int, extra: bytes = b"") -> bytes:
    return message(b"R", struct.pack("!i", code) + extra)


def msg_parameter_status(name: str, value: str) -> bytes:
    return message(b"S", cstr(name) + cstr(value))


def msg_backend_key(pid: int, secret: int) -> bytes:
    return message(b"K", struct.pack("!ii", pid, secret))


def msg_ready(status: bytes = b"I") -> bytes:
    return message(b"Z", status)


def msg_command_complete(tag: str) -> bytes:
    return message(b"C", cstr(tag))


def msg_row_description(fields: list[tuple[str, int, int, int]]) -> bytes:
    """``fields``: (name, type oid, type size, format code)."""
    out = [struct.pack("!h", len(fields))]
    for name, oid, size, fmt in fields:
        out.append(cstr(name) + struct.pack("!ihihih", 0, 0, oid, size, -1, fmt))
    return message(b"T", b"".join(out))


def msg_data_row(values: list[bytes | None]) -> bytes:
    out = [struct.pack("!h", len(values))]
    for v in values:
        if v is None:
            out.append(b"\xff\xff\xff\xff")
        else:
            out.append(struct.pack("!i", len(v)) + v)
    return message(b"D", b"".join(out))


def msg_parameter_description(oids: list[int]) -> bytes:
    return message(b"t", struct.pack(f"!h{len(oids)}i", len(oids), *oids))


def msg_error(fields: dict[str, str], notice: bool = False) -> bytes:
    payload = b"".join(k.encode() + cstr(v) for k, v in fields.items()) + b"\0"
    return message(b"N" if notice else b"E", payload)


PARSE_COMPLETE = message(b"1")
BIND_COMPLETE = message(b"2")
CLOSE_COMPLETE = message(b"3")
NO_DATA = message(b"n")
PORTAL_SUSPENDED = message(b"s")
EMPTY_QUERY = message(b"I")
