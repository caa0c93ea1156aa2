"""What a client may do now: the restrictions on their account and the platform's freeze line.

- Reduce-only (a margin call is open, or its deadline passed unmet): no new financing, no
  purchases, no withdrawals, until the ratio is back at the warning line.
- Frozen (risk control, approved by a second officer): the same, until an officer lifts it.
- The platform-wide emergency freeze (the volatility regime's emergency level, the operating
  framework's 应急冻结线): the same restriction set, for every account at once.
- Concentration (the contract's Article 4): no purchases of the one security over the limit.

Selling is always allowed: it only lowers risk. Reads only; the services impose and lift.
The pre-trade check of the order ticket asks ``buy_refusal`` before any purchase.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from margin.models import MarginAccount, Restriction, VolatilityRegime


@dataclass(frozen=True)
class Blocker:
    """One reason the account may take no new financing, buy nothing and withdraw nothing."""

    kind: str  # "reduce_only", "frozen" or "platform"
    reason: str  # translated, for the client
    since: datetime.datetime | None
    detail: str = ""  # the officer's own words (a freeze's reason), in no particular language


@dataclass(frozen=True)
class Permissions:
    blockers: list[Blocker] = field(default_factory=list)
    no_purchase: dict[str, str] = field(default_factory=dict)  # code → why (translated)

    @property
    def may_finance(self) -> bool:
        return not self.blockers

    @property
    def may_withdraw(self) -> bool:
        return not self.blockers

    @property
    def may_sell(self) -> bool:
        return True

    def may_buy(self, code: str) -> bool:
        return not self.blockers and code not in self.no_purchase

    @property
    def reason(self) -> str:
        """Why new financing, purchases and withdrawals are refused ("" when they are not)."""
        return self.blockers[0].reason if self.blockers else ""


def emergency_regime() -> VolatilityRegime | None:
    """The confirmed emergency regime in force, if the platform is at its freeze line (the
    confirmed regime decided last is in force, as ``selectors.current_regime`` reads it)."""
    regime = (
        VolatilityRegime.objects.filter(status=VolatilityRegime.Status.CONFIRMED)
        .order_by("-decided_at")
        .first()
    )
    if regime is not None and regime.regime == VolatilityRegime.Regime.EMERGENCY:
        return regime
    return None


def platform_blocker() -> Blocker | None:
    regime = emergency_regime()
    if regime is None:
        return None
    reason = _(
        "The platform is at its emergency freeze line: no new financing, purchases or "
        "withdrawals for any account until risk control lifts it; selling is allowed."
    )
    if regime.reason:
        reason = f"{reason} {regime.reason}"
    return Blocker("platform", reason, regime.decided_at, regime.reason)


def _blocker(restriction: Restriction) -> Blocker:
    if restriction.kind == Restriction.Kind.FROZEN:
        reason = _(
            "Your account is frozen by risk control (reason: %(reason)s). To have it lifted, open "
            "a ticket in Support; a risk officer lifts it once the reason is resolved."
        ) % {"reason": restriction.reason}
    else:
        reason = _(
            "A margin call restricts your account to reducing positions until the ratio is "
            "restored to the warning line."
        )
    detail = restriction.reason if restriction.kind == Restriction.Kind.FROZEN else ""
    return Blocker(restriction.kind, reason, restriction.imposed_at, detail)


def account_permissions(account: MarginAccount | None) -> Permissions:
    """What the client of ``account`` may do now (two queries)."""
    active: list[Restriction] = []
    if account is not None:
        active = list(
            Restriction.objects.filter(account=account, lifted_at__isnull=True)
            .select_related("instrument")
            .order_by("imposed_at")
        )
    return account_blockers(active, platform_blocker())


def account_blockers(active: list[Restriction], platform: Blocker | None) -> Permissions:
    """Permissions from an account's active restrictions and the platform's freeze line."""
    blockers, no_purchase = [], {}
    for restriction in active:
        if restriction.kind == Restriction.Kind.CONCENTRATION and restriction.instrument:
            no_purchase[restriction.instrument.code] = restriction.reason
        elif restriction.kind in Restriction.BLOCKS_FINANCING_AND_WITHDRAWALS:
            blockers.append(_blocker(restriction))
    if platform is not None:
        blockers.append(platform)
    # A freeze is the stronger statement: the client reads it first.
    blockers.sort(key=lambda b: {"frozen": 0, "platform": 1}.get(b.kind, 2))
    return Permissions(blockers=blockers, no_purchase=no_purchase)


def buy_refusal(account: MarginAccount, code: str) -> str | None:
    """Why a purchase of ``code`` is refused now, or None when it may go ahead."""
    permissions = account_permissions(account)
    if permissions.blockers:
        return permissions.reason
    if code in permissions.no_purchase:
        return _(
            "%(code)s is over the concentration limit of your account: you may sell it, "
            "but not buy more."
        ) % {"code": code}
    return None


def financing_refusal(user: Any) -> str | None:
    """Why new financing (opening, or a higher tier) is refused for this client now."""
    account = MarginAccount.objects.filter(client=user).order_by("number").first()
    permissions = account_permissions(account)
    return permissions.reason if not permissions.may_finance else None
