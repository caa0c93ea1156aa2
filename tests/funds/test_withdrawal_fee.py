"""The withdrawal fee of the fee schedule in force: charged when paid, named, and shown first."""

from decimal import Decimal as D

import pytest
from django.db.models import Sum
from django.urls import reverse

from funds import ledger, services
from funds.ledger import Kind
from funds.models import JournalEntry, LedgerLine, WithdrawalRequest
from tests.disclosures.factories import fees, in_force, staff
from tests.funds.factories import bank_account, funded_account, verified_client

pytestmark = pytest.mark.django_db
Status = WithdrawalRequest.Status


@pytest.fixture
def alice():
    return verified_client("林岚", email="alice@example.test")


@pytest.fixture
def account(alice):
    # 70,000 may leave the cash at the 300% line (see test_withdrawals): with the 2.00 fee,
    # 69,998.00 may be withdrawn.
    return funded_account(
        alice, cash="100000.00", debt="60000.00", holdings=[("600519.SH", 100, "1500.00")]
    )


def _ask(alice, account, amount):
    return services.withdrawal_request(
        client=alice,
        margin_account_id=account.pk,
        bank_account_id=bank_account(alice).pk,
        amount=D(amount),
    )


def _balanced():
    for total in LedgerLine.objects.values("entry").annotate(total=Sum("amount")):
        assert total["total"] == 0


def test_the_largest_withdrawal_leaves_room_for_the_fee_in_force(account):
    schedule = in_force(items=fees(withdrawal="2.00"))
    limit = services.withdrawal_limit(account)
    assert (limit.largest, limit.fee) == (D("69998.00"), D("2.00"))
    # Named for the client: the document and the item, not their internal codes.
    assert limit.fee_reference == f"Fee schedule v{schedule.number} · Withdrawal fee"


def test_one_fen_above_the_largest_after_the_fee_is_refused(alice, account):
    in_force(items=fees(withdrawal="2.00"))
    request = _ask(alice, account, "69998.01")
    assert request.status == Status.REFUSED
    assert request.largest_allowed == D("69998.00")


def test_a_paid_withdrawal_charges_the_fee_as_its_own_entry_naming_item_and_version(alice, account):
    schedule = in_force(items=fees(withdrawal="2.00"))
    request = _ask(alice, account, "1000.00")
    assert request.status == Status.PAID
    account.refresh_from_db()
    assert account.cash == D("98998.00")
    assert request.fee == D("2.00")
    assert request.fee_version == schedule
    assert request.fee_item.code == "withdrawal_fee"
    # The client's cash shows the fee as its own line of the withdrawal, naming its basis.
    hold_lines = list(request.hold_entry.lines.values_list("account__kind", "amount"))
    assert (Kind.CLIENT_CASH, D("2.00")) in hold_lines
    assert (Kind.CLIENT_CASH, D("1000.00")) in hold_lines
    # Memos are written in the client's language: Alice reads Chinese.
    assert f"收费标准 v{schedule.number} · 提现手续费" in request.hold_entry.description
    fee_entry = JournalEntry.objects.get(pk=request.fee_entry_id)
    assert fee_entry.kind == JournalEntry.Kind.FEE
    assert f"收费标准 v{schedule.number} · 提现手续费" in fee_entry.description
    assert ledger.balance(ledger.house_account(Kind.FEE_INCOME)) == D("2.00")
    # The bank paid out 1,000 to the client; the fee left client money for the company's bank.
    assert ledger.balance(ledger.house_account(Kind.WITHDRAWALS_PAYABLE)) == D("0.00")
    assert ledger.balance(ledger.house_account(Kind.CUSTODIAN)) == ledger.kind_total(
        ledger.LedgerAccount.CLIENT_MONEY_OWED
    )
    _balanced()


def test_a_zero_fee_charges_nothing(alice, account):
    in_force(items=fees(withdrawal="0.00"))
    assert services.withdrawal_limit(account).largest == D("70000.00")
    request = _ask(alice, account, "1000.00")
    assert (request.status, request.fee, request.fee_entry) == (Status.PAID, D("0.00"), None)
    account.refresh_from_db()
    assert account.cash == D("99000.00")


def test_a_rejected_large_withdrawal_gives_back_the_amount_and_the_fee(alice, account):
    in_force(items=fees(withdrawal="2.00"))
    request = _ask(alice, account, "60000.00")
    assert request.status == Status.AWAITING_APPROVAL
    account.refresh_from_db()
    assert account.cash == D("39998.00")
    erin = staff("risk_officer", email="erin@example.test")
    services.withdrawal_reject(withdrawal_id=request.pk, staff=erin, reason="Client asked.")
    account.refresh_from_db()
    assert account.cash == D("100000.00")
    assert ledger.balance(ledger.house_account(Kind.FEE_INCOME)) == D("0.00")
    _balanced()


def test_the_client_sees_the_fee_before_confirming(client, alice, account):
    in_force(items=fees(withdrawal="2.00"))
    client.force_login(alice)
    page = client.get(reverse("funds:index")).content.decode()
    assert "¥2.00" in page
    assert "69,998.00" in page
