"""Deposits: the client's transfer reference and crediting a bank transfer to the client.

Crediting money in suspense to a client: ``funds.suspense``.
"""

from __future__ import annotations

import datetime
import secrets
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

import audit
from funds import ledger
from funds.amounts import _yuan
from funds.ledger import Kind
from funds.models import (
    DepositReference,
    JournalEntry,
)
from margin.models import MarginAccount
from notices import services as notices

# --- deposits -------------------------------------------------------------------------------------

_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read over the phone


def deposit_reference_for(margin_account: MarginAccount) -> DepositReference:
    """The client's deposit reference, created on first use (WR + 8 unambiguous characters)."""
    found = DepositReference.objects.filter(margin_account=margin_account).first()
    if found is not None:
        return found
    while True:
        code = "WR" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _i in range(8))
        if not DepositReference.objects.filter(reference=code).exists():
            return DepositReference.objects.create(margin_account=margin_account, reference=code)


@transaction.atomic
def deposit_credit(
    *,
    margin_account: MarginAccount,
    amount: Decimal,
    value_date: datetime.date,
    bank_reference: str,
    actor: Any = "custodian import",
) -> JournalEntry:
    """Credit a client with money the custodian received for them (once per bank reference)."""
    entry = ledger.entry_post(
        kind=JournalEntry.Kind.DEPOSIT,
        description=ledger.memo(
            margin_account, lambda: _("Deposit %(ref)s") % {"ref": bank_reference}
        ),
        value_date=value_date,
        lines=[
            (ledger.house_account(Kind.CUSTODIAN), amount),
            (ledger.client_account(margin_account, Kind.CLIENT_CASH), -amount),
        ],
        idempotency_key=f"deposit:{bank_reference}",
        posted_by=actor,
    )
    audit.record(
        actor=actor,
        action="funds.deposit_credited",
        obj=entry,
        data={"account": margin_account.number, "amount": str(amount), "bank": bank_reference},
    )
    notices.enqueue(
        recipient=margin_account.client,
        key="funds_deposit_received",
        context={"account_number": margin_account.number, "amount": _yuan(amount)},
        idempotency_key=f"funds-deposit:{bank_reference}",
    )
    return entry
