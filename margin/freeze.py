"""Emergency freezes: of one account, by two risk officers; and of new business platform-wide, at
the volatility regime's emergency level (the operating framework's 应急冻结线).

A frozen account takes no new financing, buys nothing and withdraws nothing; the platform freeze
line stops new financing and purchases on every account and leaves withdrawals to the usual lines
(``margin.restrictions``). Selling stays allowed either way, so a client can always reduce risk.
An account
freeze is requested by one officer with the reason the client will read, and takes effect only
when a second officer approves it; the client is told why and how to have it lifted (a ticket in
Support), and again when it is lifted. The platform freeze line is a regime like the others: one
officer proposes it with a reason, another confirms it, and confirming any other regime lifts it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

import audit
from margin import selectors
from margin.models import AccountFreeze, MarginAccount, Restriction, VolatilityRegime
from notices import services as notices
from portal import formatting


class FreezeError(ValueError):
    """A freeze action the rules do not allow; the message is shown to the officer."""


def _check_officer(officer: Any) -> None:
    if not officer.has_perm("margin.decide_accountfreeze"):
        raise FreezeError(_("Only a risk officer may freeze or unfreeze an account."))


def _local(moment) -> str:
    return formatting.beijing_minute(moment)


@transaction.atomic
def account_freeze_request(*, account_id: int, officer: Any, reason: str) -> AccountFreeze:
    """Ask for an account to be frozen; a second risk officer must approve it."""
    _check_officer(officer)
    reason = (reason or "").strip()
    if not reason:
        raise FreezeError(_("Say why the account is frozen: the client will read it."))
    account = MarginAccount.objects.select_for_update().get(pk=account_id)
    if AccountFreeze.objects.filter(account=account, status=AccountFreeze.Status.PROPOSED).exists():
        raise FreezeError(_("A freeze of this account is already awaiting a second officer."))
    if Restriction.objects.filter(
        account=account, kind=Restriction.Kind.FROZEN, lifted_at__isnull=True
    ).exists():
        raise FreezeError(_("This account is already frozen."))
    freeze = AccountFreeze.objects.create(account=account, reason=reason, requested_by=officer)
    audit.record(
        actor=officer,
        action="margin.freeze_requested",
        obj=freeze,
        data={"account": account.number, "reason": reason},
    )
    return freeze


@transaction.atomic
def account_freeze_decide(
    *, freeze_id: int, officer: Any, approve: bool, note: str = ""
) -> AccountFreeze:
    """A second risk officer approves (the account is frozen at once) or rejects a request."""
    _check_officer(officer)
    freeze = (
        AccountFreeze.objects.select_for_update()
        .select_related("account__client")
        .get(pk=freeze_id)
    )
    if freeze.status != AccountFreeze.Status.PROPOSED:
        raise FreezeError(_("This freeze has already been decided."))
    if freeze.requested_by_id == officer.pk:
        raise FreezeError(
            _("Four-eyes rule: the officer who asked for the freeze cannot also approve it.")
        )
    note = (note or "").strip()
    if not approve and not note:
        raise FreezeError(_("Say why the freeze is rejected."))
    now = timezone.now()
    freeze.decided_by, freeze.decided_at, freeze.decision_note = officer, now, note
    if not approve:
        freeze.status = AccountFreeze.Status.REJECTED
        freeze.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        audit.record(
            actor=officer, action="margin.freeze_rejected", obj=freeze, data={"note": note}
        )
        return freeze
    account = freeze.account
    restriction = Restriction.objects.create(
        account=account,
        kind=Restriction.Kind.FROZEN,
        reason=freeze.reason,
        imposed_at=now,
        imposed_by=officer,
    )
    freeze.status, freeze.restriction = AccountFreeze.Status.APPROVED, restriction
    freeze.save(
        update_fields=["status", "decided_by", "decided_at", "decision_note", "restriction"]
    )
    audit.record(
        actor=officer,
        action="margin.account_frozen",
        obj=restriction,
        data={
            "account": account.number,
            "reason": freeze.reason,
            "requested_by": freeze.requested_by_id,
            "approved_by": officer.pk,
        },
    )
    notices.enqueue(
        recipient=account.client,
        key="margin_frozen",
        context={
            "account_number": account.number,
            "reason": freeze.reason,
            "frozen_at": _local(now),
        },
        idempotency_key=f"margin-frozen:{restriction.pk}",
    )
    MarginAccount.objects.filter(pk=account.pk).update(state_changed_at=now)
    return freeze


@transaction.atomic
def account_freeze_lift(*, restriction_id: int, officer: Any, reason: str) -> Restriction:
    """Lift an account's freeze, saying why; the client is told."""
    _check_officer(officer)
    reason = (reason or "").strip()
    if not reason:
        raise FreezeError(_("Say why the freeze is lifted: the client will read it."))
    restriction = (
        Restriction.objects.select_for_update()
        .select_related("account__client")
        .get(pk=restriction_id)
    )
    if restriction.kind != Restriction.Kind.FROZEN or not restriction.is_active:
        raise FreezeError(_("This is not an active freeze."))
    now = timezone.now()
    restriction.lifted_at = max(now, restriction.imposed_at)
    restriction.lifted_by, restriction.lift_reason = officer, reason
    restriction.save(update_fields=["lifted_at", "lifted_by", "lift_reason"])
    account = restriction.account
    audit.record(
        actor=officer,
        action="margin.account_unfrozen",
        obj=restriction,
        data={"account": account.number, "reason": reason},
    )
    notices.enqueue(
        recipient=account.client,
        key="margin_unfrozen",
        context={"account_number": account.number, "reason": reason},
        idempotency_key=f"margin-unfrozen:{restriction.pk}",
    )
    MarginAccount.objects.filter(pk=account.pk).update(state_changed_at=now)
    return restriction


@transaction.atomic
def volatility_regime_request(*, officer: Any, regime: str, reason: str) -> VolatilityRegime:
    """A risk officer proposes a regime — the emergency freeze line, or back from it — with the
    reason clients will read; another officer confirms it (``volatility_regime_decide``)."""
    if not officer.has_perm("margin.decide_volatilityregime"):
        raise FreezeError(_("Only a risk officer may propose a volatility regime."))
    if regime not in VolatilityRegime.Regime.values:
        raise FreezeError(_("Choose a regime from the list."))
    reason = (reason or "").strip()
    if not reason:
        raise FreezeError(_("Say why: clients will read it."))
    if VolatilityRegime.objects.filter(status=VolatilityRegime.Status.PROPOSED).exists():
        raise FreezeError(_("Another proposal is waiting for a decision; decide it first."))
    current = selectors.current_regime()
    volatility = current.market_volatility if current else Decimal("0.0000")
    row = VolatilityRegime.objects.create(
        regime=regime, market_volatility=volatility, proposed_by=officer, reason=reason
    )
    audit.record(
        actor=officer,
        action="margin.regime_requested",
        obj=row,
        data={"regime": regime, "reason": reason},
    )
    return row
