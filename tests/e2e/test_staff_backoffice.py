"""Each staff role does its main job in the Chinese back office, in the browser: signs in with
its second factor, lands on its dashboard, finds a client and opens the client overview, and
works its queue. The daily pages have no axe-core critical or serious violation.

Screenshots of each role's dashboard land in var/screens/i20/.
"""

import json
import re
from pathlib import Path

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from playwright.sync_api import expect

from accounts.models import User
from tests.e2e.test_account_journey import totp_code

pytestmark = [pytest.mark.e2e]

SCREENS = Path(__file__).resolve().parents[2] / "var" / "screens" / "i20"
AXE = Path(__file__).resolve().parents[1] / "assets" / "axe.min.js"
DEMO_PASSWORD = "Wangrun-demo-2026"


@pytest.fixture
def demo(live_portal):
    from django.apps import apps

    from accounts.roles import sync_roles
    from tests.e2e.conftest import seed_demo

    sync_roles(apps)
    seed_demo()
    return live_portal


def shot(page, name: str) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)


def staff_page(browser, base_url: str, email: str):
    """A signed-in staff browser (zh-CN), past the TOTP step."""
    user = User.objects.get(email=email)
    Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).delete()
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    # The axe script is injected by the test, which the portal's CSP would rightly refuse.
    context = browser.new_context(
        base_url=base_url, locale="zh-CN", timezone_id="Asia/Shanghai", bypass_csp=True
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto("/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.fill("input[name=code]", totp_code(secret))
    page.locator("main form button[type=submit]:not([form])").click()
    expect(page.locator("[data-testid=user-name]")).to_be_visible()
    return page


def serious_violations(page) -> list[str]:
    page.evaluate(AXE.read_text())
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".filter(v => v.impact === 'critical' || v.impact === 'serious')"
        ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(' | '))"
    )
    return [f"{page.url} {item}" for item in result]


def dashboard(page, role: str) -> list[str]:
    page.goto("/admin/")
    expect(page.locator("[data-testid=dashboard]")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    shot(page, f"{role}-dashboard")
    return serious_violations(page)


def find(page, query: str) -> None:
    page.fill("#client-finder-q", query)
    page.locator(".client-finder button[type=submit]").click()
    expect(page.locator("[data-testid=client-overview]")).to_be_visible()


def test_an_agent_finds_a_caller_by_phone_and_answers_from_the_overview(browser, demo):
    page = staff_page(browser, demo, "carol@demo.wangrun.test")
    problems = dashboard(page, "agent")
    expect(page.locator("[data-testid=panel-support]")).to_contain_text("各客服未结工单数")
    bob = User.objects.get(email="bob@demo.wangrun.test")
    find(page, f"+86 {bob.phone[:3]}-{bob.phone[3:7]}-{bob.phone[7:]}")
    expect(page.locator("[data-testid=client-part-tickets]")).to_be_visible()
    expect(page.locator("[data-testid=client-part-notices]")).to_have_count(0)
    shot(page, "agent-client-overview")
    problems += serious_violations(page)
    page.locator("[data-testid=client-part-tickets] tbody a").first.click()
    expect(page).to_have_url(re.compile(r"/admin/support/ticket/\d+/change/"))
    expect(page.locator("[data-testid=client-overview-link]")).to_have_text("客户全景")
    problems += serious_violations(page)
    assert not problems, "\n".join(problems)


def test_a_reviewer_opens_the_queue_of_what_needs_a_decision_and_reads_the_checks(browser, demo):
    page = staff_page(browser, demo, "dave@demo.wangrun.test")
    problems = dashboard(page, "kyc_reviewer")
    page.locator("[data-testid=panel-kyc] a").first.click()
    expect(page.locator("#result_list")).to_contain_text("待审核")
    page.locator("#result_list tbody tr a").first.click()
    checks = page.locator(".kyc-checks")
    expect(checks).to_contain_text("身份证号码")
    expect(checks).not_to_contain_text("checksum")
    shot(page, "kyc_reviewer-case")
    problems += serious_violations(page)
    assert not problems, "\n".join(problems)


def test_a_risk_officer_reads_levels_runs_the_stress_page_and_opens_a_client(browser, demo):
    page = staff_page(browser, demo, "erin@demo.wangrun.test")
    problems = dashboard(page, "risk_officer")
    expect(page.locator("[data-testid=panel-risk]")).to_contain_text("各保证金级别账户数")
    page.locator("[data-testid=panel-risk] a.button", has_text="压力测试").click()
    expect(page.locator("#content")).to_contain_text("市场下跌 10%")
    expect(page.locator("#content")).not_to_contain_text("market-10")
    problems += serious_violations(page)
    find(page, "孙悦")
    expect(page.locator("[data-testid=client-part-plans]")).to_be_visible()
    expect(page.locator("[data-testid=client-margin]")).to_contain_text("%")
    shot(page, "risk_officer-client-overview")
    problems += serious_violations(page)
    assert not problems, "\n".join(problems)


def test_compliance_reads_acknowledgements_and_the_audit_trail_in_chinese(browser, demo):
    page = staff_page(browser, demo, "frank@demo.wangrun.test")
    problems = dashboard(page, "compliance")
    expect(page.locator("[data-testid=panel-compliance]")).to_contain_text("确认率")
    page.goto("/admin/audit/auditentry/")
    expect(page.locator("#result_list")).not_to_contain_text("kyc.document_uploaded")
    problems += serious_violations(page)
    find(page, "林岚")
    expect(page.locator("[data-testid=client-part-audit]")).to_be_visible()
    problems += serious_violations(page)
    assert not problems, "\n".join(json.dumps(p, ensure_ascii=False) for p in problems)


def test_one_risk_officer_approves_a_liquidation_plan_and_another_executes_it(browser, demo):
    from margin.models import LiquidationPlan

    plan = LiquidationPlan.objects.get(
        status="proposed", account__client__email="liquidation@margin-demo.wangrun.test"
    )
    erin = staff_page(browser, demo, "erin@demo.wangrun.test")
    erin.goto("/admin/margin/liquidationplan/")
    erin.locator("#result_list a", has_text="审核").first.click()
    erin.get_by_label("批准（由另一位风控人员确认执行）").check()
    erin.get_by_label("理由（必填）").fill("追保期限已过，客户未补足保证金。")
    erin.locator("input[type=submit]").click()
    expect(erin.locator(".messagelist")).to_contain_text("须由另一位风控人员确认执行")
    expect(erin.locator("#result_list")).to_contain_text("已批准，待执行")
    erin.goto(f"/admin/margin/liquidationplan/{plan.pk}/execute/")
    expect(erin.locator(".errornote")).to_contain_text("四眼原则")
    erin.get_by_label("我已核对上述卖出及各项数字，确认立即执行。").check()
    erin.locator("input[type=submit]").click()
    expect(erin.locator(".errornote")).to_contain_text("四眼原则")
    plan.refresh_from_db()
    assert plan.status == "approved" and plan.execution_confirmed_at is None

    jack = staff_page(browser, demo, "jack@demo.wangrun.test")
    jack.goto("/admin/margin/liquidationplan/")
    jack.locator("#result_list a", has_text="确认执行").first.click()
    expect(jack.locator("[data-testid=plan-approval]")).to_contain_text("追保期限已过")
    expect(jack.locator("[data-testid=plan-figures]")).to_contain_text("现价")
    problems = serious_violations(jack)
    shot(jack, "risk_officer-plan-execution")
    jack.get_by_label("我已核对上述卖出及各项数字，确认立即执行。").check()
    jack.locator("input[type=submit]").click()
    expect(jack.locator(".messagelist")).to_contain_text("已确认执行")
    plan.refresh_from_db()
    assert plan.execution_confirmed_by.email == "jack@demo.wangrun.test"
    assert not problems, "\n".join(problems)
