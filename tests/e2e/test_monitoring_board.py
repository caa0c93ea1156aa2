"""The live risk board in the browser: a risk officer (second factor passed) sees the open
alerts, the book with its small charts and the accounts nearest their call line; an alert raised
while the page is open appears over the socket; acknowledging it with a note works; the board
reads on a desktop and on a phone. Screenshots land in var/screens/i18/."""

import datetime
import threading
from decimal import Decimal as D
from pathlib import Path

import pytest
from playwright.sync_api import expect

from audit.models import AuditEntry
from margin.models import MarginAccount
from monitoring import alerts, live
from monitoring.models import Alert, BookSnapshot
from monitoring.surveillance import Pass, Signal
from tests.e2e.test_staff_backoffice import demo, staff_page  # noqa: F401 (fixture)

pytestmark = [pytest.mark.e2e]

SCREENS = Path(__file__).resolve().parents[2] / "var" / "screens" / "i18"
BOARD = "/admin/monitoring/alert/board/"
AT = datetime.datetime(2026, 11, 26, 2, 30, tzinfo=datetime.UTC)  # 10:30 in Beijing


def shot(page, name: str) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)


def elsewhere(work) -> None:
    """Run ``work`` in another thread, as the risk engine would: Playwright keeps an event loop
    on this one, where telling the boards (async_to_sync) would refuse to run."""
    from django.db import connection

    failure: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # handed to the test below
            failure.append(exc)
        finally:
            connection.close()

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    if failure:
        raise failure[0]


def signal(rule, subject, value, threshold, level="warning"):
    return Signal(rule, "instrument", subject, level, D(value), D(threshold), {"bench": 0})


def the_book():
    """An hour of book snapshots (for the small charts) and the accounts nearest their line."""
    for i in range(12):
        BookSnapshot.objects.create(
            at=AT - datetime.timedelta(minutes=5 * (12 - i)),
            values={
                "accounts": 5,
                "levels": {"safe": 3, "watch": 1, "warning": 0, "call": 1, "liquidation": 0},
                "at_call_share": 0.1 + i / 100,
                "financing_share": 0.4 + i / 200,
                "top_instruments": [["300750.SZ", 0.31], ["600519.SH", 0.22]],
                "sectors": {"电池": 0.31, "白酒": 0.22},
            },
        )
    nearest = [
        {"account_id": pk, "ratio": "1.3500", "call_line": "1.3000", "level": "warning"}
        for pk in MarginAccount.objects.order_by("pk").values_list("pk", flat=True)[:3]
    ]
    live.cache.set(live.NEAREST_KEY, nearest, 600)
    return nearest


@pytest.fixture
def board(demo):  # noqa: F811
    live.cache.delete(live.LATEST_KEY)
    nearest = the_book()
    alerts.signals_apply(Pass([signal("volume_spike", "300750.SZ", 7, 5)], {"volume_spike"}), at=AT)
    yield demo, nearest
    live.cache.delete(live.NEAREST_KEY)


def test_a_risk_officer_works_the_live_board(browser, board):
    base, nearest = board
    page = staff_page(browser, base, "erin@demo.wangrun.test")
    heard = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda frame: heard.append(frame)))
    page.goto(BOARD)
    alerts_table = page.locator("#open-alerts")
    expect(alerts_table).to_contain_text("300750.SZ")
    expect(alerts_table).to_contain_text("volume_spike")
    expect(page.locator("#book-signals svg").first).to_be_visible()
    expect(page.locator("#nearest")).to_contain_text(str(nearest[0]["account_id"]))
    expect(page.locator("#content h2").first).to_contain_text("未关闭的告警")
    shot(page, "board-desktop")

    # Raised while the page is open: the socket says so and the page shows it.
    page.evaluate("window.beforeLive = true")
    elsewhere(
        lambda: alerts.signals_apply(
            Pass([signal("limit_down", "600519.SH", 1, 1, level="critical")], {"limit_down"}),
            at=AT,
        )
    )
    expect(alerts_table).to_contain_text("600519.SH", timeout=8_000)
    assert any("changed" in str(frame) for frame in heard)
    assert page.evaluate("window.beforeLive") is None  # reloaded, within the 10 s poll
    shot(page, "board-live-alert")

    # Acknowledge it with a note.
    raised = Alert.objects.get(subject="600519.SH")
    page.locator(f"a[href$='/{raised.pk}/work/']").click()
    page.select_option("select[name=action]", "acknowledge")
    page.fill("textarea[name=note]", "已联系交易所核实跌停原因")
    page.locator("#content form [type=submit]").first.click()
    expect(page).to_have_url(f"{base}{BOARD}")
    raised.refresh_from_db()
    assert raised.status == "acknowledged"
    assert raised.acknowledged_by.email == "erin@demo.wangrun.test"
    entry = AuditEntry.objects.get(action="monitoring.alert_acknowledged", object_id=str(raised.pk))
    assert entry.data["note"] == "已联系交易所核实跌停原因"


def test_the_board_reads_on_a_phone(browser, board):
    base, nearest = board
    page = staff_page(browser, base, "erin@demo.wangrun.test")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(BOARD)
    expect(page.locator("#open-alerts")).to_contain_text("300750.SZ")
    expect(page.locator("#nearest")).to_contain_text(str(nearest[0]["account_id"]))
    # Nothing wider than the screen: wide tables scroll inside the page.
    width = page.evaluate("document.documentElement.scrollWidth")
    shot(page, "board-phone")
    assert width <= 390, width


def test_an_agent_is_refused_the_board(browser, board):
    base, _nearest = board
    page = staff_page(browser, base, "carol@demo.wangrun.test")
    response = page.goto(BOARD)
    assert response.status == 403
