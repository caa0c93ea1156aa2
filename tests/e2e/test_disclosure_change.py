"""A fee increase end to end: frank drafts it, grace approves it, the scheduler refuses 10 days'
notice and accepts 30; alice sees the banner, reads the diff and accepts; after the effective
time the calculator charges the new rate."""

import re
import time
from datetime import timedelta

import pytest
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.utils import timezone
from playwright.sync_api import expect

from tests.disclosures import factories
from tests.e2e.conftest import screenshot
from tests.factories import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.journey]


def totp_code() -> str:
    counter = int(time.time()) // mfa_settings.TOTP_PERIOD
    return format_hotp_value(hotp_value(factories.STAFF_SECRET, counter))


def sign_in(page, email: str, staff: bool = False) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    if staff:
        expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
        page.fill("input[name=code]", totp_code())
        page.locator("main form button[type=submit]:not([form])").click()
    expect(page.locator("[data-testid=user-name]")).to_be_visible()


def local(dt) -> str:
    return timezone.localtime(dt).strftime("%Y-%m-%dT%H:%M")


def test_a_fee_increase_from_draft_to_the_calculator(browser, live_portal, client_alice):
    from disclosures import services
    from disclosures.models import DocumentVersion

    fees_v1 = factories.in_force()
    factories.staff(email="frank@example.test", full_name="方正")
    factories.staff(email="grace@example.test", full_name="葛蕾")

    def new_page():
        context = browser.new_context(
            base_url=live_portal, locale="zh-CN", timezone_id="Asia/Shanghai"
        )
        context.set_default_timeout(15_000)
        page = context.new_page()
        errors: list[str] = []

        def on_console(msg) -> None:
            if msg.type == "error":
                errors.append(msg.text)

        page.on("console", on_console)
        return page, errors

    # frank drafts the increase and submits it.
    frank, frank_errors = new_page()
    sign_in(frank, "frank@example.test", staff=True)
    frank.goto(f"/admin/disclosures/document/{fees_v1.document.pk}/change/")
    frank.locator("[data-testid=new-draft]").click()
    expect(frank).to_have_url(re.compile(r"/admin/disclosures/documentversion/\d+/change/"))
    version_url = frank.url
    frank.fill("textarea[name=summary_zh]", "二档融资年利率由8.35%上调至8.60%。")
    frank.fill("textarea[name=summary_en]", "The tier 2 financing rate rises from 8.35% to 8.60%.")
    row = frank.locator("tr.form-row", has=frank.locator("input[value=financing_rate_tier2]"))
    row.locator("input[name$='-value']").fill("0.086000")
    frank.locator("input[name=_continue]").click()
    expect(frank.locator(".messagelist")).to_be_visible()
    frank.locator("[data-testid=submit-review]").click()
    expect(frank.locator(".messagelist")).to_contain_text(re.compile("复核|review"))
    # frank cannot approve his own change: the button is there for the role, the rule refuses.
    frank.locator("[data-testid=approve]").click()
    expect(frank.locator(".messagelist .error")).to_be_visible()
    screenshot(frank, "disclosures-01-maker-refused")

    # grace approves it and schedules it.
    grace, grace_errors = new_page()
    sign_in(grace, "grace@example.test", staff=True)
    grace.goto(version_url)
    grace.locator("[data-testid=approve]").click()
    grace.locator("[data-testid=schedule]").click()
    expect(grace.locator("[data-testid=notice-decision]")).to_contain_text("30")
    grace.fill("input[name=effective_at]", local(timezone.now() + timedelta(days=10)))
    grace.locator("[data-testid=schedule-form] input[type=submit]").click()
    expect(grace.locator("[data-testid=schedule-error]")).to_contain_text("30")
    screenshot(grace, "disclosures-02-schedule-refused")
    effective = timezone.now() + timedelta(days=30, hours=1)
    grace.fill("input[name=effective_at]", local(effective))
    grace.locator("[data-testid=schedule-form] input[type=submit]").click()
    expect(grace.locator(".messagelist .success")).to_be_visible()
    version = DocumentVersion.objects.get(document=fees_v1.document, number=2)
    assert version.status == "scheduled"

    # alice sees the banner, reads the diff, accepts.
    alice, alice_errors = new_page()
    sign_in(alice, client_alice.email)
    banner = alice.locator("[data-testid=change-banner]")
    expect(banner).to_be_visible()
    screenshot(alice, "disclosures-03-banner")
    banner.locator("a").first.click()
    expect(alice.locator("[data-testid=item-diff]")).to_contain_text("8.60%")
    expect(alice.locator("[data-testid=diff]")).to_be_visible()
    screenshot(alice, "disclosures-04-diff")
    alice.locator("[data-testid=accept]").click()
    expect(alice.locator("[data-testid=decision]")).to_be_visible()
    expect(alice.locator("[data-testid=change-banner]")).to_have_count(0)
    ack = version.acknowledgements.get(client=client_alice)
    assert ack.decision == "accepted" and "Chrom" in ack.user_agent

    # Before the effective time the calculator charges 8.35%, after it 8.60%: 30 days of
    # 23.19, then 30 days of 23.89, as the daily accrual charges them.
    alice.goto("/disclosures/fees/?amount=100000&days=30&tier=2")
    expect(alice.locator("[data-testid=calc-interest]")).to_contain_text("695.70")
    services.versions_switch_due(now=effective)
    alice.goto("/disclosures/fees/")
    alice.fill("input[name=amount]", "100000")
    alice.fill("input[name=days]", "30")
    alice.select_option("select[name=tier]", "2")
    alice.locator("form.calc-form button[type=submit]").click()
    expect(alice.locator("[data-testid=calc-interest]")).to_contain_text("716.70")
    screenshot(alice, "disclosures-05-calculator")
    assert (frank_errors, grace_errors, alice_errors) == ([], [], [])


def test_the_fee_page_and_calculator_work_without_javascript(browser, live_portal):
    factories.in_force()
    context = browser.new_context(base_url=live_portal, java_script_enabled=False, locale="en-US")
    page = context.new_page()
    page.goto("/disclosures/fees/")
    page.fill("input[name=amount]", "50000")
    page.fill("input[name=days]", "10")
    page.select_option("select[name=tier]", "1")
    page.locator("form.calc-form button[type=submit]").click()
    # One day: 50,000 × 7.80% ÷ 360 = 10.83; ten days 108.30
    expect(page.locator("[data-testid=calc-interest]")).to_contain_text("108.30")
    screenshot(page, "disclosures-06-no-js")
    context.close()
