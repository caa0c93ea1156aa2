"""Onboarding in the browser: a client completes the wizard, a reviewer decides in admin."""

import re

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from playwright.sync_api import expect

from accounts.models import KycCase
from tests.accounts.factories import HIGH_ANSWERS, image_bytes, resident_id
from tests.e2e.conftest import screenshot
from tests.e2e.test_account_journey import totp_code
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.journey]


@pytest.fixture(autouse=True)
def _track_404s(page):
    page.failed_urls = []
    page.on("response", lambda r: r.status >= 400 and page.failed_urls.append(r.url))
    page.on(
        "console",
        lambda m: m.type == "error" and page.failed_urls.append(str(m.location) + page.url),
    )


def real_errors(page):
    return list(page.failed_urls)


def sign_in(page, email):
    page.goto("/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").first.click()


def sign_out(page):
    if "/admin/" in page.url:
        page.goto("/")
    page.locator("header form[action$='/accounts/logout/'] button").click()


def files(kinds):
    return {
        k: {"name": f"{k}.jpg", "mimeType": "image/jpeg", "buffer": image_bytes()} for k in kinds
    }


def complete_wizard(page, *, name, number, shots=""):
    page.goto("/onboarding/")
    expect(page.locator("[data-testid=step-consents]")).to_be_visible()
    expect(page.locator(".steps .step")).to_have_count(5)
    page.check("input[name=identity]")
    page.check("input[name=face]")
    page.check("input[name=sensitive]")
    if shots:
        screenshot(page, f"{shots}-1-consents")
    page.locator("main form button[type=submit]").click()

    page.fill("input[name=legal_name]", name)
    page.fill("input[name=id_number]", number)
    page.fill("input[name=address]", "上海市浦东新区世纪大道 100 号")
    page.select_option("select[name=occupation]", "employee")
    page.select_option("select[name=income_band]", "300k-1m")
    page.select_option("select[name=source_of_funds]", "salary")
    page.fill("input[name=experience_months]", "24")
    page.check("input[name=experience_products][value=stocks]")
    page.check("input[name=related_party][value=no]")
    page.locator("main form button[type=submit]").click()
    expect(page.locator("[data-testid=derived]")).to_contain_text("1985-06-12")
    if shots:
        screenshot(page, f"{shots}-2-personal-confirm")
    page.locator("[data-testid=confirm]").click()

    # Progress survives logout: sign out half-way and come back to the documents step.
    expect(page.locator("[data-testid=step-documents]")).to_be_visible()
    email = page.locator("[data-testid=user-name]").inner_text()
    sign_out(page)
    return email


def finish_wizard(page, email, *, shots=""):
    sign_in(page, email)
    page.goto("/onboarding/")
    expect(page.locator("[data-testid=step-documents]")).to_be_visible()
    for kind, payload in files(["id_front", "id_back", "selfie"]).items():
        page.set_input_files(f"input[name={kind}]", payload)
    page.locator("main form button[type=submit]").click()

    expect(page.locator("[data-testid=step-suitability]")).to_be_visible()
    for key, value in HIGH_ANSWERS.items():
        page.check(f"input[name={key}][value={value}]")
    page.locator("main form button[type=submit]").last.click()
    expect(page.locator("[data-testid=rating]")).to_contain_text("C5")
    if shots:
        screenshot(page, f"{shots}-3-rating")
    page.locator("[data-testid=continue]").click()

    expect(page.locator("[data-testid=step-review]")).to_be_visible()
    page.check("input[name=truthful]")
    if shots:
        screenshot(page, f"{shots}-4-review")
    page.locator("[data-testid=submit]").click()
    expect(page.locator("[data-testid=case-status]")).to_have_attribute("data-status", "submitted")


def reviewer_signs_in(page, reviewer, secret, step=0):
    sign_in(page, reviewer.email)
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
    # A used code stays used; a second sign-in within 30 s takes the next window's (tolerance 1).
    page.fill("input[name=code]", totp_code(secret, step))
    page.locator("main form button[type=submit]").first.click()
    expect(page.locator("[data-testid=user-name]")).to_be_visible()


def decide_documents(page, case_pk, decisions):
    for kind, (status, reason) in decisions.items():
        page.goto(f"/admin/accounts/kyccase/{case_pk}/change/")
        box = page.locator(f"[data-testid=admin-doc-{kind}]")
        box.locator("select[name=status]").select_option(status)
        box.locator("select[name=reason]").select_option(reason)
        box.locator("button[type=submit]").click()
        expect(page.locator(".messagelist")).to_be_visible()


def decide_case(page, case_pk, decision, reason, message=""):
    page.goto(f"/admin/accounts/kyccase/{case_pk}/change/")
    form = page.locator("#kyc-decision")
    form.locator("select[name=decision]").select_option(decision)
    form.locator("select[name=reason]").select_option(reason)
    if message:
        form.locator("textarea[name=message]").fill(message)
    form.locator("input[type=submit]").click()


@pytest.fixture
def reviewer(live_portal):
    from django.apps import apps

    from accounts.roles import sync_roles

    sync_roles(apps)  # a transactional test before this one flushed the role groups
    user = UserFactory(email="dave@example.test", full_name="邓伟", role="kyc_reviewer")
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return user, secret


ALL_CLEAR = {k: ("approved", "clear") for k in ("id_front", "id_back", "selfie")}


def test_client_onboards_and_a_reviewer_approves_in_admin(page, reviewer):
    client = UserFactory(email="lan@example.test", full_name="林岚")
    sign_in(page, client.email)
    email = complete_wizard(page, name="林岚", number=resident_id(), shots="10-onboarding")
    finish_wizard(page, client.email, shots="10-onboarding")
    assert email
    screenshot(page, "10-onboarding-5-submitted")
    sign_out(page)

    staff, secret = reviewer
    reviewer_signs_in(page, staff, secret)
    case = KycCase.objects.get(user=client)
    page.goto("/admin/accounts/kyccase/")
    expect(page.locator("#result_list")).to_contain_text("林岚")
    page.goto(f"/admin/accounts/kyccase/{case.pk}/change/")
    expect(page.locator("body")).to_contain_text("1101**********")
    expect(page.locator("img.kyc-admin-doc").first).to_be_visible()
    screenshot(page, "11-admin-case")
    decide_documents(page, case.pk, ALL_CLEAR)
    decide_case(page, case.pk, "approved", "verified")
    expect(page.locator(".messagelist")).to_contain_text(re.compile("notified|通知"))
    sign_out(page)

    sign_in(page, client.email)
    page.goto("/onboarding/")
    expect(page.locator("[data-testid=approved]")).to_be_visible()
    expect(page.locator("[data-testid=condition-kyc]")).to_have_attribute("data-met", "true")
    expect(page.locator("[data-testid=condition-rating]")).to_have_attribute("data-met", "true")
    expect(page.locator("[data-testid=condition-assets]")).to_have_attribute("data-met", "false")
    screenshot(page, "12-approved-checklist")
    page.goto("/")
    expect(page.locator("[data-testid=eligibility]")).to_be_visible()
    assert not real_errors(page)


def test_revision_for_a_blurry_document_then_approval(page, reviewer):
    client = UserFactory(email="bo@example.test", full_name="王博", language="en")
    sign_in(page, client.email)
    complete_wizard(page, name="王博", number=resident_id(seq="456"))
    finish_wizard(page, client.email)
    sign_out(page)

    staff, secret = reviewer
    reviewer_signs_in(page, staff, secret)
    case = KycCase.objects.get(user=client)
    decide_documents(
        page,
        case.pk,
        {
            "id_front": ("revision", "blurry"),
            "id_back": ("approved", "clear"),
            "selfie": ("approved", "clear"),
        },
    )
    decide_case(page, case.pk, "revision", "documents", "请重新拍摄身份证正面，确保字迹清晰。")
    sign_out(page)

    sign_in(page, client.email)
    page.goto("/onboarding/")
    expect(page.locator("[data-testid=case-status]")).to_have_attribute("data-status", "revision")
    expect(page.locator("[data-testid=client-message]")).to_contain_text("重新拍摄")
    expect(page.locator("[data-testid=doc-id_front]")).to_contain_text(re.compile("Blurry|模糊"))
    screenshot(page, "13-revision-requested")
    # Bo's account says English: signing in brought the portal up in it, whatever the browser.
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("[data-testid=case-status]")).to_contain_text("Revision requested")
    expect(page.locator("[data-testid=condition-kyc]")).to_contain_text("fix what is marked")
    screenshot(page, "13-revision-requested-en")
    page.locator("[data-testid=fix]").click()
    page.set_input_files("input[name=id_front]", files(["id_front"])["id_front"])
    page.locator("main form button[type=submit]").click()
    expect(page.locator("[data-testid=step-suitability]")).to_be_visible()
    page.goto("/onboarding/review/")
    page.check("input[name=truthful]")
    page.locator("[data-testid=submit]").click()
    expect(page.locator("[data-testid=case-status]")).to_have_attribute("data-status", "submitted")
    sign_out(page)

    reviewer_signs_in(page, staff, secret, step=1)
    decide_documents(page, case.pk, {"id_front": ("approved", "clear")})
    decide_case(page, case.pk, "approved", "verified")
    sign_out(page)

    sign_in(page, client.email)
    page.goto("/onboarding/")
    expect(page.locator("[data-testid=approved]")).to_be_visible()
    assert not real_errors(page)
