"""A client opens margin financing in the browser: refused with the reason and a link while the
gate is missing, then (gate passed, cool-off over) accepts the documents in force, chooses a tier
(tier 2 refused until its own warning is confirmed) and lands on the dashboard with the contract
and the tier form."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot
from tests.e2e.test_gate_journey import sign_in
from tests.education import factories as education
from tests.margin.factories import eligible_client

pytestmark = [pytest.mark.e2e, pytest.mark.journey]


def test_a_client_opens_financing_from_the_open_page(page, live_portal, settings):
    education.documents_in_force()
    education.course()
    user = eligible_client(email="open@example.test", full_name="林岚")
    sign_in(page, "open@example.test")

    page.goto("/margin/open/")
    expect(page.locator("h1")).to_have_text("开通融资")
    expect(page.locator("[data-testid=financing-tiers]")).to_contain_text("8.35%")
    page.locator("[data-testid=accept-documents]").click()
    expect(page.locator("#terms")).to_contain_text("您已接受现行的服务条款")
    page.locator("[data-testid=activate-form] button[type=submit]").click()
    refused = page.locator("[data-testid=financing-refused]")
    expect(refused).to_be_visible()
    expect(refused.locator("a")).to_have_attribute("href", "/education/")
    screenshot(page, "margin-open-refused")

    settings.EDUCATION_COOL_OFF_HOURS = 0
    education.through_gate(user)
    page.goto("/margin/open/")
    # The gate was confirmed on tier 1's figures: tier 2 needs its own warning.
    page.select_option("select[name=leverage_tier]", "2")
    page.locator("[data-testid=activate-form] button[type=submit]").click()
    expect(refused.locator("a")).to_have_attribute("href", "/education/warning/?tier=2")
    page.select_option("select[name=leverage_tier]", "1")
    page.locator("[data-testid=activate-form] button[type=submit]").click()
    expect(page).to_have_url(f"{live_portal}/margin/")
    expect(page.locator("[data-testid=margin-contract]")).to_contain_text("7.80%")
    screenshot(page, "margin-open-activated")
