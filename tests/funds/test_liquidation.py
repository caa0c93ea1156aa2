"""A forced liquidation goes through the ledger: the margin balances follow a balanced entry."""

import datetime
from decimal import Decimal as D

import pytest
from django.db.models import Sum
from django.utils import timezone

from audit.models import AuditEntry
from funds import ledger, services
from funds.ledger import Kind
from funds.models import JournalEntry, LedgerLine, ReconciliationBreak
from margin import services as margin
from margin.models import (
    Instrument,
    LiquidationPlan,
    LiquidationPlanItem,
    MarginAccount,
    Position,
)
from tests.funds.factories import funded_account, verified_client

pytestmark = pytest.mark.django_db


def approved_plan(account, code, quantity):
    instrument = Instrument.objects.get(code=code)
    plan = LiquidationPlan.objects.create(
        account=account,
        trigger=LiquidationPlan.Trigger.LIQUIDATION_LINE,
        status=LiquidationPlan.Status.APPROVED,
        decided_at=timezone.now(),
        execution_confirmed_at=timezone.now(),
        expected_proceeds=instrument.price * quantity,
    )
    LiquidationPlanItem.objects.create(
        plan=plan,
        instrument=instrument,
        quantity=quantity,
        reference_price=instrument.price,
        expected_proceeds=instrument.price * quantity,
    )
    return plan


def assert_books_agree():
    for total in LedgerLine.objects.values("entry").annotate(total=Sum("amount")):
        assert total["total"] == 0
    result = services.reconciliation_run(day=timezone.localdate())
    assert result.open_breaks == 0
    assert not ReconciliationBreak.objects.exists()
    # The custodian holds exactly the client money owed: repayments left for company money.
    assert result.custodian_ledger == result.client_money_owed


def test_a_forced_sale_repays_fees_then_interest_then_debt_through_one_balanced_entry(
    fee_schedule,
):
    account = funded_account(
        verified_client(), cash="1000.00", debt="100000.00", holdings=[("600036.SH", 3000, "42.10")]
    )
    ledger.entry_post(
        kind=JournalEntry.Kind.FEE,
        description="fee",
        value_date=datetime.date(2026, 11, 20),
        lines=[
            (ledger.client_account(account, Kind.CLIENT_FEES), D("50.00")),
            (ledger.house_account(Kind.FEE_INCOME), D("-50.00")),
        ],
    )
    services.interest_accrue(trading_day=datetime.date(2026, 11, 25))
    account.refresh_from_db()
    interest = account.accrued_interest
    assert interest > 0 and account.fees_owed == D("50.00")
    plan = approved_plan(account, "600036.SH", 1000)

    margin.liquidation_plan_execute(plan_id=plan.pk)

    account = MarginAccount.objects.get(pk=account.pk)
    # 42,100 of proceeds pay the fee schedule's selling costs: trade service fee 12.63, stamp
    # duty 21.05, transfer fee 0.42. With the 1,000 of cash the rest pays 50 of fees, then
    # the interest, then the debt.
    assert (account.cash, account.fees_owed, account.accrued_interest) == (D("0.00"),) * 3
    assert account.debt == D("100000.00") - (D("43100.00") - D("34.10") - D("50.00") - interest)
    plan.refresh_from_db()
    assert (plan.realised_proceeds, plan.realised_costs) == (D("42100.00"), D("34.10"))
    assert ledger.balance(ledger.house_account(Kind.FEE_INCOME)) == D("50.00") + D("12.63")
    assert Position.objects.get(account=account).quantity == 2000
    entry = JournalEntry.objects.get(idempotency_key=f"liquidation:{plan.pk}")
    assert entry.kind == JournalEntry.Kind.TRADE
    assert ledger.balance(ledger.house_account(Kind.MARKET_SETTLEMENT)) == 0
    assert AuditEntry.objects.filter(action="funds.liquidation_posted").count() == 1
    for kind, field in [
        (Kind.CLIENT_CASH, "cash"),
        (Kind.CLIENT_DEBT, "debt"),
        (Kind.CLIENT_INTEREST, "accrued_interest"),
        (Kind.CLIENT_FEES, "fees_owed"),
    ]:
        assert ledger.balance(ledger.client_account(account, kind)) == getattr(account, field)
    assert_books_agree()


def test_an_account_not_yet_in_the_ledger_is_brought_in_before_the_fill_is_posted(db):
    account = funded_account(verified_client(), holdings=[("600030.SH", 1000, "27.80")])
    assert not LedgerLine.objects.exists()  # all balances were zero: no opening entry yet
    MarginAccount.objects.filter(pk=account.pk).update(cash=D("500.00"), debt=D("10000.00"))
    plan = approved_plan(account, "600030.SH", 1000)

    margin.liquidation_plan_execute(plan_id=plan.pk)

    account = MarginAccount.objects.get(pk=account.pk)
    assert (account.cash, account.debt) == (D("18300.00"), D("0.00"))
    assert JournalEntry.objects.filter(kind=JournalEntry.Kind.OPENING).count() == 1
    assert ledger.balance(ledger.client_account(account, Kind.CLIENT_CASH)) == D("18300.00")
    assert_books_agree()


def test_executing_a_plan_twice_posts_once(db):
    account = funded_account(
        verified_client(), debt="5000.00", holdings=[("600030.SH", 1000, "27.80")]
    )
    plan = approved_plan(account, "600030.SH", 500)
    margin.liquidation_plan_execute(plan_id=plan.pk)
    margin.liquidation_plan_execute(plan_id=plan.pk)
    account = MarginAccount.objects.get(pk=account.pk)
    assert (account.cash, account.debt) == (D("8900.00"), D("0.00"))
    assert JournalEntry.objects.filter(kind=JournalEntry.Kind.TRADE).count() == 1
    assert_books_agree()


def test_funds_is_the_one_keeper_of_the_books_margin_balances_follow():
    from margin.books import books_owner

    assert books_owner() == "funds"
