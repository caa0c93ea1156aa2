"""A demo client watches her margin status live while the price falls into a margin call."""

import time

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot

# The engine writes from its own thread while the browser signs in: PostgreSQL, or SQLite on a file
# in WAL mode, as `make run` has it (`make test` runs this on both).
pytestmark = [pytest.mark.e2e, pytest.mark.journey]


@pytest.fixture
def embedded_engine(settings, live_portal):
    """The ASGI process runs the risk engine on a feed this test drives (margin.embedded)."""
    from django.apps import apps

    from accounts.roles import sync_roles
    from margin import embedded
    from tests.e2e.conftest import seed_demo

    sync_roles(apps)  # the staff roles the migrations made, whatever an earlier flush left
    seed_demo()
    while embedded.manual_feed.poll() is not None:
        pass
    settings.MARGIN_ENGINE_EMBEDDED = True
    settings.MARGIN_FEED = "manual"
    settings.MARGIN_TICK_SECONDS = 0.2
    yield embedded.manual_feed
    embedded.stop()


def alice_at(price: str) -> dict[str, str]:
    """alice's ratio and the deposit that cures a call, as the page should show them, with her
    CATL (1,500 shares) at `price`: from her account as seeded (a day's interest included)."""
    from decimal import Decimal

    from margin import rules
    from margin.models import MarginAccount

    account = MarginAccount.objects.get(client__email="alice@demo.wangrun.test")
    value = 1500 * Decimal(price)
    assets = account.cash + value
    ratio = rules.maintenance_ratio(assets=assets, liabilities=account.liabilities)
    cure = rules.cure(assets=assets, liabilities=account.liabilities, market_value=value)
    return {"ratio": f"{ratio * 100:.2f}%", "deposit": f"¥{cure.deposit:,.2f}"}


def wait_for(predicate, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_alices_dashboard_follows_the_price_into_a_margin_call(page, embedded_engine):
    from accounts.demo import DEMO_PASSWORD
    from notices.models import Notification

    failed = []
    page.on("response", lambda r: r.status >= 400 and failed.append(r.url))
    page.goto("/accounts/login/")
    page.fill("input[name=login]", "alice@demo.wangrun.test")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.goto("/margin/")
    expect(page.locator("[data-testid=margin-connection]")).to_have_text("实时")
    expect(page.locator("[data-testid=margin-ratio]")).to_have_text(alice_at("268.00")["ratio"])
    expect(page.locator("[data-testid=margin-level]")).to_have_text("关注")
    expect(page.locator("[data-testid=margin-banner]")).to_be_hidden()
    screenshot(page, "margin-01-watch")

    embedded_engine.put({"300750.SZ": "262.00"}, at=timezone.now())
    expect(page.locator("[data-testid=margin-ratio]")).to_have_text(alice_at("262.00")["ratio"])
    expect(page.locator("[data-testid=price-300750\\.SZ]")).to_have_text("¥262.00")

    bell = page.locator("#notice-unread")
    unread_before = int(bell.get_attribute("data-count"))
    embedded_engine.put({"300750.SZ": "220.00"}, at=timezone.now())  # about 129%: a call
    expect(page.locator("[data-testid=margin-level]")).to_have_text("追加保证金")
    expect(page.locator("[data-testid=margin-ratio]")).to_have_text(alice_at("220.00")["ratio"])
    banner = page.locator("[data-testid=margin-banner]")
    expect(banner).to_be_visible()
    expect(page.locator("[data-testid=margin-countdown]")).not_to_be_empty()
    expect(page.locator("[data-testid=margin-cure]")).to_contain_text(alice_at("220.00")["deposit"])
    expect(bell).to_have_attribute("data-count", str(unread_before + 1))
    expect(page.locator("#toast-region")).to_contain_text("追加保证金")
    screenshot(page, "margin-02-call")

    def sent(channel):
        return Notification.objects.filter(
            recipient__email="alice@demo.wangrun.test", key="margin_call", channel=channel
        )

    wait_for(
        lambda: (
            sent("email").filter(status="sent").exists()
            and sent("sms").filter(status="sent").exists()
        )
    )
    assert sent("email").count() == 1 and sent("sms").count() == 1
    # The browser asks for /favicon.ico, which this branch does not serve; nothing else failed.
    assert [url for url in failed if not url.endswith("/favicon.ico")] == []
    assert [e for e in page.console_errors if "404" not in e] == []

    # The same page in English, after a reload: still in the call, with its deadline.
    page.locator("[data-testid=lang-en]").click()
    expect(page.locator("[data-testid=margin-level]")).to_have_text("Margin call")
    expect(page.locator("[data-testid=margin-banner]")).to_be_visible()
    screenshot(page, "margin-03-call-en")


def test_without_a_socket_the_page_polls_and_still_follows_the_price(page, embedded_engine):
    from accounts.demo import DEMO_PASSWORD

    # Every socket to /ws/margin/ is refused, as behind a proxy that drops WebSockets.
    page.route_web_socket("**/ws/margin/", lambda ws: ws.close(code=1011))
    page.goto("/accounts/login/")
    page.fill("input[name=login]", "alice@demo.wangrun.test")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.goto("/margin/")
    expect(page.locator("[data-testid=margin-connection]")).to_contain_text("5 秒")
    expect(page.locator("[data-testid=margin-ratio]")).to_have_text(alice_at("268.00")["ratio"])
    embedded_engine.put({"300750.SZ": "262.00"}, at=timezone.now())
    expect(page.locator("[data-testid=margin-ratio]")).to_have_text(
        alice_at("262.00")["ratio"], timeout=15_000
    )
    screenshot(page, "margin-04-polling")


def test_pushes_written_as_ready_frames_stop_when_the_session_ends(live_portal, embedded_engine):
    """The live server writes pushes straight to the socket's transport as ready frames
    (portal.websocket_protocol); the session guard's close still ends them after sign-out."""
    import asyncio
    import json
    import threading

    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    from portal.websocket_protocol import FrameWritingProtocol

    written = []
    original = FrameWritingProtocol.write_frame

    def counting(self, frame: bytes) -> bool:
        wrote = original(self, frame)
        written.append(wrote)
        return wrote

    browser = Client()
    browser.force_login(get_user_model().objects.get(email="alice@demo.wangrun.test"))
    cookie = f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}"
    url = live_portal.replace("http://", "ws://") + "/ws/margin/"

    def sign_out() -> None:
        from django.db import connections

        browser.logout()
        connections.close_all()  # this worker thread's connection: the test database is dropped

    async def scenario():
        async with connect(
            url, origin=live_portal, additional_headers={"Cookie": cookie}, compression=None
        ) as socket:
            snapshot = json.loads(await asyncio.wait_for(socket.recv(), 10))
            pushes = []
            for price in ("262.00", "250.00", "240.00"):
                embedded_engine.put({"300750.SZ": price}, at=timezone.now())
            while not pushes or sum(written) == 0:
                pushes.append(json.loads(await asyncio.wait_for(socket.recv(), 10)))
            await asyncio.to_thread(sign_out)
            try:
                while True:  # whatever was already on its way, then the guard's close
                    await asyncio.wait_for(socket.recv(), 10)
            except ConnectionClosed as closed:
                return snapshot, pushes, closed.rcvd.code if closed.rcvd else None

    outcome = {}
    # In a thread of its own: the browser tests' Playwright may own this thread's event loop.
    runner = threading.Thread(target=lambda: outcome.update(result=asyncio.run(scenario())))
    FrameWritingProtocol.write_frame = counting
    try:
        runner.start()
        runner.join(timeout=60)
        snapshot, pushes, code = outcome["result"]
    finally:
        FrameWritingProtocol.write_frame = original
    assert snapshot["type"] == "snapshot"
    assert all(push["account_id"] == snapshot["account_id"] for push in pushes)
    assert True in written  # the pushes took the direct path
    assert code == 4001
