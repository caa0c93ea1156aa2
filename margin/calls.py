"""Margin calls: opened with a deadline, met at the warning line, missed by the deadline sweep."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

import audit
from margin import contracts, rules
from margin.actors import ENGINE
from margin.liquidation_plans import _propose_plan
from margin.models import (
    LiquidationPlan,
    MarginAccount,
    MarginCall,
    MarginEvent,
    Restriction,
)
from margin.notify import _local, _notice_context, _percent, _str, _touch
from notices import services as notices
from portal import calendars


def _open_call(account: MarginAccount, event: MarginEvent) -> MarginCall:
    existing = MarginCall.objects.filter(account=account, status=MarginCall.Status.OPEN).first()
    if existing:
        return existing
    cure = rules.cure(
        assets=event.assets,
        liabilities=event.liabilities,
        market_value=max(event.assets - account.cash, Decimal("0.00")),
        lines=account.lines,
        sell_costs=contracts.sell_costs(account),
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
        reason=reason,
        reason_code="" if reason else Restriction.ReasonCode.MARGIN_CALL,
        reason_params={} if reason else {"ratio": _percent(event.ratio if event else None)},
        event=event,
        imposed_at=event.occurred_at if event else timezone.now(),
    )
    audit.record(
        actor=ENGINE,
        action="margin.restriction_imposed",
        obj=restriction,
        data={"account": account.number, "kind": kind.value},
    )


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
