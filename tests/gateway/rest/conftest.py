"""A gateway process per test module (started on 127.0.0.1, a free port; stopped by pid)."""

from __future__ import annotations

import httpx2 as httpx
import pytest

from tests.gateway import gateway_process


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    home = tmp_path_factory.mktemp("gateway-home")
    with gateway_process.running(home) as gw:
        yield gw


@pytest.fixture(scope="module")
def client(gateway):
    with httpx.Client(base_url=gateway.url, timeout=30) as c:
        yield c
