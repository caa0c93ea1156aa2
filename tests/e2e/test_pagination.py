"""A client with many tickets pages through them on a phone, with the page's scripts off."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.a11y import PHONE, problems
from tests.e2e.test_support_journey import sign_in
from tests.portal.test_pagination import tickets_for

pytestmark = [pytest.mark.e2e]


def phone(browser, live_portal, *, scripts: bool):
    context = browser.new_context(
        base_url=live_portal,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        viewport=PHONE,
        java_script_enabled=scripts,
    )
    context.set_default_timeout(15_000)
    return context


def test_alice_pages_through_her_tickets_on_a_phone_without_javascript(
    browser, live_portal, client_alice
):
    tickets_for(client_alice, 45, label="工单")
    context = phone(browser, live_portal, scripts=False)
    page = context.new_page()
    try:
        sign_in(page, client_alice.email)
        page.goto("/support/")
        pages = page.get_by_role("navigation", name="工单的分页")
        expect(pages).to_contain_text("第 1 页，共 3 页")
        expect(page.locator("main")).to_contain_text("工单 044")
        pages.get_by_role("link", name="最后一页").click()
        expect(pages).to_contain_text("第 3 页，共 3 页")
        expect(page.locator("main")).to_contain_text("工单 000")
        expect(pages.get_by_role("link", name="下一页")).to_have_count(0)
        pages.get_by_role("link", name="上一页").click()
        expect(page).to_have_url(re.compile(r"/support/\?page=2$"))
        expect(pages).to_contain_text("第 2 页，共 3 页")
        expect(page.locator("main")).to_contain_text("工单 024")
    finally:
        context.close()


def test_the_page_links_pass_axe_and_fit_a_phone(browser, live_portal, client_alice):
    tickets_for(client_alice, 45, label="工单")
    context = phone(browser, live_portal, scripts=True)
    page = context.new_page()
    try:
        sign_in(page, client_alice.email)
        page.goto("/support/?page=2")
        expect(page.get_by_role("navigation", name="工单的分页")).to_be_visible()
        assert problems(page) == []
    finally:
        context.close()
