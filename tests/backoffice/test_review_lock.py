"""One reviewer at a time per KYC case: the first to open it holds it until they decide, leave,
or the claim runs out; the other sees who holds it and cannot decide meanwhile."""

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.test import Client
from django.urls import reverse

from accounts import review_lock
from accounts.models import KycCase
from tests.factories import UserFactory
from tests.funds.factories import verified_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(db):
    applicant = verified_client("申请人")
    KycCase.objects.filter(user=applicant).update(status=KycCase.Status.SUBMITTED)
    return applicant.kyc_case


@pytest.fixture
def ivy(db):
    user = UserFactory(email="ivy@staff.example.test", full_name="易薇", role="kyc_reviewer")
    TOTP.activate(user, generate_totp_secret())
    browser = Client()
    browser.force_login(user)
    return browser


def open_case(browser, case):
    return browser.get(reverse("admin:accounts_kyccase_change", args=[case.pk])).content.decode()


def test_the_second_reviewer_sees_who_holds_the_case_and_gets_no_decision_controls(
    staff, ivy, case
):
    first = open_case(staff["kyc_reviewer"], case)
    assert 'id="kyc-decision"' in first
    second = open_case(ivy, case)
    assert 'data-testid="kyc-locked"' in second and 'id="kyc-decision"' not in second


def test_a_decision_posted_by_the_other_reviewer_is_refused(staff, ivy, case):
    open_case(staff["kyc_reviewer"], case)
    reason = next(iter(KycCase._meta.get_field("decision_reason").choices))[0]
    ivy.post(
        reverse("admin:accounts_kyccase_decide", args=[case.pk]),
        {"decision": "rejected", "reason": reason, "message": "不予通过"},
    )
    case.refresh_from_db()
    assert case.status == KycCase.Status.SUBMITTED


def test_leaving_the_case_hands_it_to_the_next_reviewer(staff, ivy, case):
    open_case(staff["kyc_reviewer"], case)
    response = staff["kyc_reviewer"].post(reverse("admin:accounts_kyccase_release", args=[case.pk]))
    assert response.status_code == 204
    assert 'id="kyc-decision"' in open_case(ivy, case)


def test_only_the_holder_can_release_the_case(staff, ivy, case):
    open_case(staff["kyc_reviewer"], case)
    ivy.post(reverse("admin:accounts_kyccase_release", args=[case.pk]))
    assert review_lock.holder(case.pk) is not None
    assert 'data-testid="kyc-locked"' in open_case(ivy, case)


def test_the_claim_is_held_for_the_lock_time_only(staff, ivy, case, monkeypatch):
    timeouts = []
    real_add = review_lock.cache.add
    monkeypatch.setattr(
        review_lock.cache,
        "add",
        lambda key, value, timeout: timeouts.append(timeout) or real_add(key, value, timeout),
    )
    open_case(staff["kyc_reviewer"], case)
    assert timeouts == [15 * 60]
