"""Headless Chromium for dashboard tests (selenium), shared by the REST and cluster tests.

Chromium and chromedriver come from Debian packages (``make browser``); when they are
missing :func:`browser_binaries` tries that install itself (as root) and skips, saying why,
only when it cannot be done. The ``browser`` fixture (tests/runtime/conftest.py) quits the
browser it starts."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

INSTALL = "apt-get update -q && apt-get install -y -q chromium chromium-driver"


def browser_binaries() -> tuple[str, str]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if (chromium is None or driver is None) and shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(["sh", "-c", INSTALL], capture_output=True, timeout=900, check=False)
        chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or driver is None:
        pytest.skip(
            "Chromium/chromedriver are not installed and could not be installed "
            f"(run `make browser` or `{INSTALL}` as root)"
        )
    return chromium, driver


def headless_chromium() -> Iterator[Any]:
    chromium, driver_path = browser_binaries()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1680,1050", "--force-device-scale-factor=1"):  # fmt: skip
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(fn, *, timeout: float = 30.0, interval: float = 0.2):
    """Poll ``fn`` (ignoring exceptions: elements come and go) until it returns truthy."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = fn()
            if value:
                return value
        except Exception as e:  # stale/missing elements while the page re-renders
            last = e
        time.sleep(interval)
    raise AssertionError(f"dashboard condition not met within {timeout} s (last error: {last!r})")


def number(text: str) -> int:
    digits = "".join(ch for ch in text if ch.isdigit())
    return int(digits) if digits else 0
