"""Liquidation plans: proposed by the engine or the sweep, decided by a risk officer, executed
once a second risk officer confirms it."""

from __future__ import annotations

import datetime
import functools
from decimal import Decimal
from typing import Any

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

import audit
from audit import services as audit_services
from margin import contracts, rules, selectors
from margin.actors import ENGINE
from margin.balances import account_balances_apply
from margin.books import books_owner
from margin.liquidation import Plan, Sellable, plan_sales
from margin.models import (
    Instrument,
    LiquidationPlan,
    LiquidationPlanItem,
    MarginAccount,
    MarginEvent,
    Position,
)
from margin.notify import _str
from margin.rules import DEFAULT_LINES, Level, Lines
from margin.sales import liquidation_route
from margin.signals import liquidation_filled
from margin.workflows import LIQUIDATION_PLAN
from notices import services as notices
from portal.background import finished, queue_once


def _sellable(position: Position, high_risk_rate: Decimal) -> Sellable:
    instrument = position.instrument
    return Sellable(
        code=instrument.code,
        quantity=position.quantity,
        price=instrument.price,
        limit_down=instrument.price_limits()[0],
        collateral_rate=selectors.collateral_rate_of(instrument, high_risk_rate),
        suspended=instrument.suspended,
    )


def _sellables(account: MarginAccount) -> list[Sellable]:
    high_risk_rate = selectors.high_risk_collateral_rate()
    return [
        _sellable(p, high_risk_rate)
        for p in Position.objects.filter(account=account).select_related("instrument")
    ]


OPEN_STATUSES = [LiquidationPlan.Status.PROPOSED, LiquidationPlan.Status.APPROVED]


def _open_plans(account_ids: Any) -> Any:
    return LiquidationPlan.objects.filter(account_id__in=account_ids, status__in=OPEN_STATUSES)


def _propose_plan(
    account: MarginAccount,
    trigger: str,
    event: MarginEvent | None,
    proposed_by: Any = None,
) -> LiquidationPlan:
    """The least sales that bring the account back to its warning line after selling costs
    (``margin.liquidation``), recorded with their reasoning for the officer and the client."""
    existing = _open_plans([account.pk]).first()
    if existing:
        return existing
    lines = account.lines
    costs = contracts.sell_costs(account)
    row, plan = _plan_row(account, trigger, event, proposed_by, lines, _sellables(account), costs)
    row.save(force_insert=True)
    codes = {sale.code for sale in plan.sales}
    instruments = {i.code: i for i in Instrument.objects.filter(code__in=codes)}
    LiquidationPlanItem.objects.bulk_create(_plan_items(row, plan, instruments))
    audit.record(**_plan_audit(account, trigger, proposed_by, row, plan))
    return row


def _propose_plans(
    proposals: list[tuple[MarginAccount, MarginEvent | None]], trigger: str
) -> tuple[dict[int, LiquidationPlan], dict[int, audit_services.Entry]]:
    """``_propose_plan`` for many accounts in a constant number of statements (the engine's batch
    of accounts through the liquidation line): (plan by account, its new plan's audit entry).

    The same plan, to the share: the same positions in the same order, lines and selling costs
    read for the batch instead of per account. An account with a plan already proposed or
    approved keeps it (and has no new entry). The audit entries are the caller's to record,
    with the rest of its batch and in its order, inside its transaction.
    """
    ids = [account.pk for account, _ in proposals]
    plans: dict[int, LiquidationPlan] = {}
    for existing in _open_plans(ids):  # the newest first, as .first() takes it
        plans.setdefault(existing.account_id, existing)
    wanted = [(a, e) for a, e in proposals if a.pk not in plans]
    if not wanted:
        return plans, {}
    wanted_ids = [a.pk for a, _ in wanted]
    lines = selectors.contract_lines(wanted_ids)
    costs = contracts.sell_costs_by_account(wanted_ids)
    high_risk_rate = selectors.high_risk_collateral_rate()
    held: dict[int, list[Position]] = {}
    # The model's ordering (account, instrument): each account's positions in _sellables' order.
    for position in Position.objects.filter(account_id__in=wanted_ids).select_related("instrument"):
        held.setdefault(position.account_id, []).append(position)
    rows, made = [], []
    for account, event in wanted:
        positions = held.get(account.pk, [])
        row, plan = _plan_row(
            account,
            trigger,
            event,
            None,
            lines.get(account.pk, DEFAULT_LINES),
            [_sellable(p, high_risk_rate) for p in positions],
            costs[account.pk],
        )
        rows.append(row)
        made.append((account, row, plan, {p.instrument.code: p.instrument for p in positions}))
    LiquidationPlan.objects.bulk_create(rows)
    LiquidationPlanItem.objects.bulk_create(
        item for _, row, plan, instruments in made for item in _plan_items(row, plan, instruments)
    )
    entries = {}
    for account, row, plan, _instruments in made:
        plans[account.pk] = row
        entries[account.pk] = audit_services.Entry(**_plan_audit(account, trigger, None, row, plan))
    return plans, entries


# Events per plan task (each plan is proposed in a transaction of its own).
PLAN_BATCH = 50
# More plan tasks than this from one commit are queued by one worker task
# (``margin.tasks.queue_liquidation_plans``): the ~26 tasks of a market-wide fall's ~1,300 plans,
# published one by one after each batch's commit, cost the risk engine's step ~2 ms of CPU each.
PLAN_FAN_OUT = 2


def liquidation_plans_queue(event_ids: list[int]) -> None:
    """After the caller's commit, propose the plans of these transitions through the liquidation
    line in worker tasks (``margin.tasks.propose_liquidation_plans``), ``PLAN_BATCH`` events a
    task: each plan's least-sale search takes ~0.14 s, and the ~1,400 of a market-wide fall kept
    the risk engine's step busy for minutes. The plan waits for two officers anyway; the margin
    call, the restriction and the client's notice are recorded with the transition. More than
    ``PLAN_FAN_OUT`` tasks go through one task that queues them (as notices' bulk enqueue does);
    a task run twice proposes nothing twice (``liquidation_plans_propose``)."""
    from margin import tasks

    ids = list(event_ids)
    if len(ids) > PLAN_BATCH * PLAN_FAN_OUT:
        transaction.on_commit(
            functools.partial(tasks.queue_liquidation_plans.delay, ids), robust=True
        )
        return
    for start in range(0, len(ids), PLAN_BATCH):
        chunk = ids[start : start + PLAN_BATCH]
        transaction.on_commit(
            functools.partial(tasks.propose_liquidation_plans.delay, chunk), robust=True
        )


def liquidation_plans_queue_batches(*, event_ids: list[int]) -> None:
    """Queue the plan tasks of these transitions, ``PLAN_BATCH`` events a task, now (a worker's
    fan-out of ``liquidation_plans_queue``)."""
    from margin import tasks

    for start in range(0, len(event_ids), PLAN_BATCH):
        tasks.propose_liquidation_plans.delay(list(event_ids[start : start + PLAN_BATCH]))


def liquidation_plans_propose(*, event_ids: list[int]) -> dict[int, LiquidationPlan]:
    """Propose the liquidation plans of these transitions through the liquidation line
    (``_propose_plans``), each with its audit entry, in the events' order; return the new plans
    by event id.

    Idempotent, so a replayed or duplicated task proposes nothing twice: each event's account
    is locked first (``selectors.accounts_locked``), and an event that already has a plan, or
    whose account already has one proposed or approved, gets no new one. Nor does an account
    back above the liquidation line since (the open margin call stands; its deadline sweep
    proposes a plan if it is missed). Each event in a transaction of its own: the engine's next
    batch may lock the same accounts, and should wait for one search (~0.14 s), not a task's.
    """
    proposed = {}
    for pk in dict.fromkeys(event_ids):
        plan = _propose_for_event(pk)
        if plan is not None:
            proposed[pk] = plan
    return proposed


@transaction.atomic
def _propose_for_event(event_id: int) -> LiquidationPlan | None:
    event = MarginEvent.objects.filter(pk=event_id, to_level=Level.LIQUIDATION.value).first()
    if event is None:
        return None
    account = selectors.accounts_locked([event.account_id]).get(event.account_id)
    if account is None or Level(account.current_level) != Level.LIQUIDATION:
        return None
    if LiquidationPlan.objects.filter(event_id=event_id).exists():
        return None
    plans, entries = _propose_plans([(account, event)], LiquidationPlan.Trigger.LIQUIDATION_LINE)
    if account.pk not in entries:
        return None  # the account's open plan is kept
    audit.record_many([entries[account.pk]])
    return plans[account.pk]


def liquidation_plans_propose_missing(*, before: datetime.datetime) -> int:
    """Stuck work: accounts still at the liquidation line through a transition recorded before
    `before` whose plan task never ran (a worker lost it); their tasks are queued again. The
    sweep runs every minute, so it looks back a day (the events' time index), not through every
    fall ever recorded; the call's missed deadline proposes a plan in any case."""
    from margin import tasks

    missing = (
        MarginEvent.objects.filter(
            to_level=Level.LIQUIDATION.value,
            occurred_at__lt=before,
            occurred_at__gte=before - datetime.timedelta(days=1),
            account__current_level=Level.LIQUIDATION.value,
            account__event_sequence=models.F("sequence"),
            liquidation_plans__isnull=True,
        )
        .exclude(account__liquidation_plans__status__in=OPEN_STATUSES)
        .values_list("pk", flat=True)
    )
    return sum(
        queue_once(f"liquidation-plans:{pk}", tasks.propose_liquidation_plans, [pk])
        for pk in missing[:500]
    )


def _plan_row(
    account: MarginAccount,
    trigger: str,
    event: MarginEvent | None,
    proposed_by: Any,
    lines: Lines,
    sellables: list[Sellable],
    costs: Any,
) -> tuple[LiquidationPlan, Plan]:
    plan = plan_sales(
        cash=account.cash,
        liabilities=account.liabilities,
        holdings=sellables,
        lines=lines,
        costs=costs,
    )
    row = LiquidationPlan(
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
    return row, plan


def _plan_items(
    row: LiquidationPlan, plan: Plan, instruments: dict[str, Instrument]
) -> list[LiquidationPlanItem]:
    return [
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
    ]


def _plan_audit(
    account: MarginAccount, trigger: str, proposed_by: Any, row: LiquidationPlan, plan: Plan
) -> dict[str, Any]:
    """``audit.record``'s arguments for a proposed plan."""
    return {
        "actor": proposed_by or ENGINE,
        "action": "margin.plan_proposed",
        "obj": row,
        "data": {
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
    }


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
def liquidation_plan_approve(*, plan_id: int, officer: Any, reason: str) -> LiquidationPlan:
    """Approve a proposed plan, saying why. Nothing is sold yet: a second risk officer confirms
    the execution (``liquidation_plan_confirm_execution``)."""
    reason = (reason or "").strip()
    if not reason:
        raise PlanDecisionError(_("Say why the plan is approved."))
    plan = LiquidationPlan.objects.select_for_update().get(pk=plan_id)
    _check_decider(plan, officer)
    if plan.status != LiquidationPlan.Status.PROPOSED:
        raise PlanDecisionError(_("This plan has already been decided."))
    plan.decided_by, plan.decided_at, plan.decision_note = officer, timezone.now(), reason
    LIQUIDATION_PLAN.move(plan, LiquidationPlan.Status.APPROVED)
    plan.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit.record(actor=officer, action="margin.plan_approved", obj=plan, data={"reason": reason})
    return plan


@transaction.atomic
def liquidation_plan_confirm_execution(*, plan_id: int, officer: Any) -> LiquidationPlan:
    """A second risk officer, not the one who approved the plan, orders its sales; they run
    after commit (``liquidation_plan_execute``)."""
    plan = LiquidationPlan.objects.select_for_update().get(pk=plan_id)
    if not officer.has_perm("margin.decide_liquidationplan"):
        raise PlanDecisionError(_("Only a risk officer may execute a liquidation plan."))
    if plan.status != LiquidationPlan.Status.APPROVED or plan.execution_confirmed_at is not None:
        raise PlanDecisionError(_("This plan is not awaiting execution."))
    if plan.decided_by_id == officer.pk:
        raise PlanDecisionError(
            _(
                "Four-eyes rule: you approved this plan, so another risk officer must confirm "
                "its execution."
            )
        )
    plan.execution_confirmed_by, plan.execution_confirmed_at = officer, timezone.now()
    plan.save(update_fields=["execution_confirmed_by", "execution_confirmed_at"])
    items = plan.items.select_related("instrument")
    audit.record(
        actor=officer,
        action="margin.plan_execution_confirmed",
        obj=plan,
        data={
            "approved_by": plan.decided_by_id,
            "expected_proceeds": str(plan.expected_proceeds),
            "expected_costs": str(plan.expected_costs),
            "sales": [[item.instrument.code, item.quantity] for item in items],
        },
    )
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
    plan.decided_by, plan.decided_at, plan.decision_note = officer, timezone.now(), reason
    LIQUIDATION_PLAN.move(plan, LiquidationPlan.Status.REJECTED)
    plan.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit.record(actor=officer, action="margin.plan_rejected", obj=plan, data={"reason": reason})
    return plan


@transaction.atomic
def liquidation_plan_execute(*, plan_id: int) -> LiquidationPlan:
    """Fill an approved plan whose execution a second officer confirmed, at the feed's current
    prices, and repay debt with the net proceeds.

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
    if plan.status != LiquidationPlan.Status.APPROVED or plan.execution_confirmed_at is None:
        return plan
    route = liquidation_route()
    if route is not None and route(plan):
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
    # Whoever keeps the books records the fill and moves the balances (margin.books).
    liquidation_filled.send(
        sender=LiquidationPlan,
        plan=plan,
        account_id=account.pk,
        proceeds=proceeds,
        repaid=repaid,
        costs=costs,
        cost_references=sell_costs.references,
    )
    if books_owner() is None:
        account_balances_apply(
            account_id=account.pk,
            cash=proceeds - total_costs - sum(repaid.values(), Decimal("0.00")),
            **{field: -amount for field, amount in repaid.items()},
        )
    account.refresh_from_db()
    plan.executed_at = timezone.now()
    LIQUIDATION_PLAN.move(plan, LiquidationPlan.Status.EXECUTED)
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


def liquidation_plans_requeue(*, before: datetime.datetime) -> int:
    """Stuck work: plans whose execution was confirmed before `before` and still not carried out
    (the execution is idempotent: a plan no longer APPROVED is left as it is)."""
    from margin import tasks

    approved = LiquidationPlan.objects.filter(
        status=LiquidationPlan.Status.APPROVED, execution_confirmed_at__lt=before
    ).values_list("pk", flat=True)
    return sum(
        queue_once(f"liquidation-plan:{pk}", tasks.execute_liquidation_plan, pk)
        for pk in approved[:500]
    )
