"""Posting to the double-entry ledger: the one place journal entries and lines are written.

Every posting that touches a client's cash, debt, interest or fees account moves the matching
margin-account balance through ``margin.services.account_balances_apply`` in the same
transaction, so margin balances follow the ledger and are never edited by hand.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable, Iterable
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _

import audit
from funds.models import JournalEntry, LedgerAccount, LedgerLine
from margin.models import MarginAccount

FEN = Decimal("0.01")
ZERO = Decimal("0.00")
Kind = LedgerAccount.Kind

# Which margin balance a client ledger account drives, and with which sign of the line amount.
_MARGIN_FIELD = {
    Kind.CLIENT_CASH: ("cash", -1),  # a credit to client cash is more cash
    Kind.CLIENT_DEBT: ("debt", 1),
    Kind.CLIENT_INTEREST: ("accrued_interest", 1),
    Kind.CLIENT_FEES: ("fees_owed", 1),
}


class UnbalancedEntry(ValueError):
    """The lines of an entry do not sum to zero, or an amount is not whole fen."""


class AlreadyReversed(ValueError):
    """An entry may be reversed once, and a reversal is not itself reversed."""


def house_account(kind: str) -> LedgerAccount:
    account, _created = LedgerAccount.objects.get_or_create(
        kind=kind, margin_account=None, defaults={"code": str(kind).upper()}
    )
    return account


def client_account(margin_account: MarginAccount, kind: str) -> LedgerAccount:
    account, _created = LedgerAccount.objects.get_or_create(
        kind=kind,
        margin_account=margin_account,
        defaults={"code": f"{str(kind).upper()}:{margin_account.number}"},
    )
    return account


def _check(amount: object) -> Decimal:
    if not isinstance(amount, Decimal):
        raise UnbalancedEntry(f"amounts must be Decimal, not {type(amount).__name__}")
    if amount != amount.quantize(FEN) or amount == 0:
        raise UnbalancedEntry(f"amounts must be non-zero whole fen: {amount}")
    return amount.quantize(FEN)


def entry_post(
    *,
    kind: str,
    description: str,
    value_date: datetime.date,
    lines: Iterable[tuple[LedgerAccount, Decimal]],
    idempotency_key: str | None = None,
    posted_by=None,
    reverses: JournalEntry | None = None,
    apply_to_margin: bool = True,
) -> JournalEntry:
    """Post one balanced entry (debits positive, credits negative); return it.

    Posting an ``idempotency_key`` already used returns the stored entry and changes nothing.
    A new entry carries ``posted_line_ids``: its lines' ids, in the order of ``lines``.
    ``apply_to_margin=False`` is only for opening balances that margin already holds.
    """
    if idempotency_key:
        existing = JournalEntry.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
    checked = [(account, _check(amount)) for account, amount in lines]
    if len(checked) < 2:
        raise UnbalancedEntry("an entry needs at least two lines")
    if sum((amount for _a, amount in checked), ZERO) != 0:
        raise UnbalancedEntry("debits and credits differ")
    # Checked before the transaction, so a refused entry leaves the caller's usable; what fails
    # from here on (a balance that would go negative, the database) fails the caller's whole
    # transaction, as no caller goes on after it: no savepoint (two statements an entry).
    with transaction.atomic(savepoint=False):
        entry = JournalEntry.objects.create(
            kind=kind,
            description=description[:200],
            value_date=value_date,
            idempotency_key=idempotency_key,
            posted_by=posted_by if getattr(posted_by, "pk", None) else None,
            reverses=reverses,
        )
        created = LedgerLine.objects.bulk_create(
            LedgerLine(entry=entry, account=account, amount=amount) for account, amount in checked
        )
        # The new lines' ids in the order given (the caller names the lines that charged a cost).
        entry.posted_line_ids = [line.pk for line in created]
        if apply_to_margin:
            _apply_to_margin(checked)
    return entry


def _apply_to_margin(lines: list[tuple[LedgerAccount, Decimal]]) -> None:
    from margin.services import account_balances_apply

    deltas: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for account, amount in lines:
        if account.margin_account_id is None or account.kind not in _MARGIN_FIELD:
            continue
        field, sign = _MARGIN_FIELD[Kind(account.kind)]
        changes = deltas[account.margin_account_id]
        changes[field] = changes.get(field, ZERO) + sign * amount
    for margin_account_id in sorted(deltas):
        account_balances_apply(account_id=margin_account_id, **deltas[margin_account_id])


@transaction.atomic
def entry_reverse(*, entry_id: int, actor, reason: str) -> JournalEntry:
    """Undo an entry by posting its mirror image; the original stays as it was. Audited."""
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("a reversal needs a reason")
    original = JournalEntry.objects.select_for_update().get(pk=entry_id)
    if original.reverses_id is not None or JournalEntry.objects.filter(reverses=original).exists():
        raise AlreadyReversed(f"entry {original.pk} cannot be reversed again")
    reversal = entry_post(
        kind=JournalEntry.Kind.REVERSAL,
        description=memo(
            _client_of(original),
            lambda: (
                _("Reversal of #%(entry)s: %(reason)s") % {"entry": original.pk, "reason": reason}
            ),
        ),
        value_date=timezone.localdate(),
        lines=[(line.account, -line.amount) for line in original.lines.select_related("account")],
        reverses=original,
        posted_by=actor,
    )
    audit.record(
        actor=actor,
        action="funds.entry_reversed",
        obj=reversal,
        data={"reverses": original.pk, "reason": reason},
    )
    return reversal


def balance(account: LedgerAccount, *, until: datetime.date | None = None) -> Decimal:
    """The account's balance, positive on its normal side (credits for what is owed to others)."""
    lines = LedgerLine.objects.filter(account=account)
    if until is not None:
        lines = lines.filter(entry__value_date__lte=until)
    raw = lines.aggregate(total=Sum("amount"))["total"] or ZERO
    return (-raw if account.credit_normal else raw).quantize(FEN)


def kind_total(kinds: Iterable[str], *, until: datetime.date | None = None) -> Decimal:
    """The sum of the balances of every account of these kinds, on their normal side."""
    total = ZERO
    for kind in kinds:
        lines = LedgerLine.objects.filter(account__kind=kind)
        if until is not None:
            lines = lines.filter(entry__value_date__lte=until)
        raw = lines.aggregate(total=Sum("amount"))["total"] or ZERO
        total += -raw if LedgerAccount(kind=kind).credit_normal else raw
    return total.quantize(FEN)


def _client_of(entry: JournalEntry) -> MarginAccount | None:
    for line in entry.lines.select_related("account__margin_account__client"):
        if line.account.margin_account is not None:
            return line.account.margin_account
    return None


def memo(margin_account: MarginAccount | None, render: Callable[[], str]) -> str:
    """An entry's memo in the language of the client it concerns (zh-Hans, the company's language,
    for house entries), as a bank writes a statement line: a record that never changes.
    `render` builds the text with gettext while that language is active."""
    client = getattr(margin_account, "client", None)
    with translation.override(getattr(client, "language", None) or settings.LANGUAGE_CODE):
        return str(render())[:200]


def open_margin_account(margin_account: MarginAccount, *, value_date: datetime.date) -> bool:
    """Bring an account's existing balances into the ledger once (opening balances).

    Cash is client money at the custodian; debt, interest and fees are owed by the client against
    company financing and income. Margin already holds these balances, so nothing is applied back.
    Returns whether an entry was posted.
    """
    key = f"opening:{margin_account.number}"
    if JournalEntry.objects.filter(idempotency_key=key).exists():
        return False
    lines: list[tuple[LedgerAccount, Decimal]] = []
    amounts = [
        (Kind.CLIENT_CASH, Kind.CUSTODIAN, margin_account.cash),
        (Kind.CLIENT_DEBT, Kind.FINANCING_SOURCE, margin_account.debt),
        (Kind.CLIENT_INTEREST, Kind.INTEREST_INCOME, margin_account.accrued_interest),
        (Kind.CLIENT_FEES, Kind.FEE_INCOME, margin_account.fees_owed),
    ]
    for client_kind, house_kind, amount in amounts:
        if not amount:
            continue
        client = client_account(margin_account, client_kind)
        house = house_account(house_kind)
        if client_kind == Kind.CLIENT_CASH:  # the custodian holds it, the client is owed it
            lines += [(house, amount), (client, -amount)]
        else:
            lines += [(client, amount), (house, -amount)]
    for kind in _MARGIN_FIELD:
        client_account(margin_account, kind)
    if not lines:
        return False
    entry_post(
        kind=JournalEntry.Kind.OPENING,
        description=memo(
            margin_account,
            lambda: _("Opening balances of %(account)s") % {"account": margin_account.number},
        ),
        value_date=value_date,
        lines=lines,
        idempotency_key=key,
        apply_to_margin=False,
    )
    return True
