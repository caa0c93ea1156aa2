"""Withdrawals: the 300% line, open calls, KYC, own-name bank accounts, four-eyes above 50,000."""

from decimal import Decimal as D

import pytest
from django.utils import timezone

from accounts.models import KycCase
from funds import ledger, services
from funds.ledger import Kind
from funds.models import WithdrawalRequest
from margin.models import MarginCall, MarginEvent
from tests.disclosures.factories import staff
from tests.funds.factories import bank_account, funded_account, verified_client

pytestmark = pytest.mark.django_db
Status = WithdrawalRequest.Status


@pytest.fixture
def alice():
    return verified_client("林岚", email="alice@example.test")


@pytest.fixture
def account(alice):
    # assets 100,000 cash + 100 × 1,500 = 250,000; liabilities 60,000; ratio 416.67%.
    # At the 300% line assets may fall to 180,000: 70,000 may be withdrawn.
    return funded_account(
        alice, cash="100000.00", debt="60000.00", holdings=[("600519.SH", 100, "1500.00")]
    )


def _ask(alice, account, amount, bank=None):
    bank = bank or bank_account(alice)
    return services.withdrawal_request(
        client=alice, margin_account_id=account.pk, bank_account_id=bank.pk, amount=D(amount)
    )


def test_the_largest_withdrawal_keeps_the_ratio_at_the_300_percent_line(account):
    limit = services.withdrawal_limit(account)
    assert limit.largest == D("70000.00")
    assert "300%" in limit.reason


def test_one_fen_above_the_largest_is_refused_with_the_reason_and_the_largest(alice, account):
    request = _ask(alice, account, "70000.01")
    assert request.status == Status.REFUSED
    assert request.largest_allowed == D("70000.00")
    assert "300%" in request.reason
    account.refresh_from_db()
    assert account.cash == D("100000.00")


def test_exactly_the_largest_is_accepted_and_awaits_two_approvals(alice, account):
    request = _ask(alice, account, "70000.00")
    assert request.status == Status.AWAITING_APPROVAL
    account.refresh_from_db()
    assert account.cash == D("30000.00")  # set aside at once: it cannot be withdrawn twice
    assert ledger.balance(ledger.house_account(Kind.WITHDRAWALS_PAYABLE)) == D("70000.00")


def test_a_withdrawal_up_to_the_threshold_is_paid_at_once(alice, account):
    request = _ask(alice, account, "50000.00")
    assert request.status == Status.PAID
    assert ledger.balance(ledger.house_account(Kind.CUSTODIAN)) == D("50000.00")
    assert ledger.balance(ledger.house_account(Kind.WITHDRAWALS_PAYABLE)) == D("0.00")


def test_splitting_a_large_withdrawal_still_needs_the_second_approval(alice, account):
    bank = bank_account(alice)
    first = _ask(alice, account, "40000.00", bank=bank)
    assert first.status == Status.PAID
    # 40,000 today already: another 20,000 makes 60,000, above the 50,000 threshold.
    second = _ask(alice, account, "20000.00", bank=bank)
    assert second.status == Status.AWAITING_APPROVAL


def test_four_eyes_two_different_staff_must_approve_a_large_withdrawal(alice, account):
    request = _ask(alice, account, "60000.00")
    erin = staff("risk_officer", email="erin@example.test")
    frank = staff("compliance", email="frank@example.test")
    request = services.withdrawal_approve(withdrawal_id=request.pk, staff=erin)
    assert request.status == Status.AWAITING_APPROVAL
    with pytest.raises(services.ApprovalError, match="Four-eyes"):
        services.withdrawal_approve(withdrawal_id=request.pk, staff=erin)
    request = services.withdrawal_approve(withdrawal_id=request.pk, staff=frank)
    assert request.status == Status.PAID


def test_an_agent_may_not_approve_withdrawals(alice, account):
    request = _ask(alice, account, "60000.00")
    carol = staff("agent", email="carol@example.test")
    with pytest.raises(services.ApprovalError):
        services.withdrawal_approve(withdrawal_id=request.pk, staff=carol)


def test_a_rejected_withdrawal_returns_the_money_by_a_reversal(alice, account):
    request = _ask(alice, account, "60000.00")
    erin = staff("risk_officer", email="erin@example.test")
    services.withdrawal_reject(withdrawal_id=request.pk, staff=erin, reason="unusual pattern")
    account.refresh_from_db()
    assert account.cash == D("100000.00")
    assert WithdrawalRequest.objects.get(pk=request.pk).status == Status.REJECTED


def test_nothing_may_be_withdrawn_while_a_margin_call_is_open(alice, account):
    event = MarginEvent.objects.create(
        account=account, sequence=1, from_level="safe", to_level="call",
        assets=D("1"), liabilities=D("1"),
    )  # fmt: skip
    now = timezone.now()
    MarginCall.objects.create(
        account=account,
        event=event,
        issued_at=now,
        deadline=now + timezone.timedelta(days=2),
        deposit_needed=D("1.00"),
    )
    request = _ask(alice, account, "100.00")
    assert request.status == Status.REFUSED
    assert request.largest_allowed == D("0.00")
    assert "margin call" in request.reason


def test_nothing_may_be_withdrawn_without_valid_kyc(alice, account):
    bank = bank_account(alice)
    KycCase.objects.filter(user=alice).update(status=KycCase.Status.REJECTED)
    request = _ask(alice, account, "100.00", bank=bank)
    assert request.status == Status.REFUSED and "KYC" in request.reason


def test_a_bank_account_in_someone_elses_name_is_refused(alice):
    with pytest.raises(services.BankAccountError):
        services.bank_account_add(
            client=alice, bank_name="工商银行", account_number="6222020200112233445",
            holder_name="王五",
        )  # fmt: skip


def test_adding_a_payout_account_alerts_the_client_on_every_channel(alice):
    from notices.models import Notification

    services.bank_account_add(
        client=alice, bank_name="工商银行", account_number="6222020200112233445",
        holder_name="林岚",
    )  # fmt: skip
    alerts = Notification.objects.filter(
        recipient=alice, key="security_alert", context__event="bank_account_added"
    )
    assert {n.channel for n in alerts} >= {"email", "inapp"}


def test_bob_cannot_withdraw_from_alices_account(alice, account):
    bob = verified_client("Bob Brown", email="bob@example.test")
    with pytest.raises(account.DoesNotExist):
        services.withdrawal_request(
            client=bob,
            margin_account_id=account.pk,
            bank_account_id=bank_account(bob).pk,
            amount=D("1.00"),
        )


def test_every_step_is_audited_and_notified(alice, account):
    from audit.models import AuditEntry
    from notices.models import Notification

    bank = bank_account(alice)
    _ask(alice, account, "70000.01", bank=bank)
    _ask(alice, account, "100.00", bank=bank)
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"funds.withdrawal_refused", "funds.withdrawal_requested", "funds.withdrawal_paid"} <= (
        actions
    )
    keys = set(Notification.objects.filter(recipient=alice).values_list("key", flat=True))
    assert {"funds_withdrawal_refused", "funds_withdrawal_paid"} <= keys


def test_nothing_may_be_withdrawn_while_the_account_is_restricted(alice, account):
    from margin.models import Restriction

    Restriction.objects.create(account=account, kind="frozen", reason="review")
    limit = services.withdrawal_limit(account)
    assert limit.largest == D("0.00") and "frozen by risk control (reason: review)" in limit.reason


def test_a_concentration_restriction_does_not_stop_withdrawals(alice, account):
    from margin.models import Instrument, Restriction

    instrument = Instrument.objects.get(code="600519.SH")  # 150,000 of 250,000: over 30%
    Restriction.objects.create(
        account=account, kind="concentration", instrument=instrument, reason="over 30%"
    )
    assert services.withdrawal_limit(account).largest == D("70000.00")
