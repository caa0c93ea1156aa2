"""Reads the funds pages, statements and other apps share."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet, Sum

from funds.ledger import FEN, ZERO, Kind
from funds.models import Charge, LedgerLine, Statement, WithdrawalRequest
from margin.models import MarginAccount

CLIENT_KINDS = (Kind.CLIENT_CASH, Kind.CLIENT_DEBT, Kind.CLIENT_INTEREST, Kind.CLIENT_FEES)


@dataclass(frozen=True)
class Movement:
    entry_id: int
    value_date: datetime.date
    kind: str
    kind_label: Any
    description: str
    account_kind: str
    account_label: Any
    amount: Decimal  # positive: more of that balance (cash in, or more owed)


def account_for_client(user) -> MarginAccount | None:
    from margin import selectors as margin

    return margin.account_for_client(user)


def _signed(kind: str, raw: Decimal) -> Decimal:
    return -raw if kind == Kind.CLIENT_CASH else raw


def movements(
    account: MarginAccount,
    *,
    start: datetime.date | None = None,
    end: datetime.date | None = None,
    limit: int | None = None,
) -> list[Movement]:
    """Every ledger line on the client's own accounts, newest first."""
    lines = LedgerLine.objects.filter(
        account__margin_account=account, account__kind__in=CLIENT_KINDS
    ).select_related("entry", "account")
    if start:
        lines = lines.filter(entry__value_date__gte=start)
    if end:
        lines = lines.filter(entry__value_date__lte=end)
    lines = lines.order_by("-entry__value_date", "-entry_id", "pk")
    if limit:
        lines = lines[:limit]
    return [
        Movement(
            entry_id=line.entry_id,
            value_date=line.entry.value_date,
            kind=line.entry.kind,
            kind_label=line.entry.get_kind_display(),
            description=line.entry.description,
            account_kind=line.account.kind,
            account_label=line.account.get_kind_display(),
            amount=_signed(line.account.kind, line.amount),
        )
        for line in lines
    ]


def balances_at(account: MarginAccount, day: datetime.date | None) -> dict[str, Decimal]:
    """The client's cash, debt, interest and fees in the ledger at the end of ``day``."""
    result = {}
    for kind in CLIENT_KINDS:
        lines = LedgerLine.objects.filter(account__margin_account=account, account__kind=kind)
        if day is not None:
            lines = lines.filter(entry__value_date__lte=day)
        raw = lines.aggregate(total=Sum("amount"))["total"] or ZERO
        result[str(kind)] = _signed(kind, raw).quantize(FEN)
    return result


def charges(
    account: MarginAccount, *, start: datetime.date, end: datetime.date
) -> QuerySet[Charge]:
    return Charge.objects.filter(
        margin_account=account, day__gte=start, day__lte=end
    ).select_related("fee_item")


def withdrawals(account: MarginAccount) -> QuerySet[WithdrawalRequest]:
    return WithdrawalRequest.objects.filter(margin_account=account).select_related("bank_account")


def statements(account: MarginAccount) -> QuerySet[Statement]:
    return Statement.objects.filter(margin_account=account)


def daily_net_flows(start: datetime.date, end: datetime.date) -> dict[datetime.date, Decimal]:
    """Client money in (deposits) less money out (withdrawals) per value date, all clients."""
    from funds.models import JournalEntry

    rows = (
        LedgerLine.objects.filter(
            account__kind=Kind.CLIENT_CASH,
            entry__kind__in=[JournalEntry.Kind.DEPOSIT, JournalEntry.Kind.WITHDRAWAL],
            entry__value_date__gte=start,
            entry__value_date__lte=end,
        )
        .values("entry__value_date")
        .annotate(total=Sum("amount"))
    )
    # Client cash is a liability: a credit (negative) is money in.
    return {row["entry__value_date"]: -row["total"] for row in rows}
