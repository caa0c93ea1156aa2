"""Any sequence of deposits, withdrawals, accruals, financing, fills, forced liquidations and
reversals keeps every entry balanced and client money equal to the sum of client balances."""

import datetime
from decimal import Decimal as D

import pytest
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from funds import ledger, services
from funds.ledger import Kind
from funds.models import JournalEntry, LedgerLine
from margin.models import MarginAccount
from tests.funds.factories import bank_account, funded_account, verified_client

DAY = datetime.date(2026, 11, 26)
amounts = st.decimals(min_value=D("0.01"), max_value=D("90000.00"), places=2)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("deposit"), st.integers(0, 1), amounts),
        st.tuples(st.just("withdraw"), st.integers(0, 1), amounts),
        st.tuples(st.just("finance"), st.integers(0, 1), amounts),
        st.tuples(st.just("buy"), st.integers(0, 1), amounts),
        st.tuples(st.just("accrue"), st.integers(0, 1), st.just(D("0"))),
        st.tuples(st.just("liquidate"), st.integers(0, 1), amounts),
        st.tuples(st.just("reverse"), st.integers(0, 50), st.just(D("0"))),
    ),
    max_size=12,
)


def _finance(account, amount):
    # Financing drawn: the client owes it and has the cash, lent from company money.
    return ledger.entry_post(
        kind=JournalEntry.Kind.FINANCING,
        description="financing",
        value_date=DAY,
        lines=[
            (ledger.client_account(account, Kind.CLIENT_DEBT), amount),
            (ledger.house_account(Kind.FINANCING_SOURCE), -amount),
            (ledger.house_account(Kind.CUSTODIAN), amount),
            (ledger.client_account(account, Kind.CLIENT_CASH), -amount),
            (ledger.house_account(Kind.COMPANY_BANK), -amount),
            (ledger.house_account(Kind.FINANCING_SOURCE), amount),
        ],
    )


def _buy(account, amount):
    if account.cash < amount:
        return None
    return ledger.entry_post(
        kind=JournalEntry.Kind.TRADE,
        description="purchase settled",
        value_date=DAY,
        lines=[
            # The purchase is paid from the client's cash at the custodian to the exchange.
            (ledger.client_account(account, Kind.CLIENT_CASH), amount),
            (ledger.house_account(Kind.CUSTODIAN), -amount),
        ],
    )


def _liquidate(account, amount, n):
    # A forced sale of 100 shares worth ``amount`` through an approved plan (margin's service).
    from django.utils import timezone

    from margin.models import Instrument, LiquidationPlan, LiquidationPlanItem, Position
    from margin.services import liquidation_plan_execute

    price = max((amount / 100).quantize(D("0.01")), D("0.01"))
    instrument = Instrument.objects.create(
        code=f"6{n:05d}.SH",
        name_zh="股票",
        name_en="Stock",
        previous_close=price,
        last_price=price,
    )
    Position.objects.create(account=account, instrument=instrument, quantity=100, cost=price * 100)
    plan = LiquidationPlan.objects.create(
        account=account,
        trigger=LiquidationPlan.Trigger.LIQUIDATION_LINE,
        status=LiquidationPlan.Status.APPROVED,
        decided_at=timezone.now(),
        execution_confirmed_at=timezone.now(),
        expected_proceeds=price * 100,
    )
    LiquidationPlanItem.objects.create(
        plan=plan,
        instrument=instrument,
        quantity=100,
        reference_price=price,
        expected_proceeds=price * 100,
    )
    liquidation_plan_execute(plan_id=plan.pk)


@pytest.mark.django_db
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=steps)
def test_any_sequence_keeps_the_books_balanced(fee_schedule, steps):
    from django.db import transaction

    # Each example runs in its own savepoint, rolled back at the end, so examples don't mix.
    with transaction.atomic():
        clients = [verified_client(f"客户{i}") for i in range(2)]
        accounts = [funded_account(c) for c in clients]
        banks = [bank_account(c, number=f"62220202001122334{i}") for i, c in enumerate(clients)]
        for n, (step, who, amount) in enumerate(steps):
            account = MarginAccount.objects.get(pk=accounts[who % 2].pk)
            if step == "deposit":
                services.deposit_credit(
                    margin_account=account, amount=amount, value_date=DAY, bank_reference=f"B{n}"
                )
            elif step == "withdraw":
                services.withdrawal_request(
                    client=clients[who % 2],
                    margin_account_id=account.pk,
                    bank_account_id=banks[who % 2].pk,
                    amount=amount,
                )
            elif step == "finance":
                _finance(account, amount)
            elif step == "buy":
                _buy(account, amount)
            elif step == "accrue":
                services.interest_accrue(trading_day=DAY)
            elif step == "liquidate":
                _liquidate(account, amount, n)
            else:
                candidates = list(
                    JournalEntry.objects.filter(
                        reverses__isnull=True, reversed_by__isnull=True
                    ).exclude(kind__in=["opening", "withdrawal", "withdrawal_paid"])
                )
                if candidates:
                    entry = candidates[who % len(candidates)]
                    try:
                        ledger.entry_reverse(entry_id=entry.pk, actor=None, reason="test")
                    except Exception as exc:  # a reversal that would overdraw is refused
                        from margin.services import BalancesWouldGoNegative

                        assert isinstance(exc, BalancesWouldGoNegative)

        for total in LedgerLine.objects.values("entry").annotate(total=Sum("amount")):
            assert total["total"] == 0
        owed = ledger.kind_total(ledger.LedgerAccount.CLIENT_MONEY_OWED)
        client_cash = sum((MarginAccount.objects.get(pk=a.pk).cash for a in accounts), D("0.00"))
        payable = ledger.balance(ledger.house_account(Kind.WITHDRAWALS_PAYABLE))
        suspense = ledger.balance(ledger.house_account(Kind.SUSPENSE))
        assert owed == client_cash + payable + suspense
        # What the custodian holds is exactly what clients are owed: no company money mixed in.
        assert ledger.balance(ledger.house_account(Kind.CUSTODIAN)) == owed
        for account in accounts:
            fresh = MarginAccount.objects.get(pk=account.pk)
            assert ledger.balance(ledger.client_account(fresh, Kind.CLIENT_CASH)) == fresh.cash
            assert ledger.balance(ledger.client_account(fresh, Kind.CLIENT_DEBT)) == fresh.debt
            assert (
                ledger.balance(ledger.client_account(fresh, Kind.CLIENT_INTEREST))
                == fresh.accrued_interest
            )
        transaction.set_rollback(True)
