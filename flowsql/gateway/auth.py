"""Who may use the gateway: bearer tokens (REST) and users with passwords (Postgres wire).

Contract:
- :meth:`GatewayAuth.load` reads tokens from a file (one per line; blank lines and ``#``
  comments skipped) and/or the ``FLOWSQL_GATEWAY_TOKENS`` environment variable
  (comma-separated), and users from a file of ``user:password`` lines.
- ``enabled`` is true when at least one token or user is configured. When it is false the
  gateway is in its development default: it may only listen on a loopback address, and
  every local client is accepted (:func:`check_bind` enforces that, unless ``insecure``).
- :meth:`check_token` compares in constant time. A Postgres client authenticates as a
  configured user with its password, or as any user name with a token as the password
  (:meth:`password_ok`); :meth:`password_for` gives the stored password a challenge
  (md5, SCRAM-SHA-256) is computed from — for a token login the token itself.
- Secrets are never logged and never part of an error message; ``repr`` hides them.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

from flowsql.errors import ValidationError

TOKENS_ENV = "FLOWSQL_GATEWAY_TOKENS"


@dataclass(frozen=True)
class GatewayAuth:
    tokens: frozenset[str] = frozenset()
    users: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"GatewayAuth({len(self.tokens)} tokens, users={sorted(self.users)})"

    @classmethod
    def load(cls, tokens_file: str | Path | None = None, users_file: str | Path | None = None,
             env: dict[str, str] | None = None) -> GatewayAuth:
        env = os.environ if env is None else env
        tokens: set[str] = set()
        if tokens_file:
            tokens.update(_lines(tokens_file, "tokens file"))
        tokens.update(t.strip() for t in env.get(TOKENS_ENV, "").split(",") if t.strip())
        users: dict[str, str] = {}
        if users_file:
            for n, line in enumerate(_lines(users_file, "users file"), 1):
                user, sep, password = line.partition(":")
                if not sep or not user.strip() or not password:
                    raise ValidationError(f"users file {users_file}, entry {n}: expected "
                                          "'user:password'")
                users[user.strip()] = password
        return cls(frozenset(tokens), users)

    @property
    def enabled(self) -> bool:
        return bool(self.tokens or self.users)

    def check_token(self, token: str | None) -> bool:
        if not self.enabled:
            return True
        if not token:
            return False
        return any(hmac.compare_digest(token.encode(), t.encode()) for t in self.tokens)

    def password_for(self, user: str, offered: str | None = None) -> str | None:
        """The secret a challenge for ``user`` is checked against (None: unknown user).
        With a cleartext ``offered`` password a token is accepted for any user name."""
        if user in self.users:
            return self.users[user]
        if offered is not None and self.check_token(offered):
            return offered
        return None

    def password_ok(self, user: str, password: str) -> bool:
        if not self.enabled:
            return True
        stored = self.users.get(user)
        if stored is not None and hmac.compare_digest(stored.encode(), password.encode()):
            return True
        return bool(self.tokens) and self.check_token(password)


def check_bind(host: str, auth: GatewayAuth, insecure: bool = False) -> None:
    """Refuse a non-loopback address without authentication, unless ``insecure``."""
    if auth.enabled or insecure or _loopback(host):
        return
    raise ValidationError(
        f"refusing to listen on {host} without authentication",
        hint="configure tokens (--tokens-file or FLOWSQL_GATEWAY_TOKENS) or users "
             "(--users-file), bind 127.0.0.1, or pass --insecure")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _lines(path: str | Path, what: str) -> list[str]:
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise ValidationError(f"cannot read the {what} {path}: {e.strerror}") from None
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
