"""The browser, the live server and the test share one clock, wherever `--at` put it."""

from datetime import UTC, datetime

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.services]


def test_the_page_and_the_server_read_the_same_instant(page):
    page.goto("/healthz")
    in_page = datetime.fromtimestamp(page.evaluate("Date.now()") / 1000, UTC)
    # The server is a thread of this process: its "now" is this one.
    assert abs((in_page - datetime.now(UTC)).total_seconds()) < 60
