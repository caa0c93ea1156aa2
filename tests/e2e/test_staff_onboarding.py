"""A new staff member on a desktop browser: the invitation email, the password set once, the
authenticator app at once (no second password prompt), then the back office. On the sign-in
code step, "Cancel" is a secondary button, not the primary one."""

import re
import time

import pytest
from playwright.sync_api import expect

from tests.e2e.test_account_journey import submit, totp_code
from tests.e2e.test_staff_backoffice import SCREENS

pytestmark = [pytest.mark.e2e]
EMAIL = "grace.newhire@example.test"
PASSWORD = "Grace-chooses-2026-pass"


def invitation_path(address: str) -> str:
    from django.core import mail

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for message in reversed(list(mail.outbox)):
            if address in message.to:
                assert "旺润后台" in message.subject and "风控专员" in message.subject
                return re.search(
                    r"https?://[^/\s]+(/account/staff/invitation/\S+?/)", message.body
                )[1]
        time.sleep(0.1)
    raise AssertionError("no invitation was sent")


def shot(page, name: str) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)


def test_a_new_risk_officer_accepts_the_invitation_and_reaches_the_back_office(
    browser, live_portal
):
    from django.apps import apps

    from accounts.roles import sync_roles
    from accounts.staff import staff_create

    sync_roles(apps)
    staff_create(email=EMAIL, role="risk_officer", full_name="郭晴", actor="create_staff")
    context = browser.new_context(
        base_url=live_portal,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        viewport={"width": 1366, "height": 900},
    )
    context.set_default_timeout(20_000)
    page = context.new_page()

    page.goto(invitation_path(EMAIL))
    expect(page).to_have_url(re.compile(r"/account/staff/password/$"))  # the token left the URL
    expect(page.locator("h1")).to_have_text("欢迎加入旺润后台")
    assert page.locator("input[type=password]").count() == 1
    shot(page, "staff-onboarding-1-password")
    page.fill("input[name=password]", PASSWORD)
    page.locator("[data-testid=staff-set-password] button[type=submit]").click()

    # Straight to the authenticator app: no "enter your password again" in between.
    expect(page).to_have_url(re.compile(r"/accounts/2fa/totp/activate/"))
    secret = page.locator("#authenticator_secret").input_value()
    shot(page, "staff-onboarding-2-totp")
    page.fill("input[name=code]", totp_code(secret))
    submit(page)
    expect(page).not_to_have_url(re.compile(r"/totp/activate/"))
    page.goto("/admin/")
    expect(page.locator("[data-testid=dashboard]")).to_be_visible()
    shot(page, "staff-onboarding-3-dashboard")

    # Next sign-in: on the code step, Cancel is secondary.
    page.locator("form[action$='/logout/'] button").first.click()
    page.goto("/accounts/login/")
    page.fill("input[name=login]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    submit(page)
    expect(page.locator("input[name=code]")).to_be_visible()
    cancel = page.locator("main button[form=logout-from-stage]")
    primary = page.locator("main form button[type=submit]:not([form])").first
    cancel_bg = cancel.evaluate("b => getComputedStyle(b).backgroundColor")
    primary_bg = primary.evaluate("b => getComputedStyle(b).backgroundColor")
    assert cancel_bg != primary_bg and cancel_bg in ("rgb(255, 255, 255)", "rgba(0, 0, 0, 0)")
    shot(page, "staff-onboarding-4-code-step")
    page.fill("input[name=code]", totp_code(secret, 1))
    submit(page)
    page.goto("/admin/")
    expect(page.locator("[data-testid=dashboard]")).to_be_visible()
    context.close()
