"""The SLA sweep: threshold notices and escalation for running clocks, claimed once per crossing."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone, translation

from audit import services as audit
from notices import services as notices
from portal import formatting
from portal.calendars import CalendarKind, WorkingCalendar, add_working_time, get_calendar, is_open
from support.clocks import CLOCK_NAMES
from support.models import (
    COMPLIANCE_TYPES,
    SlaClock,
    Ticket,
    TicketType,
)
from support.tickets import _absolute

if TYPE_CHECKING:
    from accounts.models import User

SWEEP_ACTOR = "sla-sweep"


# --- the sweep ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepResult:
    clocks: int
    notices: int


def sla_sweep(*, now: datetime | None = None, batch_size: int = 500) -> SweepResult:
    """Record every threshold that has come (75%, 90%, breach) and send its notices, once.

    Each batch claims its clocks with SELECT … FOR UPDATE SKIP LOCKED, so two sweeps running at
    once split the work instead of doing it twice; the notices' idempotency keys (ticket × clock ×
    threshold × recipient) make even a repeated claim harmless.
    """
    now = now or timezone.now()
    clocks = notices_sent = 0
    while True:
        with transaction.atomic():
            batch = list(
                SlaClock.objects.filter(next_check_at__lte=now)
                .select_for_update(skip_locked=True, of=("self",))
                .select_related("ticket", "ticket__assignee", "ticket__client")
                .order_by("next_check_at")[:batch_size]
            )
            if not batch:
                break
            staff = _Escalation()
            progressed = False
            requests: list[notices.NoticeRequest] = []
            for clock in batch:
                crossed = clock.record_thresholds(at=now)
                progressed = progressed or bool(crossed)
                for percent in crossed:
                    requests += _threshold_notices(clock, percent, now, staff)
            SlaClock.objects.bulk_update(
                batch, ["warned_75_at", "warned_90_at", "breached_at", "next_check_at"]
            )
            # The batch's notices in a few statements (after an outage there are thousands).
            notices_sent += len(notices.enqueue_many(requests))
            clocks += len(batch)
        # A full batch with nothing recorded would come back unchanged: never loop on it.
        if len(batch) < batch_size or not progressed:
            break
    return SweepResult(clocks=clocks, notices=notices_sent)


class _Escalation:
    """Who hears of a breach, looked up once per batch."""

    @functools.cached_property
    def supervisors(self) -> list[User]:
        return list(_users_with_perm("support.supervise_ticket"))

    @functools.cached_property
    def service_calendar(self) -> WorkingCalendar:
        return get_calendar(CalendarKind.SERVICE)

    @functools.cached_property
    def compliance(self) -> list[User]:
        return list(
            get_user_model().objects.filter(groups__name="compliance", is_active=True).distinct()
        )


def _threshold_notices(
    clock: SlaClock, percent: int, now: datetime, staff: _Escalation
) -> list[notices.NoticeRequest]:
    ticket = clock.ticket
    assignee = [ticket.assignee] if ticket.assignee else []
    if percent < 100:
        recipients, key = assignee or staff.supervisors, "support_sla_warning"
    else:
        recipients, key = assignee + staff.supervisors, "support_sla_breach"
        if ticket.type in COMPLIANCE_TYPES:
            recipients += staff.compliance
        if ticket.escalated_at is None:
            ticket.escalated_at = now
            Ticket.objects.filter(pk=ticket.pk, escalated_at=None).update(escalated_at=now)
            audit.record(
                actor=SWEEP_ACTOR,
                action="support.sla_breach",
                obj=ticket,
                data={
                    "clock": clock.kind,
                    "due_at": clock.due_at.isoformat() if clock.due_at else None,
                },
            )
    context = {
        "ticket_id": ticket.pk,
        "subject": ticket.subject,
        "type": ticket.type,
        "clock": clock.kind,
        "percent": percent,
        "due_at": formatting.beijing_minute(clock.due_at) if clock.due_at else "",
        "admin_url": _absolute(reverse("admin:support_ticket_change", args=[ticket.pk])),
    }
    deliver_at = _staff_delivery_time(ticket, now, staff.service_calendar)
    requests = []
    seen: set[int] = set()
    for user in recipients:
        # Staff only: a client is never a recipient, even if someone made them a supervisor.
        if user.pk in seen or not user.is_staff or user.pk == ticket.client_id:
            continue
        seen.add(user.pk)
        with translation.override(user.language):
            clock_name = str(CLOCK_NAMES[clock.kind])
        requests.append(
            notices.NoticeRequest(
                recipient=user,
                key=key,
                context={**context, "clock_name": clock_name},
                idempotency_key=f"support:sla:{ticket.pk}:{clock.pk}:{percent}:{user.pk}",
                not_before=deliver_at,
            )
        )
    return requests


def _staff_delivery_time(
    ticket: Ticket, now: datetime, service: WorkingCalendar
) -> datetime | None:
    """When an agent notice may go out: now, or the next service opening (appeals: always now)."""
    if ticket.type == TicketType.MARGIN_CALL_APPEAL:
        return None
    if is_open(now, service):
        return None
    return add_working_time(now, timedelta(0), service)


def _users_with_perm(perm: str) -> QuerySet[User]:
    app_label, codename = perm.split(".")
    permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename)
    return (
        get_user_model()
        .objects.filter(is_active=True, is_staff=True)
        .filter(Q(user_permissions__in=permission) | Q(groups__permissions__in=permission))
        .distinct()
    )
