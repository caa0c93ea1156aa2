"""Reads the funds pages, statements and other apps share."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet, Sum

from funds.ledger import FEN, ZERO, Kind
from funds.models import Charge, JournalEntry, LedgerLine, Statement, WithdrawalRequest
from margin.models import MarginAccount
from portal.money import round_fen

CLIENT_KINDS = (Kind.CLIENT_CASH, Kind.CLIENT_DEBT, Kind.CLIENT_INTEREST, Kind.CLIENT_FEES)


@dataclass(frozen=True)
class Movement:
    """One ledger entry as the client's statement shows it: one line, whatever number of ledger
    lines it posted on the client's balances (a forced sale posts proceeds, costs and each
    repayment separately; the client sees one sale)."""

    entry_id: int
    value_date: datetime.date
    kind: str
    kind_label: Any
    description: str
    cash: Decimal | None  # change to the client's cash: + money in, − money out
    owed: Decimal | None  # change to what the client owes, signed as a balance: − owes more


def account_for_client(user) -> MarginAccount | None:
    from margin import selectors as margin

    return margin.account_for_client(user)


def _signed(kind: str, raw: Decimal) -> Decimal:
    return -raw if kind == Kind.CLIENT_CASH else raw


def _client_entries(
    account: MarginAccount, start: datetime.date | None, end: datetime.date | None
) -> QuerySet[JournalEntry]:
    entries = JournalEntry.objects.filter(
        lines__account__margin_account=account, lines__account__kind__in=CLIENT_KINDS
    )
    if start:
        entries = entries.filter(value_date__gte=start)
    if end:
        entries = entries.filter(value_date__lte=end)
    return entries.distinct().order_by("-value_date", "-pk")


def movements(
    account: MarginAccount,
    *,
    start: datetime.date | None = None,
    end: datetime.date | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[Movement]:
    """Every ledger entry on the client's own balances, newest first, one line each."""
    lines = LedgerLine.objects.filter(
        account__margin_account=account, account__kind__in=CLIENT_KINDS
    )
    entries = _client_entries(account, start, end)
    if limit:
        entries = entries[offset : offset + limit]
    elif offset:
        entries = entries[offset:]
    found = list(entries)
    entry_ids = [entry.pk for entry in found]
    totals: dict[int, dict[str, Decimal]] = {}
    for entry_id, kind, amount in lines.filter(entry_id__in=entry_ids).values_list(
        "entry_id", "account__kind", "amount"
    ):
        side = "cash" if kind == Kind.CLIENT_CASH else "owed"
        # Cash lines are credits when money comes in; an owed balance is a debit when it grows.
        totals.setdefault(entry_id, {})
        totals[entry_id][side] = totals[entry_id].get(side, ZERO) - amount
    result = []
    for entry in found:
        sides = totals.get(entry.pk, {})
        result.append(
            Movement(
                entry_id=entry.pk,
                value_date=entry.value_date,
                kind=entry.kind,
                kind_label=entry.get_kind_display(),
                description=entry.description,
                cash=sides.get("cash"),
                owed=sides.get("owed"),
            )
        )
    return result


class MovementPages:
    """The client's movements as a Paginator takes them: a count, and slices of one page each
    (two queries a page, however long the account's history)."""

    def __init__(self, account: MarginAccount) -> None:
        self.account = account

    def count(self) -> int:
        return _client_entries(self.account, None, None).count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, window: slice) -> list[Movement]:
        start = window.start or 0
        return movements(self.account, offset=start, limit=window.stop - start)


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
    # Client cash is a liability: a credit (negative) is money in. To the fen: SQLite's SUM of
    # decimals comes back without their scale (2999 for 2999.00).
    return {row["entry__value_date"]: round_fen(-row["total"]) for row in rows}
