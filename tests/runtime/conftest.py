"""Fixtures shared by the runtime tests: a headless Chromium (see tests/runtime/browser.py)."""

from __future__ import annotations

import pytest


@pytest.fixture
def browser():
    from tests.runtime.browser import headless_chromium

    yield from headless_chromium()
