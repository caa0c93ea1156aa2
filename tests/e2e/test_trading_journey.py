"""A client buys on financing, is refused an over-concentrated buy and a same-day sale (T+1), sells
the next day, and finds both trades on her funds statement — at desktop and phone sizes."""

import datetime
import threading
from pathlib import Path

import pytest
from playwright.sync_api import expect

from portal.calendars import SHANGHAI
from tests.factories import PASSWORD

THURSDAY = datetime.datetime(2026, 12, 3, 10, 0, tzinfo=SHANGHAI)
FRIDAY = datetime.datetime(2026, 12, 4, 10, 0, tzinfo=SHANGHAI)
SCREENS = Path(__file__).resolve().parents[2] / "var" / "screens" / "i17"
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}

pytestmark = [pytest.mark.e2e, pytest.mark.journey, pytest.mark.time_machine(THURSDAY)]


def shot(page, size, name):
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"trading-{size}-{name}.png"), full_page=True)


def fits_the_screen(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, f"page is {width}px wide"


def ticket(page, side, code, quantity, price, action):
    page.goto("/trading/")
    page.locator(f"input[name=side][value={side}]").check()
    page.fill("input[name=code]", code)
    page.fill("input[name=quantity]", quantity)
    page.fill("input[name=price]", price)
    page.locator(f"[data-testid=ticket-{action}]").click()


def tick_and_match(code, price):
    """The feed reports ``price`` a second from now and the venue takes its step, in another
    thread: Playwright keeps an event loop on this one, where the fill's in-app push would refuse
    to run."""
    from django.db import connection
    from django.utils import timezone

    from margin.models import Instrument
    from trading import services

    Instrument.objects.filter(code=code).update(
        last_price=price, last_price_at=timezone.now() + datetime.timedelta(seconds=1)
    )
    found: list = []

    def step() -> None:
        try:
            found.append(services.venue_step(now=timezone.now() + datetime.timedelta(seconds=2)))
        finally:
            connection.close()

    worker = threading.Thread(target=step)
    worker.start()
    worker.join()
    return found[0] if found else None


@pytest.fixture
def alice(live_portal):
    from tests.disclosures.factories import ensure_roles
    from tests.education.factories import documents_in_force
    from tests.trading.conftest import instrument, trader

    ensure_roles()
    documents_in_force()
    # Cash 10,000 and 10,000 × 20.00 of 000001.SZ: a buy of 36,000 is mostly financed.
    account = trader(cash="10000.00", holdings=[("000001.SZ", 10000, "20.00")])
    instrument("600036.SH", "36.00")
    return account


@pytest.mark.parametrize("size", list(SIZES))
def test_buy_on_financing_refusals_and_a_sale_the_next_day(page, alice, size, time_machine):
    page.set_viewport_size(SIZES[size])
    page.goto("/accounts/login/")
    page.fill("input[name=login]", alice.client.email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.goto("/trading/")
    expect(page.locator("[data-testid=simulated-notice]")).to_contain_text("模拟成交")
    shot(page, size, "01-ticket")
    fits_the_screen(page)

    # The check before submitting: the figures on her own numbers, financed.
    ticket(page, "buy", "600036", "1000", "36.00", "check")
    expect(page.locator("[data-testid=check-ok]")).to_be_visible()
    # 36,000 + 11.16 of costs, 10,000 of it from cash: 26,011.16 of new financing.
    expect(page.locator("[data-testid=check-financing]")).to_contain_text("26,011.16")
    expect(page.locator("[data-testid=check-ratio]")).to_contain_text("→")
    expect(page.locator("[data-testid=check-costs]")).to_contain_text("fee_schedule v")
    shot(page, size, "02-check")
    fits_the_screen(page)
    page.locator("[data-testid=ticket-submit]").click()
    expect(page.locator("[data-testid=orders]")).to_contain_text("600036.SH")
    assert tick_and_match("600036.SH", "35.80") == 1
    page.reload()
    expect(page.locator("[data-testid=order-row]").first).to_have_attribute("data-status", "filled")
    shot(page, size, "03-filled")

    # Another 2,000: 3,000 × 35.80 = 107,400 of about 307,400 (financed) would be 34.9%, over
    # the 30% concentration limit.
    ticket(page, "buy", "600036", "2000", "36.00", "submit")
    expect(page.locator("[data-testid=check-refusals] [data-code=concentration]")).to_be_visible()
    shot(page, size, "04-concentration-refused")

    # Bought today: not sellable today.
    ticket(page, "sell", "600036", "1000", "36.00", "submit")
    expect(page.locator("[data-testid=check-refusals] [data-code=t_plus_one]")).to_be_visible()
    shot(page, size, "05-t-plus-one")
    fits_the_screen(page)

    # The next trading day she sells them.
    time_machine.move_to(FRIDAY)
    ticket(page, "sell", "600036", "1000", "36.00", "submit")
    expect(page.locator("[data-testid=order-row]").first).to_contain_text("600036.SH")
    assert tick_and_match("600036.SH", "36.20") == 1
    page.reload()
    expect(page.locator("[data-testid=order-row]").first).to_have_attribute("data-status", "filled")

    page.goto("/funds/")
    ledger = page.locator("[data-testid=funds-ledger]")
    expect(ledger).to_contain_text("600036.SH")
    expect(ledger).to_contain_text("买入")
    expect(ledger).to_contain_text("卖出")
    shot(page, size, "06-ledger")
    fits_the_screen(page)

    # The statement of the two days: both trades, each with its costs.
    page.fill("input[name=start]", "2026-12-03")
    page.fill("input[name=end]", "2026-12-04")
    page.locator("[data-testid=funds-statement-form] button").click()
    link = page.locator("[data-testid=funds-statements] a")
    expect(link).to_have_count(1)
    with page.expect_download() as download:
        link.click()
    from pypdf import PdfReader

    pdf = PdfReader(download.value.path())
    text = "".join(p.extract_text() for p in pdf.pages)
    assert text.count("600036.SH") >= 2, text
    shot(page, size, "07-statement")
    fits_the_screen(page)
