"""Margin balances follow the client-money ledger (funds), the one owner of the books."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from margin import rules
from margin.models import (
    MarginAccount,
)


class BalancesWouldGoNegative(ValueError):
    """A posting would take a margin balance below zero; nothing was changed."""


# No savepoint (two statements a posting): it raises before it writes, and no caller goes on in
# its transaction after a refusal (``funds.ledger.entry_reverse`` has a savepoint of its own).
@transaction.atomic(savepoint=False)
def account_balances_apply(
    *,
    account_id: int,
    cash: Decimal = rules.ZERO_MONEY,
    debt: Decimal = rules.ZERO_MONEY,
    accrued_interest: Decimal = rules.ZERO_MONEY,
    fees_owed: Decimal = rules.ZERO_MONEY,
) -> MarginAccount:
    """Move an account's balances by what a funds ledger entry posted (the only way funds does).

    The client-money ledger (funds) is the record; these balances follow it in the same
    transaction, and the daily reconciliation compares the two. The risk engine reloads the
    account (``state_changed_at``).
    """
    account = MarginAccount.objects.select_for_update().get(pk=account_id)
    changes = {
        "cash": cash,
        "debt": debt,
        "accrued_interest": accrued_interest,
        "fees_owed": fees_owed,
    }
    for field, delta in changes.items():
        value = getattr(account, field) + delta
        if value < 0:
            raise BalancesWouldGoNegative(f"{field} of {account.number} would be {value}")
        setattr(account, field, value)
    account.state_changed_at = timezone.now()
    account.save(update_fields=[*changes, "state_changed_at"])
    return account
