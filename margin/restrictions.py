"""What a client may do now: the restrictions on their account and the platform's freeze line.

- Reduce-only (a margin call is open, or its deadline passed unmet): no new financing, no
  purchases, no withdrawals, until the ratio is back at the warning line.
- Frozen (risk control, approved by a second officer): the same, until an officer lifts it.
- The platform-wide emergency freeze (the volatility regime's emergency level, the operating
  framework's 应急冻结线 of the leverage policy): no new financing and no purchases, for every
  account at once. It stops new business, not the client's own money: withdrawals stay open
  within the usual lines (the 300% line, an open call, a freeze of the account itself).
- Concentration (the contract's Article 4): no purchases of the one security over the limit.
- Market measures from monitoring (``MarketMeasure``): margin buys of a flagged instrument
  paused; new financing and buys accepted only within shortened hours; the circuit breaker
  (no new financing or buys). These leave withdrawals alone: they limit new exposure only.

Selling is always allowed: it only lowers risk. Reads only; the services impose and lift.
The pre-trade check of the order ticket asks ``buy_refusal`` before any purchase.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Subquery
from django.db.models.functions import JSONObject
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from margin.models import Instrument, MarginAccount, MarketMeasure, Restriction, VolatilityRegime
from portal import calendars, rows


@dataclass(frozen=True)
class Blocker:
    """One reason the account may take no new financing, buy nothing and withdraw nothing."""

    kind: str  # "reduce_only", "frozen"; or "platform", "circuit_breaker", "hours" (market)
    reason: str  # translated, for the client
    since: datetime.datetime | None
    detail: str = ""  # the officer's own words (a freeze's reason), in no particular language


@dataclass(frozen=True)
class Permissions:
    blockers: list[Blocker] = field(default_factory=list)
    no_purchase: dict[str, str] = field(default_factory=dict)  # code → why (translated)
    # Market measures in force now: no new financing or buys; withdrawals stay allowed.
    market: list[Blocker] = field(default_factory=list)
    paused: dict[str, str] = field(default_factory=dict)  # code → why margin buys are paused

    @property
    def may_finance(self) -> bool:
        return not self.blockers and not self.market

    @property
    def may_withdraw(self) -> bool:
        return not self.blockers

    @property
    def may_sell(self) -> bool:
        return True

    def may_buy(self, code: str) -> bool:
        return (
            not self.blockers
            and not self.market
            and code not in self.no_purchase
            and code not in self.paused
        )

    @property
    def reason(self) -> str:
        """Why new financing or purchases are refused ("" when they are not); the account's own
        blockers first, which also refuse withdrawals."""
        found = self.blockers or self.market
        return found[0].reason if found else ""


def _regimes_in_force_first():
    """The confirmed regimes, the one in force (decided last) first."""
    return VolatilityRegime.objects.filter(status=VolatilityRegime.Status.CONFIRMED).order_by(
        "-decided_at"
    )


def emergency_regime(in_force: object = ...) -> VolatilityRegime | None:
    """The confirmed emergency regime in force, if the platform is at its freeze line (the
    confirmed regime decided last is in force, as ``selectors.current_regime`` reads it);
    ``in_force``: that regime (or None), read already."""
    regime = _regimes_in_force_first().first() if in_force is ... else in_force
    if isinstance(regime, VolatilityRegime) and regime.regime == VolatilityRegime.Regime.EMERGENCY:
        return regime
    return None


def platform_blocker(in_force: object = ...) -> Blocker | None:
    """The platform's freeze line as a blocker, or None; ``in_force``: the regime in force (or
    None), read already."""
    regime = emergency_regime(in_force)
    if regime is None:
        return None
    reason = _(
        "The platform is at its emergency freeze line: no new financing or purchases for any "
        "account until risk control lifts it; selling is allowed, and so are withdrawals "
        "within the usual limits."
    )
    if regime.reason:
        reason = f"{reason} {regime.reason}"
    return Blocker("platform", reason, regime.decided_at, regime.reason)


def market_measures(at: datetime.datetime | None = None) -> list[MarketMeasure]:
    """The market measures in force at ``at`` (now by default)."""
    at = at or timezone.now()
    return [
        measure
        for measure in MarketMeasure.objects.filter(ended_at__isnull=True, starts_at__lte=at)
        .select_related("instrument")
        .order_by("starts_at")
        if measure.in_force(at)
    ]


def _outside_hours(measure: MarketMeasure, at: datetime.datetime) -> bool:
    assert measure.accepts_from is not None and measure.accepts_until is not None
    local = at.astimezone(calendars.SHANGHAI).time()
    return not measure.accepts_from <= local < measure.accepts_until


def market_blockers(
    measures: list[MarketMeasure], at: datetime.datetime | None = None
) -> tuple[list[Blocker], dict[str, str]]:
    """What the measures in force refuse at ``at``: blockers of all new financing and buys, and
    the instruments whose margin buys are paused (code → why)."""
    at = at or timezone.now()
    language = translation.get_language() or "zh-hans"
    blockers: list[Blocker] = []
    paused: dict[str, str] = {}
    for measure in measures:
        why = measure.reason_for(language)
        if measure.kind == MarketMeasure.Kind.PAUSE_BUYS and measure.instrument:
            paused[measure.instrument.code] = _(
                "Margin buys of %(code)s are paused by risk control until further notice: "
                "%(why)s You may still sell it."
            ) % {"code": measure.instrument.code, "why": why}
        elif measure.kind == MarketMeasure.Kind.CIRCUIT_BREAKER:
            reason = _(
                "The platform's circuit breaker is on: no new financing or purchases for now; "
                "selling and withdrawals are allowed. %(why)s"
            ) % {"why": why}
            blockers.append(Blocker("circuit_breaker", reason, measure.starts_at, why))
        elif measure.kind == MarketMeasure.Kind.HOURS and _outside_hours(measure, at):
            reason = _(
                "New financing and purchases are accepted only from %(start)s to %(end)s "
                "(Beijing time) for now. %(why)s"
            ) % {
                "start": f"{measure.accepts_from:%H:%M}",
                "end": f"{measure.accepts_until:%H:%M}",
                "why": why,
            }
            blockers.append(Blocker("hours", reason, measure.starts_at, why))
    return blockers, paused


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


# The market-wide part of the permissions: measures in force and the platform's freeze line.
MarketState = tuple[list[MarketMeasure], Blocker | None]


def market_state() -> MarketState:
    """The market measures in force and the platform's freeze line (two queries)."""
    return market_measures(), platform_blocker()


def market_columns(now: datetime.datetime) -> dict[str, Any]:
    """What ``market_state()`` and ``selectors.current_regime()`` read at ``now``, as columns
    of a larger statement (the measures that may be in force, with their instruments, and the
    regime in force, as JSON); ``market_state_from`` and ``regime_from`` read them."""
    return {
        "market_measures": rows.every(
            MarketMeasure.objects.filter(ended_at__isnull=True, starts_at__lte=now),
            JSONObject(
                measure=rows.row(MarketMeasure), instrument=rows.row(Instrument, "instrument__")
            ),
        ),
        "market_regime": Subquery(
            _regimes_in_force_first().values(row=rows.row(VolatilityRegime))[:1]
        ),
    }


def regime_from(values: dict[str, Any]) -> VolatilityRegime | None:
    """The regime in force as ``market_columns`` read it (``selectors.current_regime``)."""
    return rows.instance(VolatilityRegime, rows.load(values["market_regime"]))


def market_state_from(values: dict[str, Any], at: datetime.datetime) -> MarketState:
    """``market_state()`` at ``at`` as ``market_columns(at)`` read it (no query)."""
    measures = []
    for item in rows.load(values["market_measures"]) or []:
        measure = rows.instance(MarketMeasure, item["measure"])
        if measure.instrument_id is not None:
            measure.instrument = rows.instance(Instrument, item["instrument"])
        if measure.in_force(at):
            measures.append(measure)
    measures.sort(key=lambda measure: (measure.starts_at, measure.pk))
    return measures, platform_blocker(regime_from(values))


def account_permissions(
    account: MarginAccount | None,
    market: MarketState | None = None,
    active: list[Restriction] | None = None,
) -> Permissions:
    """What the client of ``account`` may do now (three queries; one when the market-wide
    part, ``market_state()``, is given; none when ``active``, the account's active restrictions
    in the order imposed, were read already)."""
    if active is None:
        active = []
        if account is not None:
            active = list(
                Restriction.objects.filter(account=account, lifted_at__isnull=True)
                .select_related("instrument")
                .order_by("imposed_at")
            )
    measures, platform = market if market is not None else market_state()
    blocked, paused = market_blockers(measures)
    permissions = account_blockers(active, platform)
    return Permissions(
        blockers=permissions.blockers,
        no_purchase=permissions.no_purchase,
        market=permissions.market + blocked,
        paused=paused,
    )


def account_blockers(active: list[Restriction], platform: Blocker | None) -> Permissions:
    """Permissions from an account's active restrictions and the platform's freeze line (which
    stops new financing and purchases, as the market measures do, not withdrawals)."""
    blockers, no_purchase = [], {}
    for restriction in active:
        if restriction.kind == Restriction.Kind.CONCENTRATION and restriction.instrument:
            no_purchase[restriction.instrument.code] = restriction.reason_text()
        elif restriction.kind in Restriction.BLOCKS_FINANCING_AND_WITHDRAWALS:
            blockers.append(_blocker(restriction))
    # A freeze is the stronger statement: the client reads it first.
    blockers.sort(key=lambda b: {"frozen": 0}.get(b.kind, 1))
    market = [platform] if platform is not None else []
    return Permissions(blockers=blockers, no_purchase=no_purchase, market=market)


def buy_refusal(
    account: MarginAccount | None,
    code: str,
    *,
    market: MarketState | None = None,
    active: list[Restriction] | None = None,
) -> str | None:
    """Why a purchase of ``code`` is refused now, or None when it may go ahead. ``market``: the
    market-wide part read already (the pre-trade check keeps it a second); ``active``: the
    account's active restrictions, read already (the pre-trade check's snapshot)."""
    permissions = account_permissions(account, market, active)
    if permissions.blockers or permissions.market:
        return permissions.reason
    if code in permissions.paused:
        return permissions.paused[code]
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
