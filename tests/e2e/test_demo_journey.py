"""The first minutes of `make run`, in the browser, at desktop and phone sizes: the demo client who
may open financing (ready@) opens it, is sent through the gate for a higher tier, confirms it
(typed sentence, password), downloads the receipt and gets the tier — while the embedded risk
engine ticks the simulated market every second and beat's sweeps run in the same process.

Marked `journey`: `make test` runs it on PostgreSQL/Redis and again on the embedded default.
"""

import io
import re

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from tests.e2e.conftest import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.journey]

SIZES = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
}
READING_SECONDS = 3  # the demo asks 30; the rule is the same, the test need not wait that long


@pytest.fixture
def demo_portal(live_portal, settings):
    """The demo loaded, the engine on the simulated feed at its normal rate, beat in-process."""
    from django.apps import apps

    from accounts.roles import sync_roles
    from education.models import WarningSetting
    from margin import embedded as engine
    from portal import embedded as beat
    from tests.e2e.conftest import seed_demo

    sync_roles(apps)  # the staff roles the migrations made, whatever an earlier flush left
    seed_demo()
    WarningSetting.objects.update(min_reading_seconds=READING_SECONDS)
    settings.MARGIN_ENGINE_EMBEDDED = True
    settings.MARGIN_FEED = "simulated"
    settings.MARGIN_TICK_SECONDS = 1.0
    settings.EMBEDDED_BEAT = True
    yield live_portal
    engine.stop()
    beat.stop()


def fits(page) -> None:
    """Nothing sticks out sideways: the page never scrolls horizontally."""
    width = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert width <= 1, f"{page.url} is {width}px wider than the screen"


@pytest.mark.parametrize("size", list(SIZES))
def test_ready_opens_financing_confirms_the_gate_for_tier_2_and_gets_the_receipt(
    browser, demo_portal, size
):
    from accounts.demo import DEMO_PASSWORD
    from margin.embedded import runner

    context = browser.new_context(
        base_url=demo_portal, locale="zh-CN", timezone_id="Asia/Shanghai", **SIZES[size]
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    failed, errors = [], []
    page.on("response", lambda r: r.status >= 500 and failed.append(f"{r.status} {r.url}"))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))

    page.goto("/accounts/login/")
    page.fill("input[name=login]", "ready@demo.wangrun.test")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("[data-testid=user-name]")).to_have_text("何可")

    page.goto("/margin/open/")
    expect(page.locator("h1")).to_have_text("开通融资")
    page.locator("[data-testid=accept-documents]").click()
    expect(page.locator("#terms")).to_contain_text("您已接受现行的服务条款")
    fits(page)
    screenshot(page, f"journey-{size}-1-open")
    page.locator("[data-testid=activate-form] button[type=submit]").click()
    expect(page).to_have_url(f"{demo_portal}/margin/")
    expect(page.locator("[data-testid=margin-contract]")).to_contain_text("7.80%")
    expect(page.locator("[data-testid=margin-connection]")).to_have_text("实时")
    fits(page)
    screenshot(page, f"journey-{size}-2-opened")

    # Tier 2 needs the gate on tier 2's figures: the refusal leads straight to the warning.
    page.select_option("[data-testid=tier-form] select", "2")
    page.locator("[data-testid=tier-form] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/education/warning/\?tier=2$"))
    button = page.locator("[data-testid=warning-next]")
    expect(button).to_be_disabled()
    page.locator("#warning-scroll").evaluate("box => box.scrollTo(0, box.scrollHeight)")
    expect(button).to_be_enabled(timeout=(READING_SECONDS + 10) * 1000)
    fits(page)
    screenshot(page, f"journey-{size}-3-warning")
    button.click()

    expect(page).to_have_url(re.compile(r"/education/warning/\w+/confirm/"))
    sentence = page.locator("[data-testid=sentence]").inner_text().strip()
    page.fill("textarea[name=typed]", sentence)
    page.fill("input[name=password]", DEMO_PASSWORD)
    fits(page)
    screenshot(page, f"journey-{size}-4-confirm")
    page.locator("[data-testid=confirm-submit]").click()
    expect(page).to_have_url(re.compile(r"/education/confirmations/\d+/"))
    expect(page.locator("[data-testid=confirmation-status]")).to_contain_text("有效")
    evidence_hash = page.locator("[data-testid=evidence-hash]").inner_text().strip()
    fits(page)
    screenshot(page, f"journey-{size}-5-confirmed")

    with page.expect_download() as download:
        page.locator("[data-testid=receipt]").click()
    text = "".join(
        p.extract_text() for p in PdfReader(io.BytesIO(download.value.path().read_bytes())).pages
    )
    assert "风险揭示确认回执" in text and "8.35%" in text
    assert evidence_hash in text.replace("\n", "")

    page.goto("/margin/")
    page.select_option("[data-testid=tier-form] select", "2")
    page.locator("[data-testid=tier-form] button[type=submit]").click()
    expect(page.locator(".messages")).to_contain_text("2")
    expect(page.locator("[data-testid=margin-contract]")).to_contain_text("8.35%")
    fits(page)
    screenshot(page, f"journey-{size}-6-tier-2")

    assert runner() is not None and runner().engine is not None, "the engine ran throughout"
    assert failed == [] and errors == []
    context.close()
