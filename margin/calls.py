"""Margin calls: opened with a deadline, met at the warning line, missed by the deadline sweep."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from django.db import transaction
from django.utils import timezone

import audit
from audit import services as audit_services
from margin import contracts, rules
from margin.actors import ENGINE
from margin.engine import Restoration
from margin.liquidation_plans import _propose_plan
from margin.models import (
    LiquidationPlan,
    MarginAccount,
    MarginCall,
    MarginEvent,
    Restriction,
)
from margin.notify import _local, _notice_context, _percent, _str, _touch, _touch_many
from margin.rules import DEFAULT_LINES
from margin.selectors import accounts_locked, contract_lines
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


class _Figures(NamedTuple):
    assets: Decimal
    liabilities: Decimal


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
        figures = _Figures(assets=assets, liabilities=liabilities)
        audit.record(**_call_met_audit(call, ratio, lines, figures))
    lifted = []
    for restriction in Restriction.objects.filter(
        account=account,
        kind=Restriction.Kind.REDUCE_ONLY,
        lifted_at__isnull=True,
        imposed_by__isnull=True,
    ):
        _lift_reduce_only(restriction, ratio, occurred_at)
        restriction.save(update_fields=["lifted_at", "lift_reason"])
        audit.record(**_restriction_lifted_audit(restriction, account, ratio))
        lifted.append(restriction)
    if call is None and not lifted:
        return False
    notice = _recovered_notice(account, call, lifted, ratio, occurred_at)
    notices.enqueue(
        recipient=notice.recipient,
        key=notice.key,
        context=notice.context,
        idempotency_key=notice.idempotency_key,
    )
    _touch(account.pk)
    return True


@transaction.atomic
def margin_calls_restore(
    *, restorations: Sequence[Restoration], occurred_at: datetime.datetime
) -> set[int]:
    """``margin_call_restore`` for many accounts (one restoration each) in one transaction and a
    constant number of statements: the same calls met, restrictions lifted, audit entries (in the
    order of ``restorations``, one lock of the chain) and notices (one ``enqueue_many``), the
    accounts locked in id order first. Returns the accounts where anything changed.
    """
    ids = sorted({r.account_id for r in restorations})
    if len(ids) != len(restorations):
        raise ValueError("one restoration per account per batch")
    if not ids:
        return set()
    accounts = accounts_locked(ids)
    for account_id in ids:
        if account_id not in accounts:
            raise MarginAccount.DoesNotExist(f"margin account {account_id}")
    lines = contract_lines(ids)
    due = [
        r
        for r in restorations
        if r.ratio is None or r.ratio >= lines.get(r.account_id, DEFAULT_LINES).restore
    ]
    due_ids = [r.account_id for r in due]
    calls: dict[int, MarginCall] = {}
    for open_call in MarginCall.objects.select_for_update().filter(
        account_id__in=due_ids, status=MarginCall.Status.OPEN
    ):
        calls.setdefault(open_call.account_id, open_call)
    held: dict[int, list[Restriction]] = {}
    for restriction in Restriction.objects.filter(
        account_id__in=due_ids,
        kind=Restriction.Kind.REDUCE_ONLY,
        lifted_at__isnull=True,
        imposed_by__isnull=True,
    ):
        held.setdefault(restriction.account_id, []).append(restriction)
    entries, requests, restored = [], [], set()
    for r in due:
        account, call = accounts[r.account_id], calls.get(r.account_id)
        if call is not None:
            call.status, call.resolved_at = MarginCall.Status.MET, occurred_at
            entries.append(
                audit_services.Entry(
                    **_call_met_audit(call, r.ratio, lines.get(r.account_id, DEFAULT_LINES), r)
                )
            )
        lifted = held.get(r.account_id, [])
        for restriction in lifted:
            _lift_reduce_only(restriction, r.ratio, occurred_at)
            entries.append(
                audit_services.Entry(**_restriction_lifted_audit(restriction, account, r.ratio))
            )
        if call is None and not lifted:
            continue
        restored.add(account.pk)
        requests.append(_recovered_notice(account, call, lifted, r.ratio, occurred_at))
    MarginCall.objects.bulk_update(
        [calls[i] for i in restored if i in calls], ["status", "resolved_at"]
    )
    Restriction.objects.bulk_update(
        [x for i in restored for x in held.get(i, [])], ["lifted_at", "lift_reason"]
    )
    audit.record_many(entries)
    notices.enqueue_many(requests)
    _touch_many(restored)
    return restored


def _call_met_audit(call, ratio, lines, figures) -> dict[str, Any]:
    return {
        "actor": ENGINE,
        "action": "margin.call_met",
        "obj": call,
        "data": {
            "ratio": _str(ratio),
            "restore_line": str(lines.restore),
            "assets": str(figures.assets),
            "liabilities": str(figures.liabilities),
        },
    }


def _lift_reduce_only(restriction: Restriction, ratio, occurred_at) -> None:
    restriction.lifted_at = max(occurred_at, restriction.imposed_at)
    restriction.lift_reason = f"Ratio restored to {_percent(ratio)}"


def _restriction_lifted_audit(restriction, account, ratio) -> dict[str, Any]:
    return {
        "actor": ENGINE,
        "action": "margin.restriction_lifted",
        "obj": restriction,
        "data": {"account": account.number, "ratio": _str(ratio)},
    }


def _recovered_notice(account, call, lifted, ratio, occurred_at) -> notices.NoticeRequest:
    key = f"call:{call.pk}" if call is not None else f"restriction:{lifted[0].pk}"
    return notices.NoticeRequest(
        recipient=account.client,
        key="margin_recovered",
        context={
            "account_number": account.number,
            "ratio": _percent(ratio),
            "occurred_at": _local(occurred_at),
        },
        idempotency_key=f"margin-restored:{account.pk}:{key}",
    )


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
    for call_id, account_id in list(due.values_list("pk", "account_id")[:1000]):
        with transaction.atomic():
            # The account first, then the call: the order the engine takes them in (the
            # restorations lock accounts, then their calls); the other order deadlocks with it.
            list(MarginAccount.objects.select_for_update().filter(pk=account_id).values("pk"))
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
