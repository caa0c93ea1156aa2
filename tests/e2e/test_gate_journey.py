"""A client goes through the gate in the browser: the course (failing the quiz once), the risk
warning (the next button stays disabled until the end and the minimum time), the confirmation with
the typed sentence and password, then downloads the PDF receipt and finds their own lines and rate
in Chinese in it."""

import io
import re
import time

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from tests.e2e.conftest import screenshot
from tests.education import factories
from tests.factories import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.journey]

MIN_SECONDS = 4


def sign_in(page, email: str) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("[data-testid=user-name]")).to_be_visible()


def answer(page, correct: dict[int, int], wrong: set[int]) -> None:
    for qid, right in correct.items():
        choice = right if qid not in wrong else (right + 1) % 2
        page.locator(f"input[name=q{qid}][value='{choice}']").check()
    page.locator("[data-testid=quiz-submit]").click()


def test_a_client_learns_reads_confirms_and_downloads_the_receipt(page, live_portal):
    factories.documents_in_force(min_seconds=MIN_SECONDS)
    version = factories.course()
    factories.client("C4", email="lin@example.test", full_name="林岚")
    sign_in(page, "lin@example.test")

    page.goto("/education/")
    expect(page.locator("h1")).to_have_text("学习与确认")
    page.locator("a", has_text="融资业务基础知识").click()
    page.locator("[data-testid=start-course]").click()
    expect(page.locator("article.lesson h1")).to_have_text("一、什么是融资")
    for _ in range(version.lessons.count()):
        page.locator("[data-testid=lesson-next]").click()
    screenshot(page, "education-quiz")

    correct = {q.pk: q.correct for q in version.questions.all()}
    first_three = set(list(correct)[:3])
    answer(page, correct, first_three)
    expect(page.locator("[data-testid=quiz-outcome]")).to_contain_text("及格线为 75%")
    expect(page.locator("li.wrong")).to_have_count(3)
    expect(page.locator("li.wrong").first).to_contain_text("总资产（现金加持仓市值）")
    screenshot(page, "education-quiz-failed")
    page.locator("[data-testid=retry]").click()
    answer(page, correct, set())
    expect(page.locator("[data-testid=quiz-outcome]")).to_contain_text("已通过")
    page.locator("[data-testid=to-warning]").click()

    # Without reaching the end, the button stays disabled even after the minimum time.
    button = page.locator("[data-testid=warning-next]")
    expect(button).to_be_disabled()
    expect(page.locator("[data-testid=call-line]")).to_contain_text("130%")
    expect(page.locator("[data-testid=rate]")).to_have_text("7.8%")
    time.sleep(MIN_SECONDS + 0.5)
    expect(button).to_be_disabled()
    expect(page.locator("#warning-wait")).to_contain_text("滚动")
    screenshot(page, "education-warning")

    # A fresh reading: the end is reached at once, and the time still holds the button.
    page.reload()
    page.locator("#warning-scroll").evaluate("box => box.scrollTo(0, box.scrollHeight)")
    expect(page.locator("#warning-wait")).to_contain_text("秒后可进入下一步")
    expect(button).to_be_disabled()
    expect(button).to_be_enabled(timeout=(MIN_SECONDS + 5) * 1000)
    button.click()

    expect(page).to_have_url(re.compile(r"/education/warning/\w+/confirm/"))
    sentence = page.locator("[data-testid=sentence]").inner_text().strip()
    # Typed with spaces and a half-width comma: still the same sentence.
    page.fill("textarea[name=typed]", sentence.replace("，", ", ", 1))
    page.fill("input[name=password]", "wrong-password")
    page.locator("[data-testid=confirm-submit]").click()
    expect(page.locator(".errorlist")).to_contain_text("登录密码或动态验证码不正确")
    page.fill("textarea[name=typed]", sentence)
    page.fill("input[name=password]", PASSWORD)
    page.locator("[data-testid=confirm-submit]").click()
    expect(page).to_have_url(re.compile(r"/education/confirmations/\d+/"))
    expect(page.locator("[data-testid=confirmation-status]")).to_contain_text("有效")
    evidence_hash = page.locator("[data-testid=evidence-hash]").inner_text().strip()
    screenshot(page, "education-confirmation")

    with page.expect_download() as download_info:
        page.locator("[data-testid=receipt]").click()
    data = download_info.value.path().read_bytes()
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    assert "风险揭示确认回执" in text
    assert "追保线" in text and "130%" in text and "平仓线" in text and "120%" in text
    assert "融资年利率" in text and "7.8%" in text
    assert evidence_hash in text.replace("\n", "")

    page.goto("/education/verify/")
    page.set_input_files("input[name=receipt]", download_info.value.path())
    page.locator("[data-testid=verify-submit]").click()
    expect(page.locator("[data-testid=verify-result]")).to_contain_text("验证通过")
    screenshot(page, "education-verified")
    assert page.console_errors == []
