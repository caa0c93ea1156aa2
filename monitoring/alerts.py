"""Tiered alerts a risk officer works: raised from signals, deduplicated while the condition
lasts, acknowledged, closed with a note and an outcome, escalated when nobody acknowledges.

Dedup: one alert per condition (``Signal.key``) that is not closed. A signal for a condition
with an open alert refreshes it (latest value and inputs, last seen); an evaluation that covers
the rule and no longer finds the condition marks it ended, and it stays open until an officer
closes it. After closing, the same condition coming back raises a new alert.

Escalation: an alert not acknowledged by its ``ack_due_at`` (minutes per level in
``settings.MONITORING_ACK_MINUTES``) goes one level up, and every risk officer is told; the
sweep claims rows with a conditional update, so running it twice escalates once.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

import audit
import notices
from monitoring.models import LEVEL_ORDER, Alert, Level
from monitoring.surveillance import Pass, Signal

logger = logging.getLogger(__name__)
LIVE = (Alert.Status.OPEN, Alert.Status.ACKNOWLEDGED)
# An unchanged condition is written back at most this often (the board shows "last seen").
REFRESH_EVERY = datetime.timedelta(seconds=60)


class AlertError(ValueError):
    pass


def _ack_due(level: str, at: datetime.datetime) -> datetime.datetime | None:
    minutes = settings.MONITORING_ACK_MINUTES.get(level)
    return at + datetime.timedelta(minutes=minutes) if minutes else None


def describe(signal: Signal) -> str:
    """One line for the board and the notice, in the active language."""
    return _("%(rule)s on %(subject)s: value %(value)s against threshold %(threshold)s") % {
        "rule": signal.rule,
        "subject": signal.subject,
        "value": signal.value,
        "threshold": signal.threshold,
    }


def risk_officers() -> Iterable[Any]:
    return get_user_model().objects.filter(groups__name="risk_officer", is_active=True).distinct()


def _tell_officers(alert: Alert) -> None:
    for user in risk_officers():
        notices.enqueue(
            recipient=user,
            key="monitoring_alert",
            context={
                "level": str(alert.get_level_display()),
                "rule": alert.rule,
                "subject": alert.subject,
                "message": alert.message,
                "escalations": alert.escalations,
            },
            idempotency_key=f"monitoring-alert:{alert.pk}:{alert.escalations}:{user.pk}",
        )


@transaction.atomic
def signals_apply(
    result: Pass, *, at: datetime.datetime | None = None, source: str = "signal"
) -> list[Alert]:
    """Raise, refresh or end alerts from one evaluation; return the alerts newly raised."""
    at = at or timezone.now()
    wanted = {signal.key: signal for signal in result.signals}
    live = {
        alert.key: alert
        for alert in Alert.objects.select_for_update().filter(
            status__in=LIVE, rule__in=result.rules | {s.rule for s in result.signals}
        )
    }
    raised: list[Alert] = []
    refreshed: list[Alert] = []
    for key, signal in wanted.items():
        alert = live.get(key)
        if alert is None:
            raised.append(
                Alert(
                    key=key,
                    rule=signal.rule,
                    subject_kind=signal.subject_kind,
                    subject=signal.subject,
                    level=signal.level,
                    value=signal.value,
                    threshold=signal.threshold,
                    inputs=signal.inputs,
                    last_value=signal.value,
                    last_inputs=signal.inputs,
                    message=describe(signal),
                    source=source,
                    raised_at=at,
                    last_seen_at=at,
                    ack_due_at=_ack_due(signal.level, at),
                )
            )
            continue
        changed = alert.last_value != signal.value or alert.condition_ended_at is not None
        if LEVEL_ORDER[Level(signal.level)] > LEVEL_ORDER[Level(alert.level)]:
            alert.level, changed = signal.level, True
        if changed or at - alert.last_seen_at >= REFRESH_EVERY:
            alert.last_value, alert.last_inputs = signal.value, signal.inputs
            alert.last_seen_at, alert.condition_ended_at = at, None
            refreshed.append(alert)
    ended = [
        alert
        for key, alert in live.items()
        if key not in wanted and alert.rule in result.rules and alert.condition_ended_at is None
    ]
    for alert in ended:
        alert.condition_ended_at = at
    Alert.objects.bulk_update(
        refreshed, ["last_value", "last_inputs", "last_seen_at", "condition_ended_at", "level"]
    )
    Alert.objects.bulk_update(ended, ["condition_ended_at"])
    if raised or ended:
        counts = (len(raised), len(ended))
        transaction.on_commit(lambda: _tell_boards(*counts))
    if raised:
        raised = _create(raised)
        # One audit entry for the alerts one evaluation raised, each with its rule and inputs.
        audit.record(
            actor="market monitoring",
            action="monitoring.alerts_raised",
            object_type="monitoring.alert",
            object_id=raised[0].pk,  # the first; the data lists them all
            data={
                "alerts": [
                    {
                        "id": a.pk,
                        "rule": a.rule,
                        "subject": a.subject,
                        "level": a.level,
                        "value": str(a.value),
                        "threshold": str(a.threshold),
                        "inputs": a.inputs,
                    }
                    for a in raised
                ]
            },
        )
        for alert in raised:
            if alert.level == Level.CRITICAL:
                _tell_officers(alert)
        for handler in _on_raised:
            handler(raised, at=at)
    return raised


# What follows new alerts (the responses they propose), called once with all the alerts one
# evaluation raised (a crash raises hundreds): registered by monitoring's AppConfig,
# so that this module, which responses use to raise review alerts, imports no response code.
_on_raised: list[Callable[..., Any]] = []


def on_raised(handler: Callable[..., Any]) -> None:
    if handler not in _on_raised:
        _on_raised.append(handler)


def _tell_boards(raised: int, ended: int) -> None:
    """Open risk boards reload (a lost message only delays them to their next poll)."""
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    from monitoring.consumers import BOARD_GROUP

    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(
            BOARD_GROUP, {"type": "board.changed", "raised": raised, "ended": ended}
        )
    except Exception:  # a board that misses one update catches up on its next poll
        logger.warning("Could not tell the risk boards that alerts changed", exc_info=True)


def _create(alerts: list[Alert]) -> list[Alert]:
    """Insert new alerts in one statement; if another process raised one of the same
    conditions meanwhile, fall back to one at a time and keep only those that are new."""
    try:
        with transaction.atomic():
            return Alert.objects.bulk_create(alerts)
    except IntegrityError:
        created = []
        for alert in alerts:
            try:
                with transaction.atomic():
                    alert.save(force_insert=True)
            except IntegrityError:
                continue
            created.append(alert)
        return created


def _check_officer(officer: Any) -> None:
    if not officer.has_perm("monitoring.work_alert"):
        raise PermissionDenied(_("Only a risk officer may work alerts."))


@transaction.atomic
def alert_acknowledge(*, alert_id: int, officer: Any, note: str = "") -> Alert:
    """The officer takes the alert: escalation stops."""
    _check_officer(officer)
    alert = Alert.objects.select_for_update().get(pk=alert_id)
    if alert.status != Alert.Status.OPEN:
        raise AlertError(_("Only an open alert can be acknowledged."))
    alert.status, alert.acknowledged_by, alert.acknowledged_at = (
        Alert.Status.ACKNOWLEDGED,
        officer,
        timezone.now(),
    )
    alert.save(update_fields=["status", "acknowledged_by", "acknowledged_at"])
    audit.record(
        actor=officer, action="monitoring.alert_acknowledged", obj=alert, data={"note": note}
    )
    return alert


@transaction.atomic
def alert_close(*, alert_id: int, officer: Any, outcome: str, note: str) -> Alert:
    """Close with an outcome and a note. "Acted on" needs the action: a response linked to it."""
    _check_officer(officer)
    alert = Alert.objects.select_for_update().get(pk=alert_id)
    if alert.status == Alert.Status.CLOSED:
        raise AlertError(_("This alert is already closed."))
    if outcome not in {Alert.Outcome.ACTED_ON, Alert.Outcome.DISMISSED, Alert.Outcome.FALSE_ALARM}:
        raise AlertError(_("Choose an outcome: acted on, dismissed or false alarm."))
    if not (note or "").strip():
        raise AlertError(_("Write a closing note: what was found and what was done."))
    applied = alert.responses.exclude(status__in=["proposed", "rejected"]).exists()
    if outcome == Alert.Outcome.ACTED_ON and not applied:
        raise AlertError(_("Link the action first: confirm a response on this alert."))
    now = timezone.now()
    if alert.acknowledged_at is None:
        alert.acknowledged_by, alert.acknowledged_at = officer, now
    alert.status, alert.outcome, alert.close_note = Alert.Status.CLOSED, outcome, note.strip()
    alert.closed_by, alert.closed_at = officer, now
    alert.save()
    audit.record(
        actor=officer,
        action="monitoring.alert_closed",
        obj=alert,
        data={"outcome": outcome, "note": alert.close_note},
    )
    return alert


def alerts_escalate(*, now: datetime.datetime | None = None) -> int:
    """Escalate every open alert past its acknowledge-by time; return how many."""
    now = now or timezone.now()
    count = 0
    for alert_id in Alert.objects.filter(status=Alert.Status.OPEN, ack_due_at__lte=now).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            alert = (
                Alert.objects.select_for_update(skip_locked=True)
                .filter(pk=alert_id, status=Alert.Status.OPEN, ack_due_at__lte=now)
                .first()
            )
            if alert is None:
                continue  # acknowledged meanwhile, or another sweep has it
            order = LEVEL_ORDER[Level(alert.level)]
            alert.level = [Level.INFO, Level.WARNING, Level.CRITICAL][min(order + 1, 2)]
            alert.escalations += 1
            alert.escalated_at = now
            alert.ack_due_at = _ack_due(alert.level, now)
            alert.save(update_fields=["level", "escalations", "escalated_at", "ack_due_at"])
            audit.record(
                actor="alert escalation sweep",
                action="monitoring.alert_escalated",
                obj=alert,
                data={"level": alert.level, "escalations": alert.escalations},
            )
            _tell_officers(alert)
            count += 1
    return count
