"""The dashboard in a real headless Chromium (selenium), served by uvicorn on 127.0.0.1.

The server is a :class:`RestServer` (uvicorn in a thread on a free loopback port) torn down by
its fixture; the browser (fixture ``browser``, tests/runtime/conftest.py: Debian's Chromium
and chromedriver, installed or skipped as tests/runtime/browser.py says) is quit by its
fixture."""

from __future__ import annotations

import pytest

from flowsql.runtime.rest.app import create_app
from flowsql.runtime.rest.server import RestServer
from tests.runtime.browser import number, wait_for

SCREENSHOT = "/tmp/flowsql-dashboard.png"


@pytest.fixture
def server(view):
    with RestServer(create_app(view), host="127.0.0.1", port=0) as srv:
        yield srv


def test_dashboard_shows_the_running_job_graph(server, browser, running_job):
    from selenium.webdriver.common.by import By

    assert server.host == "127.0.0.1"
    browser.get(server.url + "/")
    row = f'.job-row[data-job-id="{running_job}"]'
    wait_for(lambda: browser.find_element(By.CSS_SELECTOR, row))
    wait_for(lambda: browser.find_element(By.CSS_SELECTOR, ".tm-row[data-tm-id='tm-1']"))
    wait_for(lambda: browser.find_element(By.ID, "stat-taskmanagers").text == "2")
    wait_for(lambda: "RUNNING" in browser.find_element(By.CSS_SELECTOR, f"{row} .job-state").text)
    browser.save_screenshot("/tmp/flowsql-dashboard-overview.png")

    # The page re-renders its tables every refresh: an element found a moment ago may be
    # stale, so each step finds and uses its element in one retried go.
    wait_for(lambda: browser.find_element(By.CSS_SELECTOR, f"{row} .job-link").click() or True)
    source = '.operator[data-operator-id="1-source"]'
    wait_for(lambda: number(browser.find_element(By.CSS_SELECTOR, f"{source} .records-out").text) > 0)
    ids = wait_for(lambda: [b.get_attribute("data-operator-id")
                            for b in browser.find_elements(By.CSS_SELECTOR, ".operator[data-operator-id]")])
    assert ids == [
        "1-source", "2-calc", "3-calc", "4-local-window-aggregate", "5-window-aggregate", "6-sink",
    ]  # fmt: skip
    # a rate shows once the server holds a sample a second old
    wait_for(lambda: browser.find_element(By.CSS_SELECTOR, f"{source} .rate-out").text.endswith("/s"))
    wait_for(lambda: number(browser.find_element(
        By.CSS_SELECTOR, '.operator[data-operator-id="2-calc"] .records-in').text) > 0)
    assert wait_for(lambda: len(browser.find_elements(By.CSS_SELECTOR, "#job-edges path.edge"))) == 5
    wait_for(lambda: browser.find_element(By.ID, "job-name").text == "rest-test-job")
    browser.save_screenshot(SCREENSHOT)

    wait_for(lambda: browser.find_element(By.ID, "cancel-job").click() or True)
    browser.switch_to.alert.accept()
    wait_for(lambda: browser.find_element(By.ID, "job-state").text == "CANCELED")
    assert not browser.find_element(By.ID, "cancel-job").is_enabled()


def test_dashboard_renders_watermarks_backpressure_and_lost_task_managers(fake_view, browser):
    from selenium.webdriver.common.by import By

    from tests.runtime.rest.conftest import NOW

    app = create_app(fake_view, clock=lambda: NOW)
    with RestServer(app) as srv:
        browser.get(srv.url + "/")
        wait_for(lambda: browser.find_element(By.CSS_SELECTOR, ".tm-row[data-tm-id='tm-b']"))
        assert browser.find_element(By.CSS_SELECTOR, ".tm-row[data-tm-id='tm-b'] .badge").text == "LOST"
        assert browser.find_element(By.CSS_SELECTOR, ".tm-row[data-tm-id='tm-a'] .rss").text == "1.0 GiB"

        browser.get(srv.url + "/#/jobs/j1")
        agg = '.operator[data-operator-id="2-agg"]'
        wait_for(lambda: browser.find_element(By.CSS_SELECTOR, f"{agg} .watermark-lag").text == "lag 2.5 s")
        assert browser.find_element(By.CSS_SELECTOR, f"{agg} .late-records").text == "7"
        assert browser.find_element(By.CSS_SELECTOR, f"{agg} .backpressure").text == "HIGH 75%"
        assert browser.find_element(By.CSS_SELECTOR, '.operator[data-operator-id="1-src"] .watermark').text
        browser.save_screenshot("/tmp/flowsql-dashboard-fake.png")

        browser.get(srv.url + "/#/jobs/j3")
        wait_for(lambda: browser.find_element(By.ID, "job-reason").text == "not enough slots")
        browser.get(srv.url + "/#/jobs/nope")
        wait_for(lambda: "not found" in browser.find_element(By.ID, "not-found-text").text)


def test_dashboard_lists_checkpoint_history(server, browser, session, cluster, tmp_path):
    from selenium.webdriver.common.by import By

    from tests.runtime.rest.conftest import streaming_graph

    job_id = cluster.submit(streaming_graph(session), config={
        "execution.checkpointing.interval": "200 ms",
        "execution.checkpointing.dir": str(tmp_path / "chk")})
    try:
        browser.get(server.url + f"/#/jobs/{job_id}")
        rows = "#checkpoints tr.checkpoint-row"
        wait_for(lambda: len(browser.find_elements(By.CSS_SELECTOR, rows)) >= 2)

        def first_row_cells() -> list[str]:  # read whole, retried while the table re-renders
            first = browser.find_elements(By.CSS_SELECTOR, rows)[-1]
            return [td.text for td in first.find_elements(By.TAG_NAME, "td")]

        cells = wait_for(first_row_cells)
        assert cells[1] == "COMPLETED" and cells[4].endswith("B"), cells
        browser.save_screenshot("/tmp/flowsql-dashboard-checkpoints.png")
    finally:
        cluster.cancel(job_id, wait=True, timeout=10.0)
