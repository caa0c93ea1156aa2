"""Money in suspense (a receipt no deposit reference matched), credited to a client by an agent.

Crediting suspense moves client money on one person's say-so, so:

- the agent confirms on a page that shows the payer's name from the bank line beside the client's
  verified name (the approved KYC case), before anything moves;
- a payer name that matches the verified name credits at once;
- any other needs a second staff member holding ``funds.approve_suspense_credit`` (never the agent
  who asked), as withdrawals above the threshold do;
- an agent puts through at most FUNDS_SUSPENSE_DAILY_LIMIT yuan (200,000.00 by default) a Beijing
  calendar day, counted when the credit is asked for, matched or not (a request cancelled before
  approval moved nothing and stops counting): with 150,000.00 already asked today, 50,000.00
  more is allowed and 50,000.01 is refused.

Names match when, after NFKC normalisation, removing spaces and name dots and ignoring case, they
are equal, or the payer's Latin name is the pinyin of the verified name, family name first or last
(林岚 ↔ "LIN LAN", "Lan Lin", "LINLAN").
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from pypinyin import lazy_pinyin

import audit
from accounts import selectors as accounts
from funds import ledger
from funds.ledger import Kind
from funds.models import BankAccount, CustodianTransaction, JournalEntry
from margin.models import MarginAccount, MarginCall
from notices import services as notices
from portal import calendars

Match = CustodianTransaction.Match
_NAME_NOISE = re.compile(r"[\s·•.\-_,，。]+")


class SuspenseCreditError(ValueError):
    """A credit the rules do not allow; the message is shown to the staff member."""


def daily_limit() -> Decimal:
    return Decimal(str(settings.FUNDS_SUSPENSE_DAILY_LIMIT))


def _normalise(name: str) -> str:
    return _NAME_NOISE.sub("", unicodedata.normalize("NFKC", name or "")).casefold()


def names_match(payer: str, verified: str | None) -> bool:
    """Whether the payer's name on the bank line is the client's verified name (module doc)."""
    if not verified or not payer:
        return False
    paid, known = _normalise(payer), _normalise(verified)
    if not paid or not known:
        return False
    if paid == known:
        return True
    syllables = [s.casefold() for s in lazy_pinyin(known) if s.strip()]
    if len(syllables) < 2 or not paid.isascii():
        return False
    family_last = syllables[1:] + syllables[:1]
    return paid in {"".join(syllables), "".join(family_last)}


def verified_name(margin_account: MarginAccount) -> str | None:
    """The client's legal name from their approved KYC case, or None if not verified."""
    case = accounts.kyc_case(margin_account.client)
    if case is None or case.status != case.Status.APPROVED:
        return None
    return case.legal_name or None


def _beijing_day_bounds(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    start = datetime.datetime.combine(day, datetime.time.min, tzinfo=calendars.SHANGHAI)
    return start, start + datetime.timedelta(days=1)


def agent_requested_on(agent: Any, day: datetime.date) -> Decimal:
    """The yuan `agent` asked to credit from suspense on Beijing calendar day `day`."""
    start, end = _beijing_day_bounds(day)
    total = CustodianTransaction.objects.filter(
        credit_requested_by=agent, credit_requested_at__gte=start, credit_requested_at__lt=end
    ).aggregate(total=Sum("amount"))["total"]
    return total or Decimal("0.00")


@dataclass(frozen=True)
class CreditPreview:
    """What the agent is shown before confirming."""

    transaction: CustodianTransaction
    margin_account: MarginAccount
    payer_name: str
    verified_name: str | None
    names_match: bool
    requested_today: Decimal
    limit: Decimal

    @property
    def within_limit(self) -> bool:
        return self.requested_today + self.transaction.amount <= self.limit


def suspense_credit_preview(
    *, transaction_id: int, margin_account_id: int, agent: Any
) -> CreditPreview:
    """The confirmation page's content: payer, verified name, match, the agent's day so far."""
    txn = CustodianTransaction.objects.get(pk=transaction_id)
    account = MarginAccount.objects.select_related("client").get(pk=margin_account_id)
    name = verified_name(account)
    return CreditPreview(
        transaction=txn,
        margin_account=account,
        payer_name=txn.counterparty_name,
        verified_name=name,
        names_match=names_match(txn.counterparty_name, name),
        requested_today=agent_requested_on(agent, timezone.localdate()),
        limit=daily_limit(),
    )


@transaction.atomic
def suspense_credit_request(
    *, transaction_id: int, margin_account_id: int, agent: Any
) -> CustodianTransaction:
    """An agent asks to credit money in suspense to a client (module doc for the rules).

    Credited at once when the payer's name matches the client's verified name; otherwise left
    waiting for a second person's approval. Audited either way.
    """
    if not agent.has_perm("funds.change_custodiantransaction"):
        raise PermissionDenied(_("Only agents working suspense may credit it to a client."))
    # One agent's requests are counted one at a time, so two tabs cannot both pass the limit.
    get_user_model().objects.select_for_update().get(pk=agent.pk)
    txn = CustodianTransaction.objects.select_for_update().get(pk=transaction_id)
    if txn.match != Match.SUSPENSE:
        raise SuspenseCreditError(_("Only money held in suspense can be credited to a client."))
    if txn.credit_requested_at is not None:
        raise SuspenseCreditError(_("A credit of this receipt is already waiting for approval."))
    preview = suspense_credit_preview(
        transaction_id=txn.pk, margin_account_id=margin_account_id, agent=agent
    )
    if not preview.within_limit:
        raise SuspenseCreditError(
            _(
                "Daily limit reached: you have asked to credit %(used)s yuan from suspense today; "
                "%(amount)s more would pass the limit of %(limit)s yuan a day."
            )
            % {
                "used": f"{preview.requested_today:,.2f}",
                "amount": f"{txn.amount:,.2f}",
                "limit": f"{preview.limit:,.2f}",
            }
        )
    txn.margin_account = preview.margin_account
    txn.credit_requested_by, txn.credit_requested_at = agent, timezone.now()
    txn.payer_name_matched = preview.names_match
    txn.save(
        update_fields=[
            "margin_account",
            "credit_requested_by",
            "credit_requested_at",
            "payer_name_matched",
        ]
    )
    audit.record(
        actor=agent,
        action="funds.suspense_credit_requested",
        obj=txn,
        data={
            "account": preview.margin_account.number,
            "amount": str(txn.amount),
            "payer_name": txn.counterparty_name,
            "verified_name": preview.verified_name or "",
            "names_match": preview.names_match,
        },
    )
    if preview.names_match:
        _credit(txn, actor=agent)
    return txn


@transaction.atomic
def suspense_credit_approve(*, transaction_id: int, approver: Any) -> JournalEntry:
    """The second person approves a credit whose payer name did not match; it is credited."""
    if not approver.has_perm("funds.approve_suspense_credit"):
        raise PermissionDenied(_("You may not approve credits from suspense."))
    txn = CustodianTransaction.objects.select_for_update().get(pk=transaction_id)
    if txn.match != Match.SUSPENSE or txn.credit_requested_at is None:
        raise SuspenseCreditError(_("There is no credit of this receipt waiting for approval."))
    if txn.credit_requested_by_id == approver.pk:
        raise SuspenseCreditError(
            _("Four-eyes rule: a second, different staff member must approve this credit.")
        )
    txn.credit_approved_by = approver
    txn.save(update_fields=["credit_approved_by"])
    return _credit(txn, actor=approver)


@transaction.atomic
def suspense_credit_cancel(*, transaction_id: int, staff: Any) -> CustodianTransaction:
    """Withdraw a credit waiting for approval (the requester, or an approver refusing it)."""
    txn = CustodianTransaction.objects.select_for_update().get(pk=transaction_id)
    if txn.match != Match.SUSPENSE or txn.credit_requested_at is None:
        raise SuspenseCreditError(_("There is no credit of this receipt waiting for approval."))
    if txn.credit_requested_by_id != staff.pk and not staff.has_perm(
        "funds.approve_suspense_credit"
    ):
        raise PermissionDenied(_("You may not cancel this credit."))
    audit.record(
        actor=staff,
        action="funds.suspense_credit_cancelled",
        obj=txn,
        data={"account": txn.margin_account.number if txn.margin_account else ""},
    )
    # Nothing moved, so the amount no longer counts against the agent's day.
    txn.margin_account, txn.payer_name_matched = None, None
    txn.credit_requested_at = None
    txn.save(update_fields=["margin_account", "payer_name_matched", "credit_requested_at"])
    return txn


def _credit(txn: CustodianTransaction, *, actor: Any) -> JournalEntry:
    assert txn.margin_account_id is not None  # set by suspense_credit_request
    margin_account = MarginAccount.objects.select_related("client").get(pk=txn.margin_account_id)
    entry = ledger.entry_post(
        kind=JournalEntry.Kind.DEPOSIT,
        description=ledger.memo(
            margin_account,
            lambda: _("Deposit %(ref)s (from suspense)") % {"ref": txn.bank_reference},
        ),
        value_date=timezone.localdate(),
        lines=[
            (ledger.house_account(Kind.SUSPENSE), txn.amount),
            (ledger.client_account(margin_account, Kind.CLIENT_CASH), -txn.amount),
        ],
        idempotency_key=f"suspense-resolve:{txn.bank_reference}",
        posted_by=actor,
    )
    txn.match, txn.resolved_entry = Match.RESOLVED, entry
    txn.save(update_fields=["match", "resolved_entry"])
    audit.record(
        actor=actor,
        action="funds.suspense_resolved",
        obj=txn,
        data={
            "account": margin_account.number,
            "amount": str(txn.amount),
            "requested_by": txn.credit_requested_by_id,
            "approved_by": txn.credit_approved_by_id,
            "names_match": bool(txn.payer_name_matched),
        },
    )
    notices.enqueue(
        recipient=margin_account.client,
        key="funds_deposit_received",
        context={"account_number": margin_account.number, "amount": f"{txn.amount:,.2f}"},
        idempotency_key=f"funds-deposit:{txn.bank_reference}",
    )
    return entry


# --- suggestions -----------------------------------------------------------------------------

_ACCOUNT_NUMBER = re.compile(r"\bMA\d{6,12}\b", re.IGNORECASE)
# Weights of the evidence for a candidate client; summed and capped below certainty, because a
# suggestion is never a decision: the agent confirms against the verified name, as above.
_EVIDENCE = {
    "account_number": Decimal("0.60"),
    "same_name": Decimal("0.50"),
    "pinyin_name": Decimal("0.40"),
    "own_bank_account": Decimal("0.50"),
    "margin_call_amount": Decimal("0.20"),
}
_MOST = Decimal("0.99")


@dataclass(frozen=True)
class Suggestion:
    margin_account: MarginAccount
    verified_name: str | None
    confidence: Decimal
    reasons: tuple[str, ...]


def _reason_text(key: str, txn: CustodianTransaction, account: MarginAccount) -> str:
    texts = {
        "account_number": _("the bank memo names account %(number)s"),
        "same_name": _("the payer's name is the client's verified name"),
        "pinyin_name": _("the payer's Latin name is the pinyin of the verified name"),
        "own_bank_account": _("paid from the client's own registered bank account"),
        "margin_call_amount": _("the amount is what the client's open margin call asks"),
    }
    return texts[key] % {"number": account.number}


def suspense_suggestions(txn: CustodianTransaction, *, limit: int = 5) -> list[Suggestion]:
    """Clients an unmatched receipt most likely belongs to, with the confidence and the evidence:
    an account number in the memo, the payer's name (Chinese, or its pinyin), the paying bank
    account being one the client registered, an amount equal to an open margin call's deposit."""
    evidence: dict[int, set[str]] = {}

    def note(account_ids, key: str) -> None:
        for account_id in account_ids:
            evidence.setdefault(account_id, set()).add(key)

    numbers = {n.upper() for n in _ACCOUNT_NUMBER.findall(txn.memo or "")}
    if numbers:
        note(
            MarginAccount.objects.filter(number__in=numbers).values_list("pk", flat=True),
            "account_number",
        )
    payer = txn.counterparty_name or ""
    if payer:
        for user_id, legal_name in accounts.approved_legal_names():
            if names_match(payer, legal_name):
                key = "same_name" if _normalise(payer) == _normalise(legal_name) else "pinyin_name"
                note(
                    MarginAccount.objects.filter(client_id=user_id).values_list("pk", flat=True),
                    key,
                )
    if txn.counterparty_account:
        owners = BankAccount.objects.filter(account_number=txn.counterparty_account).values(
            "client_id"
        )
        note(
            MarginAccount.objects.filter(client_id__in=owners).values_list("pk", flat=True),
            "own_bank_account",
        )
    if evidence:
        calls = MarginCall.objects.filter(
            account_id__in=list(evidence), status=MarginCall.Status.OPEN
        ).values_list("account_id", "deposit_needed")
        for account_id, needed in calls:
            if needed and abs(needed - txn.amount) <= needed * Decimal("0.005"):
                evidence[account_id].add("margin_call_amount")
    by_id = MarginAccount.objects.select_related("client").in_bulk(list(evidence))
    found = []
    for account_id, keys in evidence.items():
        account = by_id[account_id]
        confidence = min(_MOST, sum((_EVIDENCE[k] for k in keys), Decimal("0")))
        found.append(
            Suggestion(
                margin_account=account,
                verified_name=verified_name(account),
                confidence=confidence,
                reasons=tuple(_reason_text(k, txn, account) for k in sorted(keys)),
            )
        )
    found.sort(key=lambda s: (-s.confidence, s.margin_account.number))
    return found[:limit]
