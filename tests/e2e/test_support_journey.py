"""A client's complaint in the browser: she opens it and sees the promise, an agent answers in
admin, she sees the reply without reloading, the ticket is resolved and she rates the service."""

import re

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot
from tests.e2e.test_account_journey import totp_code
from tests.factories import PASSWORD
from tests.support.conftest import roles_and_policies  # noqa: F401 (a fixture, used below)

pytestmark = [pytest.mark.e2e, pytest.mark.journey, pytest.mark.usefixtures("roles_and_policies")]


def sign_in(page, email: str) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()


def test_a_client_complains_an_agent_answers_in_admin_and_the_client_rates_it(
    page, browser, live_portal, client_alice, compliance_frank
):
    sign_in(page, client_alice.email)
    expect(page.locator("[data-testid=user-name]")).to_be_visible()
    page.goto("/support/")
    page.locator("[data-testid=open-ticket]").click()
    page.select_option("#id_type", "complaint")
    expect(page.locator("[data-testid=complaint-process]").first).to_be_visible()
    page.fill("#id_subject", "强制平仓通知太晚")
    page.fill("#id_body", "11月20日的强制平仓，我在收盘后才收到短信通知。")
    screenshot(page, "support-01-new-complaint")
    page.locator("[data-testid=submit-ticket]").click()
    expect(page).to_have_url(re.compile(r"/support/\d+/$"))
    promise = page.locator("[data-testid=promise-first_response]")
    expect(promise).to_contain_text(re.compile("最晚首次回复时间|首次回复"))
    expect(page.locator("[data-testid=complaint-process]")).to_contain_text("12386")
    screenshot(page, "support-02-promise")
    ticket_url = page.url

    # The compliance officer answers from Django admin, signed in with a TOTP code.
    secret = generate_totp_secret()
    TOTP.activate(compliance_frank, secret)
    staff = browser.new_context(base_url=live_portal, locale="zh-CN", timezone_id="Asia/Shanghai")
    agent = staff.new_page()
    agent_errors: list[str] = []
    agent.on("console", lambda msg: msg.type == "error" and agent_errors.append(msg.text))
    sign_in(agent, compliance_frank.email)
    agent.fill("input[name=code]", totp_code(secret))
    agent.locator("main form button[type=submit]:not([form])").click()
    expect(agent.locator("[data-testid=user-name]")).to_be_visible()
    agent.goto("/admin/support/ticket/")
    expect(agent.locator(".sla-countdown").first).to_have_class(
        re.compile("sla-ok|sla-75|sla-90|sla-breached")
    )
    screenshot(agent, "support-03-admin-queue")
    agent.locator("#result_list a", has_text="强制平仓通知太晚").first.click()
    agent.fill("#id_body", "您好，我们已受理您的投诉，合规部正在核查短信发送记录。")
    screenshot(agent, "support-04-admin-ticket")
    agent.locator("[data-testid=admin-public-reply]").click()
    expect(agent.locator(".messagelist")).to_be_visible()

    # The client's page polls: the reply appears without a reload.
    expect(page.locator("[data-testid=message-public]")).to_contain_text(
        "合规部正在核查", timeout=25_000
    )
    screenshot(page, "support-05-reply-live")

    agent.locator("button[name=action][value=resolve]").click()
    agent.locator("[data-testid=confirm-button]").click()
    expect(agent.locator(".messagelist")).to_be_visible()
    assert agent_errors == []
    staff.close()

    # Signed in, the client rates on the ticket page itself (the survey link is not stored
    # anywhere staff could read it).
    page.goto(ticket_url)
    offer = page.locator("[data-testid=survey-offer]")
    offer.locator("input[name=rating][value='5']").check()
    screenshot(page, "support-06-survey")
    offer.locator("[data-testid=rate-service]").click()
    expect(page.locator("[data-testid=survey-thanks]")).to_be_visible()
    page.goto(ticket_url)
    expect(page.locator("[data-testid=ticket-status]")).to_have_text("已解决")
    assert page.console_errors == []


def test_the_public_sla_page_needs_no_login_and_reads_in_english(page, client_bob):
    page.goto("/support/sla/")
    expect(page.locator("[data-testid=sla-stats-30]")).to_be_visible()
    expect(page.locator("[data-testid=complaint-process]")).to_contain_text("12386")
    screenshot(page, "support-07-sla-zh")
    page.locator("[data-testid=lang-en]").click()
    expect(page.locator("h1")).to_have_text("Service promises and results")
    screenshot(page, "support-08-sla-en")
    sign_in(page, client_bob.email)
    page.goto("/support/new/")
    expect(page.locator("[data-testid=complaint-process]")).to_be_hidden()
    page.select_option("#id_type", "dispute")
    expect(page.locator("[data-testid=complaint-process]")).to_be_visible()
    screenshot(page, "support-09-new-en")
    assert page.console_errors == []


def test_a_client_abroad_also_sees_the_promise_in_their_own_time_zone(
    browser, live_portal, client_bob
):
    from tests.support.factories import open_ticket

    ticket = open_ticket(client_bob, subject="Statement for October")
    context = browser.new_context(base_url=live_portal, locale="en-GB", timezone_id="Europe/London")
    page = context.new_page()
    sign_in(page, client_bob.email)
    page.goto(f"/support/{ticket.pk}/")
    promise = page.locator("[data-testid=promise-first_response]")
    expect(promise).to_contain_text("First reply by")  # bob reads English
    # Beijing time as promised, and the same moment restated in London time.
    expect(promise.locator(".support-local-time")).to_contain_text(re.compile(r"GMT|UTC"))
    screenshot(page, "support-10-london")
    context.close()
