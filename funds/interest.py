"""Daily interest accrual on financing debt, and penalty interest on overdue amounts."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from disclosures.kinds import Basis
from funds import ledger
from funds.amounts import SHANGHAI, ZERO
from funds.ledger import Kind
from funds.models import (
    Charge,
    JournalEntry,
)
from margin.models import MarginAccount, MarginContract
from portal import calendars, money

# --- interest -------------------------------------------------------------------------------------


def _end_of(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(23, 59, 59), SHANGHAI)


def days_to_accrue(trading_day: datetime.date) -> list[datetime.date]:
    """The calendar days a trading day's accrual covers: those after the previous trading day.

    Interest runs every calendar day; the run at Monday's close charges Saturday, Sunday and
    Monday, each as its own day at the rate in force that day.
    """
    calendar = calendars.trading_calendar()
    day = trading_day - datetime.timedelta(days=1)
    days = [trading_day]
    while not calendar.is_working_day(day) and len(days) < 15:
        days.insert(0, day)
        day -= datetime.timedelta(days=1)
    return days


def daily_charge(amount: Decimal, rate: Decimal, basis: str = "annual_360") -> Decimal:
    """One day's interest, as ``portal.money`` computes every day's interest."""
    return money.daily_interest(amount, rate, basis)


def _overdue(
    account: MarginAccount, contract: MarginContract | None, day: datetime.date
) -> Decimal:
    # Debt past its contract's rollover date is overdue until rolled over or repaid.
    if contract is not None and contract.rollover_on < day:
        return account.debt
    return ZERO


@transaction.atomic
def _charge(
    account: MarginAccount, kind: str, day: datetime.date, basis: Decimal, quote: Any
) -> Charge | None:
    if Charge.objects.filter(margin_account=account, kind=kind, day=day).exists():
        return None
    amount = daily_charge(basis, quote.value, quote.basis)
    if amount == 0:
        return None
    income = ledger.house_account(Kind.INTEREST_INCOME)
    receivable = ledger.client_account(account, Kind.CLIENT_INTEREST)
    entry = ledger.entry_post(
        kind=JournalEntry.Kind.INTEREST
        if kind == Charge.Kind.INTEREST
        else JournalEntry.Kind.PENALTY,
        description=ledger.memo(
            account,
            lambda: (
                _("%(day)s %(kind)s on %(basis)s at %(rate)s, %(rule)s (%(reference)s)")
                % {
                    "day": day,
                    "kind": Charge.Kind(kind).label,
                    "basis": basis,
                    "rate": quote.value,
                    "rule": Basis(quote.basis).label,
                    "reference": quote.reference,
                }
            ),
        ),
        value_date=day,
        lines=[(receivable, amount), (income, -amount)],
        idempotency_key=f"{kind}:{account.number}:{day.isoformat()}",
    )
    return Charge.objects.create(
        margin_account=account,
        kind=kind,
        day=day,
        basis_amount=basis,
        annual_rate=quote.value,  # as published, on the item's basis
        amount=amount,
        fee_item=quote.item,
        disclosure_version=quote.version,
        reference=quote.reference,
        entry=entry,
    )


def interest_accrue(*, trading_day: datetime.date) -> list[Charge]:
    """Accrue interest (and penalty interest) on every account's debt for a trading day's run.

    Each account-day-kind is charged once (a unique Charge row), so running again changes
    nothing. The rate is the contract's: the one it was opened or last rolled over under (or
    that its client accepted since), in effect at the end of the day charged, never the fee
    schedule in force; penalty interest comes from the same fee schedule version. Every charge
    names its fee item and disclosure version. An account without an active contract pays the
    schedule in force (it has no terms of its own to keep). A missing rate stops the run loudly:
    charging nothing would be silent.
    """
    from disclosures.selectors import financing_rate_in_force, penalty_rate_in_force
    from margin.contracts import ContractRates

    charges: list[Charge] = []
    days = days_to_accrue(trading_day)
    accounts = MarginAccount.objects.filter(debt__gt=0).order_by("pk")
    for account in accounts:
        contract = account.contracts.filter(status=MarginContract.Status.ACTIVE).first()
        rates = ContractRates(contract) if contract is not None else None
        for day in days:
            moment = _end_of(day)
            quote = rates.interest_quote(moment) if rates else financing_rate_in_force(1, moment)
            charge = _charge(account, Charge.Kind.INTEREST, day, account.debt, quote)
            if charge:
                charges.append(charge)
            overdue = _overdue(account, contract, day)
            if overdue > 0:
                penalty = rates.penalty_quote(moment) if rates else penalty_rate_in_force(moment)
                charge = _charge(account, Charge.Kind.PENALTY, day, overdue, penalty)
                if charge:
                    charges.append(charge)
    return charges
