"""A newcomer's first visit, in the browser: sign up, verify, protect the account, come back."""

import re
import threading
import time

import pytest
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot
from tests.factories import PASSWORD

pytestmark = [pytest.mark.e2e]
EMAIL = "newcomer@example.test"


def totp_code(secret: str, step: int = 0) -> str:
    counter = int(time.time()) // mfa_settings.TOTP_PERIOD + step
    return format_hotp_value(hotp_value(secret, counter))


def verification_link_from_mailbox(address: str) -> str:
    """The link as the client receives it: from the email sent (the live server runs in this
    process, so Django's locmem mailbox). The stored outbox row withholds it (notices.sealing)."""
    from django.core import mail

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for message in reversed(list(mail.outbox)):
            if address in message.to:
                match = re.search(r"https?://\S+/accounts/confirm-email/\S+?/", message.body)
                if match:
                    return match.group(0)
        time.sleep(0.1)
    raise AssertionError("no verification email was sent")


def submit(page):
    """Click the page's own submit button (allauth's stage pages also carry a Cancel form)."""
    page.locator("main form button[type=submit]:not([form])").first.click()


def test_sign_up_verify_set_up_totp_and_sign_in_with_a_code(page):
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    screenshot(page, "01-home-zh")

    page.goto("/accounts/signup/")
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    submit(page)
    expect(page).to_have_url(re.compile(r"/accounts/confirm-email/$"))

    page.goto(verification_link_from_mailbox(EMAIL))
    screenshot(page, "02-confirm-email")
    submit(page)

    page.goto("/accounts/login/")
    page.fill("input[name=login]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    submit(page)
    expect(page.locator("[data-testid=user-name]")).to_be_visible()

    page.goto("/accounts/2fa/totp/activate/")
    # Changing how the account is protected asks for the password again, even just after login.
    expect(page).to_have_url(re.compile(r"/accounts/reauthenticate/"))
    page.fill("input[name=password]", PASSWORD)
    submit(page)
    expect(page).to_have_url(re.compile(r"/accounts/2fa/totp/activate/"))
    secret = page.locator("#authenticator_secret").input_value()
    assert re.fullmatch(r"[A-Z2-7]{16,}", secret)
    page.fill("input[name=code]", totp_code(secret))
    screenshot(page, "03-totp-activate")
    submit(page)
    expect(page).not_to_have_url(re.compile(r"/totp/activate/"))

    page.locator("header form[action$='/accounts/logout/'] button").click()
    expect(page.locator("[data-testid=user-name]")).to_have_count(0)

    page.goto("/accounts/login/")
    page.fill("input[name=login]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    submit(page)
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
    page.fill("input[name=code]", "000000" if totp_code(secret, 1) != "000000" else "111111")
    submit(page)
    expect(page.locator(".errorlist, .error, [role=alert]").first).to_be_visible()
    screenshot(page, "04-wrong-code")
    # The activation used this window's code; the next window's is accepted (tolerance 1).
    page.fill("input[name=code]", totp_code(secret, 1))
    submit(page)
    expect(page.locator("[data-testid=user-name]")).to_be_visible()
    assert page.console_errors == []


def test_switching_language_changes_the_page_and_sticks(page):
    page.goto("/")
    expect(page.locator("h1")).to_contain_text("看得清")
    page.locator("[data-testid=lang-en]").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_contain_text("Margin financing you can see through")
    page.goto("/accounts/login/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    screenshot(page, "05-login-en")
    page.locator("[data-testid=lang-zh-hans]").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")


def send_in_own_thread(**kwargs):
    from django.db import connection

    from notices.services import enqueue

    try:
        enqueue(**kwargs)
    finally:
        connection.close()


@pytest.mark.services
def test_an_in_app_notice_arrives_live_without_reloading(page, client_alice):
    page.goto("/accounts/login/")
    page.fill("input[name=login]", client_alice.email)
    page.fill("input[name=password]", PASSWORD)
    submit(page)
    bell = page.locator("#notice-unread")
    expect(bell).to_have_attribute("data-count", "0")
    # Give the socket a moment to join its group, then send from "elsewhere" (this test's thread).
    expect(page.locator("#notice-bell")).to_have_attribute("data-live", "connected")
    # Playwright's sync API owns this thread's event loop, so the sender runs in its own thread,
    # as a Celery worker would.
    sender = threading.Thread(
        target=send_in_own_thread,
        kwargs={
            "recipient": client_alice,
            "key": "announcement",
            "context": {"title": "系统维护通知", "body": "周六 22:00 至 23:00 系统维护。"},
            "idempotency_key": "e2e-live-notice",
            "channels": ["inapp"],
        },
    )
    sender.start()
    sender.join(timeout=30)
    expect(bell).to_have_attribute("data-count", "1")
    expect(page.locator("#toast-region")).to_contain_text("系统维护")
    expect(page.locator("main [data-unread-count]")).to_have_text("1")
    screenshot(page, "06-live-notice")
