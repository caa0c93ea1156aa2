"""Custodian statement import, deposit matching, suspense, and breaks down to one fen."""

from decimal import Decimal as D

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command

from funds import custodian, ledger, services, suspense
from funds.ledger import Kind
from funds.models import CustodianTransaction, ReconciliationBreak
from notices.models import Notification
from tests.disclosures.factories import staff
from tests.funds.factories import funded_account, verified_client

pytestmark = pytest.mark.django_db
HEADER = "value_date,bank_reference,type,amount,counterparty_name,counterparty_account,memo\n"


def statement(day, opening, rows, closing):
    body = f"{day},OPEN-{day},OPENING,{opening},,,\n"
    body += "".join(f"{day},{ref},{kind},{amount},林岚,6222020200112233445,{memo}\n"
                    for ref, kind, amount, memo in rows)  # fmt: skip
    return (HEADER + body + f"{day},CLOSE-{day},CLOSING,{closing},,,\n").encode()


@pytest.fixture
def alice_account():
    return funded_account(verified_client(email="alice@example.test"))


def test_a_transfer_quoting_the_reference_credits_the_client(alice_account):
    reference = services.deposit_reference_for(alice_account).reference
    data = statement(
        "2026-11-26", "0.00", [("B1", "CREDIT", "1000.00", f"deposit {reference}")], "1000.00"
    )
    custodian.custodian_statement_import(data=data)
    alice_account.refresh_from_db()
    assert alice_account.cash == D("1000.00")
    assert not ReconciliationBreak.objects.filter(resolved_on__isnull=True).exists()
    assert Notification.objects.filter(key="funds_deposit_received").exists()


def test_money_without_a_reference_is_held_in_suspense_then_credited_by_an_agent(alice_account):
    data = statement("2026-11-26", "0.00", [("B2", "CREDIT", "500.00", "for my account")], "500.00")
    custodian.custodian_statement_import(data=data)
    txn = CustodianTransaction.objects.get(bank_reference="B2")
    assert txn.match == CustodianTransaction.Match.SUSPENSE
    assert ledger.balance(ledger.house_account(Kind.SUSPENSE)) == D("500.00")
    assert not ReconciliationBreak.objects.filter(resolved_on__isnull=True).exists()
    # A risk officer can read the custodian lines but may not move the money.
    erin = staff("risk_officer", email="erin@example.test")
    with pytest.raises(PermissionDenied):
        suspense.suspense_credit_request(
            transaction_id=txn.pk, margin_account_id=alice_account.pk, agent=erin
        )
    carol = staff("agent", email="carol@example.test")
    # The payer, 林岚, is the client's verified name: credited at once, no second approval.
    suspense.suspense_credit_request(
        transaction_id=txn.pk, margin_account_id=alice_account.pk, agent=carol
    )
    alice_account.refresh_from_db()
    assert alice_account.cash == D("500.00")
    assert ledger.balance(ledger.house_account(Kind.SUSPENSE)) == D("0.00")


def test_a_break_of_one_fen_is_listed_and_alerts_compliance(alice_account):
    frank = staff("compliance", email="frank@example.test")
    data = statement("2026-11-27", "0.01", [], "0.01")
    custodian.custodian_statement_import(data=data)
    breaks = ReconciliationBreak.objects.filter(resolved_on__isnull=True)
    kinds = {b.kind: b for b in breaks}
    assert kinds["client_money"].difference == D("0.01")
    assert kinds["custodian_balance"].difference == D("0.01")
    assert Notification.objects.filter(recipient=frank, key="funds_reconciliation_break").exists()


def test_a_margin_balance_edited_by_hand_is_a_break(alice_account):
    from margin.models import MarginAccount

    MarginAccount.objects.filter(pk=alice_account.pk).update(cash=D("5.00"))
    services.reconciliation_run(day=alice_account.opened_at.date())
    found = ReconciliationBreak.objects.get(subject=f"{alice_account.number}:cash")
    assert found.expected == D("0.00") and found.actual == D("5.00")


def test_a_bad_file_imports_nothing_and_says_why(tmp_path, alice_account):
    path = tmp_path / "bad.csv"
    path.write_bytes(statement("2026-11-26", "0.00", [("B3", "CREDIT", "10.00", "")], "11.00"))
    with pytest.raises(CommandError, match="closing"):
        call_command("import_custodian_statement", str(path))
    assert not CustodianTransaction.objects.exists()


def test_the_same_file_cannot_be_imported_twice(tmp_path, alice_account):
    path = tmp_path / "s.csv"
    path.write_bytes(statement("2026-11-26", "0.00", [("B4", "CREDIT", "10.00", "")], "10.00"))
    call_command("import_custodian_statement", str(path))
    with pytest.raises(CommandError, match="already"):
        call_command("import_custodian_statement", str(path))
