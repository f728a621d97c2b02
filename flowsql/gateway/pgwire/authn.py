"""Password authentication on the Postgres wire: SCRAM-SHA-256, md5 and cleartext.

Contract: :func:`authenticate` runs the exchange for one connection against
:class:`~flowsql.gateway.auth.GatewayAuth` and returns True (the caller then sends
AuthenticationOk) or False (the caller sends 28P01 and closes; nothing else has happened).
- auth disabled (the loopback development default): no exchange, True.
- a user from the users file: the server's ``method`` — ``scram-sha-256`` (default, RFC 5802 /
  RFC 7677, 4096 iterations, a fresh salt per login since only the plain password is stored),
  ``md5`` (Postgres' ``md5(md5(password || user) || salt)``) or ``password`` (cleartext).
- any other user name: cleartext, and the password must be a gateway token (a token login
  has no per-user secret a challenge could be computed from). Use TLS for it.
All comparisons are constant time. Secrets are never logged.

Written by hand (hashlib/hmac, about 100 lines): no maintained pure-Python library offers the
*server* side of SCRAM-SHA-256 for Postgres.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from flowsql.gateway.auth import GatewayAuth
from flowsql.gateway.pgwire import codec

ITERATIONS = 4096
METHODS = ("scram-sha-256", "md5", "password")


async def authenticate(reader, writer, auth: GatewayAuth, user: str, method: str) -> bool:
    if not auth.enabled:
        return True
    if user in auth.users and method == "scram-sha-256":
        return await _scram(reader, writer, auth.users[user])
    if user in auth.users and method == "md5":
        return await _md5(reader, writer, user, auth.users[user])
    writer.write(codec.msg_auth(3))  # cleartext
    await writer.drain()
    body = await _password_message(reader)
    password = body.rstrip(b"\0").decode("utf-8", "replace")
    return auth.password_ok(user, password)


async def _password_message(reader) -> bytes:
    kind, body = await codec.read_message(reader)
    if kind != b"p":
        raise codec.ProtocolError("expected a password message")
    return body


async def _md5(reader, writer, user: str, password: str) -> bool:
    salt = os.urandom(4)
    writer.write(codec.msg_auth(5, salt))
    await writer.drain()
    offered = (await _password_message(reader)).rstrip(b"\0")
    inner = hashlib.md5((password + user).encode()).hexdigest().encode()
    expected = b"md5" + hashlib.md5(inner + salt).hexdigest().encode()
    return hmac.compare_digest(offered, expected)


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _hmac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def _attrs(text: str) -> dict[str, str]:
    return {part[0]: part[2:] for part in text.split(",") if len(part) >= 2 and part[1] == "="}


async def _scram(reader, writer, password: str) -> bool:
    writer.write(codec.msg_auth(10, codec.cstr("SCRAM-SHA-256") + b"\0"))
    await writer.drain()
    r = codec.Reader(await _password_message(reader))
    if r.cstring() != "SCRAM-SHA-256":
        return False
    client_first = r.take(r.int32()).decode("utf-8")
    client_first_bare = client_first.partition(",")[2].partition(",")[2]
    gs2_header = client_first[: len(client_first) - len(client_first_bare)]
    cnonce = _attrs(client_first_bare).get("r", "")
    if not cnonce or client_first.startswith("p"):
        return False  # channel binding is not offered
    salt = os.urandom(16)
    nonce = cnonce + base64.b64encode(os.urandom(18)).decode()
    server_first = f"r={nonce},s={base64.b64encode(salt).decode()},i={ITERATIONS}"
    writer.write(codec.msg_auth(11, server_first.encode()))
    await writer.drain()
    client_final = (await _password_message(reader)).decode("utf-8")
    without_proof, _, proof_part = client_final.rpartition(",p=")
    final = _attrs(without_proof)
    if final.get("r") != nonce or final.get("c") != base64.b64encode(gs2_header.encode()).decode():
        return False
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, ITERATIONS)
    client_key = _hmac(salted, b"Client Key")
    stored_key = _h(client_key)
    auth_message = f"{client_first_bare},{server_first},{without_proof}".encode()
    signature = _hmac(stored_key, auth_message)
    try:
        proof = base64.b64decode(proof_part, validate=True)
    except ValueError:
        return False
    if len(proof) != len(signature):
        return False
    candidate = bytes(a ^ b for a, b in zip(proof, signature, strict=True))
    if not hmac.compare_digest(_h(candidate), stored_key):
        return False
    server_sig = _hmac(_hmac(salted, b"Server Key"), auth_message)
    writer.write(codec.msg_auth(12, b"v=" + base64.b64encode(server_sig)))
    return True
