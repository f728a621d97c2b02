"""Gateway authentication: tokens and users, and the loopback-only default."""

from __future__ import annotations

import pytest

from flowsql.errors import ValidationError
from flowsql.gateway.auth import GatewayAuth, check_bind


def test_tokens_from_a_file_and_the_environment_users_from_a_file(tmp_path):
    (tmp_path / "tokens").write_text("# ops\nt-file\n\n")
    (tmp_path / "users").write_text("alice:s3cret\n")
    auth = GatewayAuth.load(tmp_path / "tokens", tmp_path / "users",
                            env={"FLOWSQL_GATEWAY_TOKENS": "t-env, t-env2"})
    assert auth.enabled
    assert all(auth.check_token(t) for t in ("t-file", "t-env", "t-env2"))
    assert not auth.check_token("nope") and not auth.check_token(None)
    assert auth.password_ok("alice", "s3cret") and not auth.password_ok("alice", "wrong")
    assert auth.password_ok("anyone", "t-file")  # a token is a password for any user
    assert auth.password_for("alice") == "s3cret" and auth.password_for("bob") is None
    assert "s3cret" not in repr(auth) and "t-file" not in repr(auth)


def test_without_auth_only_loopback_is_allowed_unless_insecure():
    none = GatewayAuth()
    assert not none.enabled and none.check_token(None)
    check_bind("127.0.0.1", none)
    check_bind("::1", none)
    with pytest.raises(ValidationError, match="without authentication"):
        check_bind("0.0.0.0", none)
    check_bind("0.0.0.0", none, insecure=True)
    check_bind("0.0.0.0", GatewayAuth(frozenset({"t"})))


def test_a_malformed_users_file_names_the_entry(tmp_path):
    (tmp_path / "users").write_text("alice:ok\nbob\n")
    with pytest.raises(ValidationError, match="entry 2"):
        GatewayAuth.load(users_file=tmp_path / "users", env={})
