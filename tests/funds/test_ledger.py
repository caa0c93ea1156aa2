import datetime
from decimal import Decimal as D

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext as _

from funds import ledger
from funds.ledger import Kind
from funds.models import Immutable, JournalEntry, LedgerLine
from tests.funds.factories import OPENED, funded_account, verified_client

pytestmark = pytest.mark.django_db


def _deposit(account, amount):
    return ledger.entry_post(
        kind=JournalEntry.Kind.DEPOSIT,
        description="test deposit",
        value_date=OPENED,
        lines=[
            (ledger.house_account(Kind.CUSTODIAN), D(amount)),
            (ledger.client_account(account, Kind.CLIENT_CASH), -D(amount)),
        ],
    )


def test_a_deposit_credits_client_cash_and_the_margin_balance_follows():
    account = funded_account(verified_client(), cash="1000.00")
    _deposit(account, "250.50")
    account.refresh_from_db()
    assert account.cash == D("1250.50")
    assert ledger.balance(ledger.client_account(account, Kind.CLIENT_CASH)) == D("1250.50")
    assert ledger.balance(ledger.house_account(Kind.CUSTODIAN)) == D("1250.50")


def test_an_unbalanced_entry_is_refused_and_nothing_is_written():
    account = funded_account(verified_client())
    before = JournalEntry.objects.count()
    with pytest.raises(ledger.UnbalancedEntry):
        ledger.entry_post(
            kind=JournalEntry.Kind.DEPOSIT,
            description="bad",
            value_date=OPENED,
            lines=[
                (ledger.house_account(Kind.CUSTODIAN), D("100.00")),
                (ledger.client_account(account, Kind.CLIENT_CASH), D("-99.99")),
            ],
        )
    assert JournalEntry.objects.count() == before


@pytest.mark.parametrize("amount", [D("0.001"), D("0"), 1.5])
def test_amounts_must_be_whole_fen_decimals(amount):
    account = funded_account(verified_client())
    with pytest.raises(ledger.UnbalancedEntry):
        ledger.entry_post(
            kind=JournalEntry.Kind.DEPOSIT,
            description="bad",
            value_date=OPENED,
            lines=[
                (ledger.house_account(Kind.CUSTODIAN), amount),
                (ledger.client_account(account, Kind.CLIENT_CASH), -amount),
            ],
        )


def test_entries_and_lines_cannot_be_edited_or_deleted_through_the_models():
    entry = _deposit(funded_account(verified_client()), "10.00")
    with pytest.raises(Immutable):
        entry.description = "changed"
        entry.save()
    with pytest.raises(Immutable):
        entry.lines.first().delete()


def test_a_reversal_mirrors_the_entry_restores_balances_and_is_audited():
    from audit.models import AuditEntry

    account = funded_account(verified_client(), cash="1000.00")
    entry = _deposit(account, "300.00")
    staff = verified_client(legal_name="X", email="staff@example.test")
    reversal = ledger.entry_reverse(entry_id=entry.pk, actor=staff, reason="wrong client")
    account.refresh_from_db()
    assert account.cash == D("1000.00")
    assert sorted(line.amount for line in reversal.lines.all()) == [D("-300.00"), D("300.00")]
    assert reversal.reverses == entry
    assert AuditEntry.objects.filter(action="funds.entry_reversed").count() == 1
    with pytest.raises(ledger.AlreadyReversed):
        ledger.entry_reverse(entry_id=entry.pk, actor=staff, reason="again")


# 01:00 on 1 December in Beijing; still 30 November on a host that keeps UTC.
@pytest.mark.time_machine(datetime.datetime(2026, 11, 30, 17, tzinfo=datetime.UTC), tick=False)
def test_a_reversal_is_dated_by_beijings_calendar():
    account = funded_account(verified_client(), cash="1000.00")
    entry = _deposit(account, "300.00")
    staff = verified_client(legal_name="X", email="staff@example.test")
    reversal = ledger.entry_reverse(entry_id=entry.pk, actor=staff, reason="wrong client")
    assert reversal.value_date == datetime.date(2026, 12, 1)


def test_posting_the_same_business_key_twice_changes_nothing():
    account = funded_account(verified_client())
    lines = [
        (ledger.house_account(Kind.CUSTODIAN), D("5.00")),
        (ledger.client_account(account, Kind.CLIENT_CASH), D("-5.00")),
    ]
    first = ledger.entry_post(
        kind="deposit", description="x", value_date=OPENED, lines=lines, idempotency_key="k1"
    )
    second = ledger.entry_post(
        kind="deposit", description="x", value_date=OPENED, lines=lines, idempotency_key="k1"
    )
    account.refresh_from_db()
    assert first == second and account.cash == D("5.00")


def test_opening_balances_bring_existing_margin_balances_into_the_ledger_once():
    account = funded_account(verified_client(), cash="800.00", debt="500.00")
    assert not ledger.open_margin_account(account, value_date=OPENED)
    assert ledger.balance(ledger.client_account(account, Kind.CLIENT_DEBT)) == D("500.00")
    assert ledger.balance(ledger.client_account(account, Kind.CLIENT_CASH)) == D("800.00")
    account.refresh_from_db()
    assert account.cash == D("800.00") and account.debt == D("500.00")


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_postgres_refuses_an_unbalanced_entry_and_any_edit():
    account = funded_account(verified_client())
    entry = _deposit(account, "10.00")
    with pytest.raises(IntegrityError), transaction.atomic():
        bad = JournalEntry.objects.create(kind="deposit", description="raw", value_date=OPENED)
        LedgerLine.objects.create(
            entry=bad, account=ledger.house_account(Kind.CUSTODIAN), amount=D("1.00")
        )
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerLine.objects.filter(entry=entry).update(amount=D("11.00"))
    with pytest.raises(IntegrityError), transaction.atomic():
        JournalEntry.objects.filter(pk=entry.pk).delete()


def test_memos_are_written_in_the_clients_language(db):
    from funds.ledger import memo
    from tests.factories import UserFactory

    class Account:
        def __init__(self, language):
            self.client = UserFactory.build(language=language)

    def text():
        return _("Deposit %(ref)s") % {"ref": "CMB9"}

    assert memo(Account("zh-hans"), text) == "入金 CMB9"
    assert memo(Account("en"), text) == "Deposit CMB9"
    assert memo(None, lambda: _("Transfer to the risk reserve")) == "转入风险准备金"
