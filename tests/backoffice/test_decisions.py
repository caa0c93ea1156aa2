"""Consequential decisions ask for a reason, and an approval whose reason refuses is refused."""

from decimal import Decimal

import pytest
from django.urls import reverse

from margin.models import VolatilityRegime
from portal.decisions import refusing_words
from tests.factories import UserFactory
from tests.support.factories import open_ticket

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "reason",
    [
        "驳回：证件模糊",
        "不予通过",
        "材料不符合要求",
        "Reject: blurred photo",
        "not approved",
        "REFUSED",
    ],
)
def test_refusing_reasons_are_recognised(reason):
    assert refusing_words(reason)


@pytest.mark.parametrize(
    "reason", ["", "证件清晰，信息一致", "No sanctions match; documents clear", "资料齐全，同意"]
)
def test_approving_reasons_pass(reason):
    assert refusing_words(reason) is None


@pytest.fixture
def proposal(staff_users):
    return VolatilityRegime.objects.create(
        regime=VolatilityRegime.Regime.ELEVATED,
        reason="市场波动加剧",
        proposed_by=UserFactory(role="risk_officer"),
        market_volatility=Decimal("0.3500"),
    )


def test_a_risk_officer_rejects_a_regime_proposal_saying_why(staff, proposal):
    url = reverse("admin:margin_volatilityregime_decide", args=[proposal.pk])
    response = staff["risk_officer"].post(url, {"decision": "reject", "note": "波动已回落"})
    assert response.status_code == 302
    proposal.refresh_from_db()
    assert proposal.status == VolatilityRegime.Status.REJECTED
    assert proposal.decision_note == "波动已回落"


def test_a_rejection_without_a_reason_is_refused(staff, proposal):
    url = reverse("admin:margin_volatilityregime_decide", args=[proposal.pk])
    response = staff["risk_officer"].post(url, {"decision": "reject", "note": ""})
    assert response.status_code == 200
    proposal.refresh_from_db()
    assert proposal.status == VolatilityRegime.Status.PROPOSED


def test_a_confirmation_whose_note_refuses_is_refused(staff, proposal):
    url = reverse("admin:margin_volatilityregime_decide", args=[proposal.pk])
    response = staff["risk_officer"].post(url, {"decision": "approve", "note": "不同意，驳回"})
    assert response.status_code == 200
    proposal.refresh_from_db()
    assert proposal.status == VolatilityRegime.Status.PROPOSED


def test_only_risk_officers_decide_regimes(staff, proposal):
    url = reverse("admin:margin_volatilityregime_decide", args=[proposal.pk])
    for role in ("agent", "kyc_reviewer", "compliance"):
        assert staff[role].post(url, {"decision": "reject", "note": "x"}).status_code == 403


def test_only_agents_are_offered_as_assignees(staff, staff_users, client_alice):
    ticket = open_ticket(client_alice)
    html = staff["agent"].get(reverse("admin:support_ticket_change", args=[ticket.pk]))
    text = html.content.decode()
    start = text.index('name="assignee"')
    options = text[start : text.index("</select>", start)]
    assert staff_users["agent"].full_name in options
    assert staff_users["kyc_reviewer"].full_name not in options
    assert client_alice.full_name not in options


@pytest.fixture
def waiting_withdrawal(db):
    from funds import services
    from tests.funds.factories import bank_account, funded_account, verified_client

    alice = verified_client("林岚", email="alice.w@example.test")
    account = funded_account(
        alice, cash="100000.00", debt="60000.00", holdings=[("600519.SH", 100, "1500.00")]
    )
    bank = bank_account(alice)
    return services.withdrawal_request(
        client=alice, margin_account_id=account.pk, bank_account_id=bank.pk, amount=Decimal("70000")
    )


def test_rejecting_a_withdrawal_asks_first_for_the_reason_the_client_reads(
    staff, waiting_withdrawal
):
    from funds.models import WithdrawalRequest
    from notices.models import Notification

    url = reverse("admin:funds_withdrawalrequest_changelist")
    chosen = {"action": "reject", "_selected_action": [waiting_withdrawal.pk]}
    asked = staff["risk_officer"].post(url, chosen)
    assert asked.status_code == 200 and 'name="reason"' in asked.content.decode()
    waiting_withdrawal.refresh_from_db()
    assert waiting_withdrawal.status == WithdrawalRequest.Status.AWAITING_APPROVAL

    reason = "收款账户不是您本人名下的账户，请添加本人账户后重新申请。"
    done = staff["risk_officer"].post(url, {**chosen, "confirm": "1", "reason": reason})
    assert done.status_code == 302
    waiting_withdrawal.refresh_from_db()
    assert waiting_withdrawal.status == WithdrawalRequest.Status.REJECTED
    assert waiting_withdrawal.reason == reason
    told = Notification.objects.filter(key="funds_withdrawal_rejected")
    assert any(reason in str(n.context) for n in told)


def test_a_kyc_approval_whose_message_refuses_is_refused(staff, db):
    from accounts.models import KycCase
    from tests.funds.factories import verified_client

    applicant = verified_client("申请人")
    KycCase.objects.filter(user=applicant).update(status=KycCase.Status.SUBMITTED)
    case = applicant.kyc_case
    url = reverse("admin:accounts_kyccase_decide", args=[case.pk])
    reason = next(iter(KycCase._meta.get_field("decision_reason").choices))[0]
    staff["kyc_reviewer"].post(
        url, {"decision": "approved", "reason": reason, "message": "证件模糊，不予通过"}
    )
    case.refresh_from_db()
    assert case.status == KycCase.Status.SUBMITTED
