"""Writes the risk engine's results turn into.

The engine runs outside any request and may restart, or run twice by mistake, at any moment;
these services make what it reports land in the database exactly once.
"""

from __future__ import annotations

import dataclasses
import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

import audit
from margin import concentration, contracts, rules, selectors
from margin.actors import ENGINE
from margin.engine import RiskEngine, TickResult
from margin.liquidation import Sellable, plan_sales
from margin.models import (
    ContractRate,
    Instrument,
    LiquidationPlan,
    LiquidationPlanItem,
    MarginAccount,
    MarginCall,
    MarginContract,
    MarginEvent,
    Position,
    Restriction,
    VolatilityRegime,
)
from margin.restrictions import financing_refusal
from margin.rules import Level
from margin.signals import liquidation_filled, liquidation_sales_route
from notices import services as notices
from portal import calendars
from portal.background import finished, queue_once


class StaleTransition(Exception):
    """The database is not where the engine thought: it records ``level`` as of event ``sequence``.

    Another engine recorded a different transition first, or this one started from an older
    state. The caller adopts the database's view (``RiskEngine.resync``) and re-evaluates.
    """

    def __init__(self, *, account_id: int, level: Level, sequence: int) -> None:
        super().__init__(f"account {account_id} is at {level} as of event {sequence}")
        self.account_id, self.level, self.sequence = account_id, level, sequence


@transaction.atomic
def margin_event_record(
    *,
    account_id: int,
    sequence: int,
    from_level: Level | str,
    to_level: Level | str,
    ratio: Decimal | None,
    assets: Decimal,
    liabilities: Decimal,
    occurred_at: datetime.datetime,
) -> tuple[MarginEvent, bool]:
    """Record one level transition of one account exactly once; return (event, created).

    The account row is claimed by a conditional update that succeeds only if the database is
    where the engine says the transition starts: ``from_level`` as of event ``sequence - 1``.
    That update also moves the account's level, so the next start-up resumes from here. The
    unique (account, sequence) constraint backs the claim up; if it fires, everything rolls back.

    Replaying a transition already recorded (same number, same levels, e.g. re-detected after a
    restart) returns the stored event with created=False. Anything else that does not match
    raises StaleTransition; an unknown account raises MarginAccount.DoesNotExist.
    """
    from_level, to_level = Level(from_level), Level(to_level)
    claimed = MarginAccount.objects.filter(
        pk=account_id, event_sequence=sequence - 1, current_level=from_level
    ).update(
        event_sequence=sequence,
        current_level=to_level,
        last_ratio=ratio,
        level_changed_at=occurred_at,
    )
    if not claimed:
        existing = MarginEvent.objects.filter(account_id=account_id, sequence=sequence).first()
        if existing and (existing.from_level, existing.to_level) == (from_level, to_level):
            return existing, False
        level, recorded = MarginAccount.objects.values_list("current_level", "event_sequence").get(
            pk=account_id
        )
        raise StaleTransition(account_id=account_id, level=Level(level), sequence=recorded)
    event = MarginEvent.objects.create(
        account_id=account_id,
        sequence=sequence,
        from_level=from_level,
        to_level=to_level,
        ratio=ratio,
        assets=assets,
        liabilities=liabilities,
        occurred_at=occurred_at,
    )
    _after_transition_recorded(event)
    return event, True


def _after_transition_recorded(event: MarginEvent) -> None:
    """A recorded transition's consequences, inside the same transaction, so exactly once too.

    Every transition is audited. Going down: WARNING tells the client (in-app and email); CALL
    or LIQUIDATION opens a margin call with its deadline (two trading days) and restricts the
    account to reduce-only, and LIQUIDATION also queues a liquidation plan for a risk officer.
    Coming back to WARNING or better meets the open call and lifts the restriction. Notices are
    keyed by the event, so a replayed transition cannot send them twice.
    """
    account = MarginAccount.objects.select_related("client").get(pk=event.account_id)
    to_level, from_level = Level(event.to_level), Level(event.from_level)
    audit.record(
        actor=ENGINE,
        action="margin.level_changed",
        obj=account,
        data={
            "event": event.sequence,
            "from": from_level.value,
            "to": to_level.value,
            "ratio": _str(event.ratio),
            "assets": str(event.assets),
            "liabilities": str(event.liabilities),
        },
    )
    context = _notice_context(account, event)
    if event.is_downgrade:
        if to_level == Level.WARNING:
            _notify(account, "margin_warning", event, context)
        elif to_level in (Level.CALL, Level.LIQUIDATION):
            # A breach while a call is open is the same call, with its first deadline.
            call = _open_call(account, event)
            _restrict(account, event)
            context["deadline"] = _local(call.deadline)
            if to_level == Level.CALL:
                _notify(account, "margin_call", event, context)
            else:
                _propose_plan(account, LiquidationPlan.Trigger.LIQUIDATION_LINE, event)
                _notify(account, "margin_liquidation", event, context)
    # Coming back up only changes the level shown: the call is met, and the restriction lifted,
    # when the ratio reaches the warning line (``margin_call_restore``), whatever the level.


def _str(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _local(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _percent(ratio: Decimal | None) -> str:
    return "∞" if ratio is None else f"{ratio * 100:.2f}%"


def _notice_context(account: MarginAccount, event: MarginEvent) -> dict[str, Any]:
    lines = account.lines
    market_value = event.assets - account.cash
    cure = rules.cure(
        assets=event.assets,
        liabilities=event.liabilities,
        market_value=max(market_value, Decimal("0.00")),
        lines=lines,
    )
    return {
        "account_number": account.number,
        "ratio": _percent(event.ratio),
        "warning_line": _percent(lines.warning),
        "call_line": _percent(lines.call),
        "liquidation_line": _percent(lines.liquidation),
        "deposit": f"{cure.deposit:,}",
        "sell": f"{cure.sell:,}" if cure.sell is not None else "",
        "occurred_at": _local(event.occurred_at),
    }


def _notify(account: MarginAccount, key: str, event: MarginEvent, context: dict) -> None:
    notices.enqueue(
        recipient=account.client,
        key=key,
        context=context,
        idempotency_key=f"margin:{account.pk}:{event.sequence}:{key}",
    )


def _open_call(account: MarginAccount, event: MarginEvent) -> MarginCall:
    existing = MarginCall.objects.filter(account=account, status=MarginCall.Status.OPEN).first()
    if existing:
        return existing
    cure = rules.cure(
        assets=event.assets,
        liabilities=event.liabilities,
        market_value=max(event.assets - account.cash, Decimal("0.00")),
        lines=account.lines,
    )
    call = MarginCall.objects.create(
        account=account,
        event=event,
        issued_at=event.occurred_at,
        deadline=calendars.add_trading_days(event.occurred_at, CALL_TRADING_DAYS),
        deposit_needed=cure.deposit,
        sell_needed=cure.sell,
    )
    audit.record(
        actor=ENGINE,
        action="margin.call_issued",
        obj=call,
        data={
            "account": account.number,
            "deadline": call.deadline.isoformat(),
            "deposit": str(call.deposit_needed),
            "sell": _str(call.sell_needed),
        },
    )
    return call


CALL_TRADING_DAYS = 2


@transaction.atomic
def margin_call_restore(
    *,
    account_id: int,
    ratio: Decimal | None,
    assets: Decimal,
    liabilities: Decimal,
    occurred_at: datetime.datetime,
) -> bool:
    """The ratio is back at the warning line (Article 3: "restore the ratio to at least 150%"):
    the open call is met and the reduce-only restriction the engine imposed is lifted. Only the
    engine reports this, when the ratio reaches the account's own restore line; the hysteresis
    exit from CALL (135%) meets nothing. Returns whether anything changed; running it again
    changes nothing. A freeze, or a concentration restriction, is not the engine's to lift.
    """
    account = MarginAccount.objects.select_for_update().select_related("client").get(pk=account_id)
    lines = account.lines
    if ratio is not None and ratio < lines.restore:
        return False  # not restored by the account's own lines (the engine lagged behind)
    call = (
        MarginCall.objects.select_for_update()
        .filter(account=account, status=MarginCall.Status.OPEN)
        .first()
    )
    if call is not None:
        call.status, call.resolved_at = MarginCall.Status.MET, occurred_at
        call.save(update_fields=["status", "resolved_at"])
        audit.record(
            actor=ENGINE,
            action="margin.call_met",
            obj=call,
            data={
                "ratio": _str(ratio),
                "restore_line": str(lines.restore),
                "assets": str(assets),
                "liabilities": str(liabilities),
            },
        )
    lifted = []
    for restriction in Restriction.objects.filter(
        account=account,
        kind=Restriction.Kind.REDUCE_ONLY,
        lifted_at__isnull=True,
        imposed_by__isnull=True,
    ):
        restriction.lifted_at = max(occurred_at, restriction.imposed_at)
        restriction.lift_reason = f"Ratio restored to {_percent(ratio)}"
        restriction.save(update_fields=["lifted_at", "lift_reason"])
        audit.record(
            actor=ENGINE,
            action="margin.restriction_lifted",
            obj=restriction,
            data={"account": account.number, "ratio": _str(ratio)},
        )
        lifted.append(restriction.pk)
    if call is None and not lifted:
        return False
    key = f"call:{call.pk}" if call is not None else f"restriction:{lifted[0]}"
    notices.enqueue(
        recipient=account.client,
        key="margin_recovered",
        context={
            "account_number": account.number,
            "ratio": _percent(ratio),
            "occurred_at": _local(occurred_at),
        },
        idempotency_key=f"margin-restored:{account.pk}:{key}",
    )
    _touch(account.pk)
    return True


def _restrict(account: MarginAccount, event: MarginEvent | None, reason: str = "") -> None:
    kind = Restriction.Kind.REDUCE_ONLY
    if Restriction.objects.filter(account=account, kind=kind, lifted_at__isnull=True).exists():
        return
    restriction = Restriction.objects.create(
        account=account,
        kind=kind,
        reason=reason or f"Ratio {_percent(event.ratio if event else None)}: margin call",
        event=event,
        imposed_at=event.occurred_at if event else timezone.now(),
    )
    audit.record(
        actor=ENGINE,
        action="margin.restriction_imposed",
        obj=restriction,
        data={"account": account.number, "kind": kind.value},
    )


def _sellables(account: MarginAccount) -> list[Sellable]:
    high_risk_rate = selectors.high_risk_collateral_rate()
    return [
        Sellable(
            code=p.instrument.code,
            quantity=p.quantity,
            price=p.instrument.price,
            limit_down=p.instrument.price_limits()[0],
            collateral_rate=selectors.collateral_rate_of(p.instrument, high_risk_rate),
            suspended=p.instrument.suspended,
        )
        for p in Position.objects.filter(account=account).select_related("instrument")
    ]


def _propose_plan(
    account: MarginAccount,
    trigger: str,
    event: MarginEvent | None,
    proposed_by: Any = None,
) -> LiquidationPlan:
    """The least sales that bring the account back to its warning line after selling costs
    (``margin.liquidation``), recorded with their reasoning for the officer and the client."""
    existing = LiquidationPlan.objects.filter(
        account=account,
        status__in=[LiquidationPlan.Status.PROPOSED, LiquidationPlan.Status.APPROVED],
    ).first()
    if existing:
        return existing
    lines = account.lines
    sellables = _sellables(account)
    costs = contracts.sell_costs(account)
    plan = plan_sales(
        cash=account.cash,
        liabilities=account.liabilities,
        holdings=sellables,
        lines=lines,
        costs=costs,
    )
    row = LiquidationPlan.objects.create(
        account=account,
        event=event,
        trigger=trigger,
        ratio_at_proposal=plan.ratio_before,
        target_ratio=lines.warning,
        expected_proceeds=plan.proceeds,
        expected_costs=plan.costs,
        expected_ratio_after=plan.ratio_after,
        least_possible=plan.least_possible,
        exact=plan.exact,
        reasoning={
            "target": str(lines.warning),
            "ratio_before": _str(plan.ratio_before),
            "ratio_after": _str(plan.ratio_after),
            "sufficient": plan.sufficient,
            "exact": plan.exact,
            "least_possible": _str(plan.least_possible),
            "costs": costs.references,
            "positions": plan.considered,
        },
        proposed_by=proposed_by,
    )
    codes = {sale.code for sale in plan.sales}
    instruments = {i.code: i for i in Instrument.objects.filter(code__in=codes)}
    LiquidationPlanItem.objects.bulk_create(
        LiquidationPlanItem(
            plan=row,
            instrument=instruments[sale.code],
            quantity=sale.quantity,
            reference_price=sale.price,
            expected_proceeds=sale.proceeds,
            commission=sale.costs.commission,
            stamp_duty=sale.costs.stamp_duty,
            transfer_fee=sale.costs.transfer_fee,
            net_proceeds=sale.net,
        )
        for sale in plan.sales
    )
    audit.record(
        actor=proposed_by or ENGINE,
        action="margin.plan_proposed",
        obj=row,
        data={
            "account": account.number,
            "trigger": trigger,
            "sales": [[s.code, s.quantity, str(s.price), str(s.costs.total)] for s in plan.sales],
            "skipped": plan.skipped,
            "expected_proceeds": str(plan.proceeds),
            "expected_costs": str(plan.costs),
            "ratio_after": _str(plan.ratio_after),
            "least_possible": _str(plan.least_possible),
            "exact": plan.exact,
            "sufficient": plan.sufficient,
        },
    )
    return row


def _touch(account_id: int) -> None:
    # Tells the risk engine to reload the account (see runner.RiskRunner.reload_changed).
    MarginAccount.objects.filter(pk=account_id).update(state_changed_at=timezone.now())


@dataclass(frozen=True)
class SweepResult:
    missed: int
    plans: int


def margin_call_deadline_sweep(*, now: datetime.datetime | None = None) -> SweepResult:
    """Mark every open call past its deadline as missed and queue a liquidation plan for it.

    Each call is claimed by a conditional update in its own transaction, so two sweeps running
    at once, or one run twice, act on a call once.
    """
    now = now or timezone.now()
    missed = plans = 0
    due = MarginCall.objects.filter(status=MarginCall.Status.OPEN, deadline__lte=now)
    for call_id in list(due.values_list("pk", flat=True)[:1000]):
        with transaction.atomic():
            claimed = MarginCall.objects.filter(pk=call_id, status=MarginCall.Status.OPEN).update(
                status=MarginCall.Status.MISSED, resolved_at=now
            )
            if not claimed:
                continue
            call = MarginCall.objects.select_related("account__client", "event").get(pk=call_id)
            missed += 1
            audit.record(
                actor="margin-call sweep",
                action="margin.call_missed",
                obj=call,
                data={"account": call.account.number, "deadline": call.deadline.isoformat()},
            )
            before = LiquidationPlan.objects.filter(account=call.account).count()
            _propose_plan(call.account, LiquidationPlan.Trigger.DEADLINE_MISSED, call.event)
            plans += LiquidationPlan.objects.filter(account=call.account).count() - before
            context = _notice_context(call.account, call.event)
            context["deadline"] = _local(call.deadline)
            notices.enqueue(
                recipient=call.account.client,
                key="margin_liquidation",
                context=context,
                idempotency_key=f"margin-call-missed:{call.pk}",
            )
    return SweepResult(missed=missed, plans=plans)


class PlanDecisionError(ValueError):
    """A plan decision the rules do not allow; the message is shown to the officer."""


def _check_decider(plan: LiquidationPlan, officer: Any) -> None:
    if not officer.has_perm("margin.decide_liquidationplan"):
        raise PlanDecisionError(_("Only a risk officer may decide on a liquidation plan."))
    if plan.proposed_by_id is not None and plan.proposed_by_id == officer.pk:
        raise PlanDecisionError(
            _("Four-eyes rule: the officer who proposed this plan cannot also decide on it.")
        )


@transaction.atomic
def liquidation_plan_approve(*, plan_id: int, officer: Any) -> LiquidationPlan:
    """Approve a proposed plan; its execution is queued to run after commit."""
    plan = LiquidationPlan.objects.select_for_update().get(pk=plan_id)
    _check_decider(plan, officer)
    if plan.status != LiquidationPlan.Status.PROPOSED:
        raise PlanDecisionError(_("This plan has already been decided."))
    plan.status = LiquidationPlan.Status.APPROVED
    plan.decided_by, plan.decided_at = officer, timezone.now()
    plan.save(update_fields=["status", "decided_by", "decided_at"])
    audit.record(actor=officer, action="margin.plan_approved", obj=plan, data={})
    from margin import tasks

    transaction.on_commit(lambda: tasks.execute_liquidation_plan.delay(plan.pk))
    return plan


@transaction.atomic
def liquidation_plan_reject(*, plan_id: int, officer: Any, reason: str) -> LiquidationPlan:
    """Reject a proposed plan, recording why; the reason is required."""
    reason = (reason or "").strip()
    if not reason:
        raise PlanDecisionError(_("Say why the plan is rejected."))
    plan = LiquidationPlan.objects.select_for_update().get(pk=plan_id)
    _check_decider(plan, officer)
    if plan.status != LiquidationPlan.Status.PROPOSED:
        raise PlanDecisionError(_("This plan has already been decided."))
    plan.status = LiquidationPlan.Status.REJECTED
    plan.decided_by, plan.decided_at, plan.decision_note = officer, timezone.now(), reason
    plan.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit.record(actor=officer, action="margin.plan_rejected", obj=plan, data={"reason": reason})
    return plan


@transaction.atomic
def liquidation_plan_execute(*, plan_id: int) -> LiquidationPlan:
    """Fill an approved plan at the feed's current prices and repay debt with the net proceeds.

    A sale whose instrument is now at limit-down or suspended does not fill (nobody buys) and is
    left out; a position smaller than planned sells what there is. Each fill pays the selling
    costs of the account's fee schedule (trade service fee, stamp duty, transfer fee), as the
    plan said it would; the net proceeds repay fees, then interest, then debt, and what is left
    stays as cash.
    """
    plan = (
        LiquidationPlan.objects.select_for_update()
        .select_related("account__client")
        .get(pk=plan_id)
    )
    if plan.status != LiquidationPlan.Status.APPROVED:
        return plan
    routed = liquidation_sales_route.send(sender=LiquidationPlan, plan=plan)
    if any(response is True for _receiver, response in routed):
        return plan  # the trading channel sells; the plan is executed when its sales close
    account = MarginAccount.objects.select_for_update().get(pk=plan.account_id)
    sell_costs = contracts.sell_costs(account)
    proceeds, fills = Decimal("0.00"), []
    costs = dict.fromkeys(("commission", "stamp_duty", "transfer_fee"), Decimal("0.00"))
    for item in plan.items.select_related("instrument"):
        instrument = item.instrument
        position = Position.objects.filter(account=account, instrument=instrument).first()
        if (
            position is None
            or instrument.suspended
            or instrument.price <= instrument.price_limits()[0]
        ):
            continue
        quantity = min(item.quantity, position.quantity)
        value = rules.market_value([(quantity, instrument.price)])
        cost = sell_costs.of(value)
        if quantity == position.quantity:
            position.delete()
        else:
            cost_sold = (position.cost * quantity / position.quantity).quantize(rules.FEN)
            position.quantity -= quantity
            position.cost -= cost_sold
            position.save(update_fields=["quantity", "cost"])
        proceeds += value
        costs["commission"] += cost.commission
        costs["stamp_duty"] += cost.stamp_duty
        costs["transfer_fee"] += cost.transfer_fee
        fills.append(
            [instrument.code, quantity, str(instrument.price), str(value), str(cost.total)]
        )
    total_costs = sum(costs.values(), Decimal("0.00"))
    cash, repaid = account.cash + proceeds - total_costs, {}
    for field in ("fees_owed", "accrued_interest", "debt"):
        repaid[field] = min(cash, getattr(account, field))
        cash -= repaid[field]
    # The client-money ledger records the fill and moves the balances (margin.signals).
    responses = liquidation_filled.send(
        sender=LiquidationPlan,
        plan=plan,
        account_id=account.pk,
        proceeds=proceeds,
        repaid=repaid,
        costs=costs,
        cost_references=sell_costs.references,
    )
    if not any(response is True for _receiver, response in responses):
        account_balances_apply(
            account_id=account.pk,
            cash=proceeds - total_costs - sum(repaid.values(), Decimal("0.00")),
            **{field: -amount for field, amount in repaid.items()},
        )
    account.refresh_from_db()
    plan.status, plan.executed_at = LiquidationPlan.Status.EXECUTED, timezone.now()
    plan.realised_proceeds, plan.realised_costs = proceeds, total_costs
    plan.save(update_fields=["status", "executed_at", "realised_proceeds", "realised_costs"])
    audit.record(
        actor=ENGINE,
        action="margin.plan_executed",
        obj=plan,
        data={
            "fills": fills,
            "proceeds": str(proceeds),
            "costs": {name: str(amount) for name, amount in costs.items()},
            "cost_references": sell_costs.references,
            "debt_after": str(account.debt),
        },
    )
    notices.enqueue(
        recipient=plan.account.client,
        key="margin_liquidation_executed",
        context={
            "account_number": account.number,
            "proceeds": f"{proceeds:,}",
            "fills": ", ".join(f"{code} × {qty}" for code, qty, *_ in fills),
            "debt": f"{account.debt:,}",
        },
        idempotency_key=f"margin-plan-executed:{plan.pk}",
    )
    finished(f"liquidation-plan:{plan.pk}")
    return plan


@transaction.atomic
def volatility_regime_propose(
    *, regime: str, market_volatility: Decimal
) -> VolatilityRegime | None:
    """The engine proposes a regime; nothing if it is already in force or already proposed."""
    current = selectors.current_regime()
    in_force = current.regime if current else VolatilityRegime.Regime.NORMAL
    pending = VolatilityRegime.objects.filter(status=VolatilityRegime.Status.PROPOSED).first()
    if pending is not None:
        # An officer's own proposal (the emergency freeze line, say) is theirs to keep.
        if pending.regime != regime and pending.proposed_by_id is None:
            pending.regime, pending.market_volatility = regime, market_volatility
            pending.save(update_fields=["regime", "market_volatility"])
        return pending
    if regime == in_force:
        return None
    row = VolatilityRegime.objects.create(regime=regime, market_volatility=market_volatility)
    audit.record(
        actor=ENGINE,
        action="margin.regime_proposed",
        obj=row,
        data={"regime": regime, "market_volatility": str(market_volatility)},
    )
    return row


@transaction.atomic
def volatility_regime_decide(
    *, regime_id: int, officer: Any, confirm: bool, note: str = ""
) -> VolatilityRegime:
    """A risk officer confirms (in force at once for new business) or rejects a proposal; not
    the officer who proposed it. The emergency level is the platform-wide freeze line."""
    if not officer.has_perm("margin.decide_volatilityregime"):
        raise PlanDecisionError(_("Only a risk officer may set the volatility regime."))
    row = VolatilityRegime.objects.select_for_update().get(pk=regime_id)
    if row.status != VolatilityRegime.Status.PROPOSED:
        raise PlanDecisionError(_("This proposal has already been decided."))
    if row.proposed_by_id is not None and row.proposed_by_id == officer.pk:
        raise PlanDecisionError(
            _("Four-eyes rule: the officer who proposed this regime cannot also confirm it.")
        )
    if not confirm and not note.strip():
        raise PlanDecisionError(_("Say why the proposal is rejected."))
    row.status = VolatilityRegime.Status.CONFIRMED if confirm else VolatilityRegime.Status.REJECTED
    row.decided_by, row.decided_at, row.decision_note = officer, timezone.now(), note.strip()
    row.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit.record(
        actor=officer,
        action="margin.regime_confirmed" if confirm else "margin.regime_rejected",
        obj=row,
        data={"regime": row.regime, "leverage_cap": str(selectors.leverage_cap(row.regime))},
    )
    if confirm:
        _propose_tighter_lines(row, officer)
    return row


LINE_CODES = ("warning_line", "call_line", "liquidation_line")


def _propose_tighter_lines(row: VolatilityRegime, officer: Any):
    """Lines are contract terms: a tighter regime can only raise them through a disclosure change
    with notice. Draft that change (raised by the regime's policy step) for compliance to review,
    approve with a second person and schedule; nothing applies to a client before then."""
    from disclosures import selectors as disclosures_selectors
    from disclosures import services as disclosures_services
    from disclosures.models import DocumentKind

    step = Decimal(settings.MARGIN_REGIME_LINE_RAISE.get(row.regime, "0"))
    current = disclosures_selectors.latest_version(DocumentKind.MARGIN_CONTRACT)
    if step <= 0 or current is None:
        return None
    specs = [
        dataclasses.replace(spec, value=spec.value + step) if spec.code in LINE_CODES else spec
        for spec in map(disclosures_services.item_spec, disclosures_selectors.items_of(current))
    ]
    points = int(step * 100)

    def summary(language: str) -> str:
        with translation.override(language):
            return _(
                "Volatility regime %(regime)s: warning, margin-call and liquidation lines "
                "%(points)d points higher."
            ) % {"regime": str(VolatilityRegime.Regime(row.regime).label), "points": points}

    draft = disclosures_services.version_draft_create(
        actor=officer,
        document=current.document,
        summary_zh=summary("zh-hans"),
        summary_en=summary("en"),
        items=specs,
    )
    audit.record(
        actor=officer,
        action="margin.tighter_lines_proposed",
        obj=row,
        data={"draft_version": draft.pk, "points": points, "regime": row.regime},
    )
    return draft


def margin_transitions_record(
    *, engine: RiskEngine, result: TickResult, occurred_at: datetime.datetime
) -> list[MarginEvent]:
    """Record every transition of one engine result; return the events newly stored.

    Then the restorations (a call met at the warning line) and the concentration crossings of
    the same result. Each is its own transaction, so one account the database disagrees about
    does not hold back the others. On StaleTransition the engine adopts the database's level and
    number and re-evaluates that account at once, and whatever that yields is recorded in turn;
    each retry follows the database moving on, so the loop ends.
    """
    recorded = []
    pending = list(result.transitions)
    while pending:
        transition = pending.pop(0)
        try:
            event, created = margin_event_record(
                account_id=transition.account_id,
                sequence=transition.sequence,
                from_level=transition.from_level,
                to_level=transition.to_level,
                ratio=transition.ratio,
                assets=transition.assets,
                liabilities=transition.liabilities,
                occurred_at=occurred_at,
            )
        except StaleTransition as stale:
            engine.resync(stale.account_id, level=stale.level, sequence=stale.sequence)
            pending.extend(engine.update_account(stale.account_id).transitions)
            continue
        if created:
            recorded.append(event)
    for restored in result.restorations:
        margin_call_restore(
            account_id=restored.account_id,
            ratio=restored.ratio,
            assets=restored.assets,
            liabilities=restored.liabilities,
            occurred_at=occurred_at,
        )
        engine.restore_recorded(restored.account_id)
    concentration.concentration_changes_record(
        changes=result.concentration, occurred_at=occurred_at
    )
    return recorded


class BalancesWouldGoNegative(ValueError):
    """A posting would take a margin balance below zero; nothing was changed."""


@transaction.atomic
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


# --- the client's own financing: activation and leverage tier -------------------------------------
#
# The gate (education), the disclosures accepted and the eligibility (accounts) are checked here,
# inside the transaction that opens or changes the contract, after the client's row is locked: a
# double submit waits for the first one and then finds its contract.

CAP_CODE = "financing_cap_tier{tier}"
INITIAL_MARGIN_CODE = "initial_margin_ratio"
RATIO_PLACES = Decimal("0.0001")


class FinancingRefused(Exception):
    """The client may not do this now: `message` (translated) says why, `url` where to fix it."""

    def __init__(self, reason: str, message: Any, url: str = "") -> None:
        super().__init__(str(message))
        self.reason, self.message, self.url = reason, message, url


@dataclass(frozen=True)
class TierTerms:
    """What a leverage tier means under the documents in force and the volatility regime."""

    tier: int
    annual_rate: Decimal
    rate_reference: str
    cap: Decimal  # financing per yuan of the client's margin
    cap_reference: str
    regime_cap: Decimal
    fee_schedule: Any = None  # the fee schedule version the rate comes from


@dataclass(frozen=True)
class Activation:
    contract: MarginContract
    created: bool


def _lock_client(user: Any) -> Any:
    from accounts.models import User

    return User.objects.select_for_update().get(pk=user.pk)


def tier_terms(tier: int) -> TierTerms:
    """The rate and cap of `tier` from the disclosures in force; refused above the regime cap."""
    from django.urls import reverse

    from disclosures import selectors as disclosures

    fees_url = reverse("disclosures:fees")
    try:
        rate = disclosures.financing_rate_in_force(tier)
        cap = disclosures.contract_item_in_force(CAP_CODE.format(tier=tier))
    except disclosures.FeeItemNotFound as exc:
        raise FinancingRefused(
            "tier_unknown",
            _("Leverage tier %(tier)s is not offered under the documents in force.")
            % {"tier": tier},
            fees_url,
        ) from exc
    regime_cap = selectors.leverage_cap()
    if cap.value > regime_cap:
        regime = selectors.current_regime()
        label = regime.get_regime_display() if regime else VolatilityRegime.Regime.NORMAL.label
        raise FinancingRefused(
            "regime_cap",
            _(
                "Tier %(tier)s finances up to %(cap)s of your margin, but under the current "
                "volatility regime (%(regime)s) new financing is capped at %(limit)s. "
                "Choose a lower tier."
            )
            % {
                "tier": tier,
                "cap": _percent(cap.value),
                "regime": label,
                "limit": _percent(regime_cap),
            },
            reverse("margin:open"),
        )
    return TierTerms(
        tier, rate.value, rate.reference, cap.value, cap.reference, regime_cap, rate.version
    )


def _refuse_if_frozen(client: Any) -> None:
    """New financing (a first contract, a higher tier) is refused while the client's account is
    frozen or under a margin call, and while the platform is at its emergency freeze line."""
    from django.urls import reverse

    refusal = financing_refusal(client)
    if refusal:
        raise FinancingRefused("frozen", refusal, reverse("margin:index"))


def _require_gate(user: Any, *, action: str, tier: int | None = None) -> Any:
    from education import gate

    try:
        return gate.require(user, action=action, tier=tier)
    except gate.GateRequired as refused:
        raise FinancingRefused(refused.reason, refused.message, refused.url) from refused


def _max_credit(user: Any, cap: Decimal) -> Decimal:
    from accounts import selectors as accounts

    return (accounts.verified_average_assets(user) * cap).quantize(rules.FEN)


def _contract_context(contract: MarginContract) -> dict[str, Any]:
    return {
        "account_number": contract.account.number,
        "contract_number": contract.number,
        "leverage_tier": contract.leverage_tier,
        "annual_rate": _percent(contract.annual_rate),
        "credit_limit": f"{contract.credit_limit:,.2f}",
        "warning_line": _percent(contract.warning_line),
        "call_line": _percent(contract.call_line),
        "liquidation_line": _percent(contract.liquidation_line),
        "rollover_on": contract.rollover_on.isoformat(),
    }


@transaction.atomic
def financing_activate(
    *, user: Any, leverage_tier: int, credit_limit: Decimal | None = None
) -> Activation:
    """Open the client's margin account and contract at `leverage_tier`.

    Refused (FinancingRefused, nothing written) unless: the client is eligible (accounts), has
    accepted the terms, margin contract and fee schedule in force (disclosures), has passed the
    gate with its cool-off over (education; for a tier above 1, on that tier's figures), and the
    tier is offered and within the volatility regime's cap. Lines, initial margin and the tier's
    cap come from the margin contract in force, the rate from the fee schedule in force. The
    credit limit is at most the verified average assets × the tier's cap (initial margin 100%).

    A second submit while a contract is active writes nothing and returns it (created=False).
    """
    from django.urls import reverse

    from accounts import selectors as accounts
    from disclosures import selectors as disclosures
    from education import gate

    client = _lock_client(user)
    existing = selectors.client_active_contract(client)
    if existing is not None:
        return Activation(existing, created=False)
    _refuse_if_frozen(client)

    eligibility = accounts.margin_eligibility(client)
    if not eligibility.eligible:
        unmet = [c for c in eligibility.conditions if not c.met]
        raise FinancingRefused(
            "not_eligible",
            _("You are not eligible for margin financing yet: %(reasons)s")
            % {"reasons": "; ".join(str(c.reason) for c in unmet)},
            unmet[0].url if unmet else reverse("onboarding:index"),
        )
    if not disclosures.may_open_financing(client):
        raise FinancingRefused(
            "terms",
            _(
                "Accept the terms, the margin contract and the fee schedule in force before "
                "opening financing."
            ),
            reverse("margin:open") + "#terms",
        )
    confirmation = _require_gate(client, action=gate.FINANCING)
    terms = tier_terms(leverage_tier)
    if leverage_tier > 1:
        _require_gate(client, action=gate.TIER_INCREASE, tier=leverage_tier)
    try:
        contract_terms = contracts.terms_in_force(leverage_tier)
    except contracts.TermsMissing as exc:
        raise FinancingRefused(
            "terms", _("The margin contract in force does not state its lines."), ""
        ) from exc
    line_values = contract_terms.lines
    initial = _initial_margin_in_force()

    ceiling = _max_credit(client, terms.cap)
    limit = ceiling if credit_limit is None else Decimal(credit_limit).quantize(rules.FEN)
    if ceiling <= 0:
        raise FinancingRefused(
            "credit",
            _("Your verified average assets are needed to size the credit limit."),
            reverse("onboarding:assets"),
        )
    if limit <= 0 or limit > ceiling:
        raise FinancingRefused(
            "credit",
            _("The credit limit must be more than 0 and at most CNY %(max)s at tier %(tier)s.")
            % {"max": f"{ceiling:,.2f}", "tier": leverage_tier},
            reverse("margin:open"),
        )

    account = MarginAccount.objects.filter(client=client).order_by("number").first()
    if account is None:
        account = MarginAccount.objects.create(client=client, number=f"MA{client.pk:010d}")
    starts_on = timezone.localdate()
    contract = MarginContract(
        account=account,
        number=f"RZ-{account.number}-{account.contracts.count() + 1:03d}",
        withdrawal_line=line_values["withdrawal_line"],
        warning_line=line_values["warning_line"],
        call_line=line_values["call_line"],
        liquidation_line=line_values["liquidation_line"],
        concentration_limit=contract_terms.concentration,
        annual_rate=terms.annual_rate,
        leverage_tier=leverage_tier,
        initial_margin_ratio=initial,
        credit_limit=limit,
        starts_on=starts_on,
        rollover_on=starts_on + MarginContract.MAX_TERM,
        fee_schedule_version=terms.fee_schedule,
        terms_version=contract_terms.terms,
    )
    contract.full_clean()
    contract.save()
    contracts.rate_period_open(contract, effective_from=timezone.now())
    _touch(account.pk)
    audit.record(
        actor=client,
        action="margin.financing_activate",
        obj=contract,
        data={
            "account": account.number,
            "leverage_tier": leverage_tier,
            "annual_rate": str(terms.annual_rate),
            "rate_reference": terms.rate_reference,
            "cap": str(terms.cap),
            "cap_reference": terms.cap_reference,
            "regime_cap": str(terms.regime_cap),
            "lines_reference": contract_terms.lines_reference,
            "credit_limit": str(limit),
            "initial_margin_ratio": str(initial),
            "gate_confirmation": confirmation.pk if confirmation else None,
            "evidence_hash": confirmation.evidence_hash if confirmation else "",
        },
    )
    notices.enqueue(
        recipient=client,
        key="margin_financing_opened",
        context=_contract_context(contract),
        idempotency_key=f"margin_financing_opened:{contract.pk}",
    )
    return Activation(contract, created=True)


@transaction.atomic
def leverage_tier_change(*, user: Any, account: MarginAccount, tier: int) -> MarginContract:
    """Move the active contract of the client's own `account` to `tier`.

    Raising needs the gate on that tier's figures and a tier within the regime cap; lowering
    needs neither. The rate becomes the tier's rate in force and the credit limit is capped at the
    tier's share of the verified assets. The same tier again writes nothing. Another client's
    account raises MarginAccount.DoesNotExist.
    """
    from education import gate

    client = _lock_client(user)
    account = MarginAccount.objects.select_for_update().get(pk=account.pk, client=client)
    contract = account.contracts.filter(status=MarginContract.Status.ACTIVE).first()
    if contract is None:
        raise FinancingRefused("no_contract", _("This account has no active contract."), "")
    old_tier = contract.leverage_tier
    if tier == old_tier:
        return contract
    confirmation = None
    if tier > old_tier:
        _refuse_if_frozen(client)
        confirmation = _require_gate(client, action=gate.TIER_INCREASE, tier=tier)
        terms = tier_terms(tier)
    else:
        terms = _tier_terms_unchecked(tier)
    old_rate, old_limit = contract.annual_rate, contract.credit_limit
    ceiling = _max_credit(client, terms.cap)
    contract.leverage_tier = tier
    # A tier change is the client's own new agreement: the tier's rate in force from now on.
    contract.annual_rate = terms.annual_rate
    contract.fee_schedule_version = terms.fee_schedule
    # The limit never exceeds what the tier allows on the client's verified assets, even if those
    # were re-assessed lower since the contract was signed; a raise moves it up to that ceiling.
    contract.credit_limit = min(old_limit, ceiling) if tier < old_tier else ceiling
    contracts.rate_period_change(
        contract, effective_from=timezone.now(), reason=ContractRate.Reason.TIER
    )
    contract.save(
        update_fields=["leverage_tier", "annual_rate", "credit_limit", "fee_schedule_version"]
    )
    entry = audit.record(
        actor=client,
        action="margin.leverage_tier_raise" if tier > old_tier else "margin.leverage_tier_lower",
        obj=contract,
        data={
            "account": account.number,
            "old_tier": old_tier,
            "new_tier": tier,
            "old_rate": str(old_rate),
            "annual_rate": str(terms.annual_rate),
            "rate_reference": terms.rate_reference,
            "old_credit_limit": str(old_limit),
            "credit_limit": str(contract.credit_limit),
            "cap_reference": terms.cap_reference,
            "regime_cap": str(terms.regime_cap),
            "gate_confirmation": confirmation.pk if confirmation else None,
            "evidence_hash": confirmation.evidence_hash if confirmation else "",
        },
    )
    context = {
        "contract_number": contract.number,
        "old_tier": old_tier,
        "new_tier": tier,
        "annual_rate": _percent(contract.annual_rate),
        "credit_limit": f"{contract.credit_limit:,.2f}",
    }
    notices.enqueue(
        recipient=client,
        key="margin_tier_changed",
        context=context,
        idempotency_key=f"margin_tier_changed:{contract.pk}:{entry.seq}",
    )
    return contract


def _initial_margin_in_force() -> Decimal:
    from disclosures import selectors as disclosures

    try:
        initial = disclosures.contract_item_in_force(INITIAL_MARGIN_CODE).value.quantize(
            RATIO_PLACES
        )
    except disclosures.FeeItemNotFound:
        initial = Decimal("1.0000")
    return max(initial, Decimal("1.0000"))  # never below 100% (since 2026-01-19)


@transaction.atomic
def contract_rollover(*, user: Any, account: MarginAccount) -> MarginContract:
    """Roll the active contract of the client's own ``account`` over (Article 6).

    The contract ends and a new one starts today for at most six months, at the same tier, on
    the contract terms and fee schedule in force: this is how a client who kept old terms moves
    to new ones. It needs what new financing needs of the client (the documents in force
    accepted, the gate passed); the debt carries over, the credit limit never rises. Another
    client's account raises MarginAccount.DoesNotExist.
    """
    from django.urls import reverse

    from disclosures import selectors as disclosures
    from education import gate

    client = _lock_client(user)
    account = MarginAccount.objects.select_for_update().get(pk=account.pk, client=client)
    old = account.contracts.filter(status=MarginContract.Status.ACTIVE).first()
    if old is None:
        raise FinancingRefused("no_contract", _("This account has no active contract."), "")
    if not disclosures.may_open_financing(client):
        raise FinancingRefused(
            "terms",
            _(
                "Accept the terms, the margin contract and the fee schedule in force before "
                "rolling your contract over."
            ),
            reverse("margin:open") + "#terms",
        )
    confirmation = _require_gate(client, action=gate.FINANCING)
    # Rolling existing financing over is not new financing: the regime cap does not apply.
    terms = _tier_terms_unchecked(old.leverage_tier)
    try:
        contract_terms = contracts.terms_in_force(old.leverage_tier)
    except contracts.TermsMissing as exc:
        raise FinancingRefused(
            "terms", _("The margin contract in force does not state its lines."), ""
        ) from exc
    ceiling = _max_credit(client, terms.cap)
    old.status = MarginContract.Status.ENDED
    old.save(update_fields=["status"])
    starts_on = timezone.localdate()
    contract = MarginContract(
        account=account,
        number=f"RZ-{account.number}-{account.contracts.count() + 1:03d}",
        concentration_limit=contract_terms.concentration,
        annual_rate=terms.annual_rate,
        leverage_tier=old.leverage_tier,
        initial_margin_ratio=_initial_margin_in_force(),
        credit_limit=min(old.credit_limit, ceiling) if ceiling > 0 else old.credit_limit,
        starts_on=starts_on,
        rollover_on=starts_on + MarginContract.MAX_TERM,
        fee_schedule_version=terms.fee_schedule,
        terms_version=contract_terms.terms,
        **contract_terms.lines,
    )
    contract.full_clean()
    contract.save()
    contracts.rate_period_open(contract, effective_from=timezone.now())
    _touch(account.pk)
    audit.record(
        actor=client,
        action="margin.contract_rolled_over",
        obj=contract,
        data={
            "account": account.number,
            "previous_contract": old.number,
            "previous_rate": str(old.annual_rate),
            "annual_rate": str(contract.annual_rate),
            "rate_reference": terms.rate_reference,
            "lines_reference": contract_terms.lines_reference,
            "credit_limit": str(contract.credit_limit),
            "gate_confirmation": confirmation.pk if confirmation else None,
        },
    )
    notices.enqueue(
        recipient=client,
        key="margin_financing_opened",
        context=_contract_context(contract),
        idempotency_key=f"margin_financing_opened:{contract.pk}",
    )
    return contract


def leverage_tier_raise(*, user: Any, account: MarginAccount, tier: int) -> MarginContract:
    """Raise the leverage tier: only upwards, with the gate for that tier and the regime cap."""
    contract = account.contracts.filter(status=MarginContract.Status.ACTIVE).first()
    if contract is not None and tier < contract.leverage_tier:
        raise FinancingRefused(
            "not_upwards",
            _("Tier %(tier)s is lower than your current tier %(current)s: lower it instead.")
            % {"tier": tier, "current": contract.leverage_tier},
            "",
        )
    return leverage_tier_change(user=user, account=account, tier=tier)


def _tier_terms_unchecked(tier: int) -> TierTerms:
    """A lower tier's terms: no regime check (lowering always reduces risk)."""
    from disclosures import selectors as disclosures

    try:
        rate = disclosures.financing_rate_in_force(tier)
        cap = disclosures.contract_item_in_force(CAP_CODE.format(tier=tier))
    except disclosures.FeeItemNotFound as exc:
        raise FinancingRefused(
            "tier_unknown",
            _("Leverage tier %(tier)s is not offered under the documents in force.")
            % {"tier": tier},
            "",
        ) from exc
    return TierTerms(
        tier,
        rate.value,
        rate.reference,
        cap.value,
        cap.reference,
        selectors.leverage_cap(),
        rate.version,
    )


@transaction.atomic
def financing_terms_accept(*, user: Any, ip_address: str | None, user_agent: str) -> list[Any]:
    """Accept, from the financing page, the versions in force of the terms, the margin contract
    and the fee schedule the client has not accepted yet; returns the new acknowledgements."""
    from disclosures import selectors as disclosures
    from disclosures import services as disclosure_services

    made = []
    for kind in disclosures.FINANCING_DOCUMENTS:
        version = disclosures.version_in_force(kind)
        if version is None:
            raise FinancingRefused("terms", _("A document needed for financing is not in force."))
        accepted = disclosures.accepted_version(user, kind)
        if accepted is not None and accepted.pk == version.pk:
            continue
        made.append(
            disclosure_services.version_accept(
                user=user,
                version=version,
                displayed={"page": "margin:open", "content_hash": version.content_hash},
                ip_address=ip_address,
                user_agent=user_agent,
            )
        )
    return made


def liquidation_plans_requeue(*, before: datetime.datetime) -> int:
    """Stuck work: plans approved before `before` and still not carried out (the execution is
    idempotent: a plan no longer APPROVED is left as it is)."""
    from margin import tasks

    approved = LiquidationPlan.objects.filter(
        status=LiquidationPlan.Status.APPROVED, decided_at__lt=before
    ).values_list("pk", flat=True)
    return sum(
        queue_once(f"liquidation-plan:{pk}", tasks.execute_liquidation_plan, pk)
        for pk in approved[:500]
    )
