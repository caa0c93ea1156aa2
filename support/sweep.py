"""The SLA sweep: threshold notices and escalation for running clocks, claimed once per crossing."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection, transaction
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
_ID_MARK = "9876543210"  # stands for a ticket id in the admin URL worked out once a batch


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
            requests: list[notices.NoticeRequest] = []
            changed: list[SlaClock] = []
            for clock in batch:
                crossed = clock.record_thresholds(at=now)
                if crossed:
                    changed.append(clock)
                for percent in crossed:
                    requests += _threshold_notices(clock, percent, now, staff)
            progressed = bool(changed)
            # The batch in a few statements whatever its size (after an outage: thousands of
            # notices, hundreds of escalations): the clocks, the escalations and their audit
            # entries, the notices.
            _save_thresholds(changed)
            staff.escalate(now)
            notices_sent += len(notices.enqueue_many(requests))
            clocks += len(batch)
        # A full batch with nothing recorded would come back unchanged: never loop on it.
        if len(batch) < batch_size or not progressed:
            break
    return SweepResult(clocks=clocks, notices=notices_sent)


_THRESHOLD_FIELDS = ["warned_75_at", "warned_90_at", "breached_at", "next_check_at"]
# One statement for the batch's clocks (Django's bulk_update builds a CASE WHEN per clock and
# field, which was a third of the sweep after an outage).
_SAVE_THRESHOLDS_SQL = f"""
    UPDATE {SlaClock._meta.db_table} AS c
    SET warned_75_at = v.warned_75_at, warned_90_at = v.warned_90_at,
        breached_at = v.breached_at, next_check_at = v.next_check_at
    FROM unnest(%s::bigint[], %s::timestamptz[], %s::timestamptz[], %s::timestamptz[],
                %s::timestamptz[]) AS v(id, warned_75_at, warned_90_at, breached_at, next_check_at)
    WHERE c.id = v.id
"""  # noqa: S608 - the table name is the model's own, the values are parameters


def _save_thresholds(clocks: list[SlaClock]) -> None:
    if not clocks:
        return
    if connection.vendor != "postgresql":
        SlaClock.objects.bulk_update(clocks, _THRESHOLD_FIELDS)
        return
    with connection.cursor() as cursor:
        cursor.execute(
            _SAVE_THRESHOLDS_SQL,
            [[c.pk for c in clocks]]
            + [[getattr(c, field) for c in clocks] for field in _THRESHOLD_FIELDS],
        )


class _Escalation:
    """Who hears of a breach, looked up once per batch; the batch's escalations, written at once."""

    def __init__(self) -> None:
        self._escalated: list[int] = []
        self._entries: list[audit.Entry] = []
        self._delivery_times: dict[tuple[bool, datetime], datetime | None] = {}

    def add(self, ticket: Ticket, clock: SlaClock, now: datetime) -> None:
        ticket.escalated_at = now
        if ticket.pk in self._escalated:
            return  # its other clock breached in this batch too: one escalation, one entry
        self._escalated.append(ticket.pk)
        self._entries.append(
            audit.Entry(
                actor=SWEEP_ACTOR,
                action="support.sla_breach",
                obj=ticket,
                data={
                    "clock": clock.kind,
                    "due_at": clock.due_at.isoformat() if clock.due_at else None,
                },
            )
        )

    def escalate(self, now: datetime) -> None:
        if not self._escalated:
            return
        # Only the tickets this sweep escalates are audited: another sweep working other clocks
        # of a ticket may have escalated it since its clocks were read (the row lock orders them).
        escalating = set(
            Ticket.objects.select_for_update()
            .filter(pk__in=self._escalated, escalated_at=None)
            .values_list("pk", flat=True)
        )
        Ticket.objects.filter(pk__in=escalating).update(escalated_at=now)
        audit.record_many(
            [e for e in self._entries if e.obj is not None and e.obj.pk in escalating]
        )
        self._escalated, self._entries = [], []

    def delivery_time(self, ticket: Ticket, now: datetime) -> datetime | None:
        # The same for every ticket of a type at one sweep's `now`: the calendar asked once.
        key = (ticket.type == TicketType.MARGIN_CALL_APPEAL, now)
        if key not in self._delivery_times:
            self._delivery_times[key] = _staff_delivery_time(ticket, now, self.service_calendar)
        return self._delivery_times[key]

    def ticket_admin_url(self, ticket_id: int) -> str:
        # reverse() once a batch, not once a notice: the id is the only part that changes.
        return self._admin_url_pattern.replace(_ID_MARK, str(ticket_id))

    @functools.cached_property
    def _admin_url_pattern(self) -> str:
        return _absolute(reverse("admin:support_ticket_change", args=[_ID_MARK]))

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
            staff.add(ticket, clock, now)
    context = {
        "ticket_id": ticket.pk,
        "subject": ticket.subject,
        "type": ticket.type,
        "clock": clock.kind,
        "percent": percent,
        "due_at": formatting.beijing_minute(clock.due_at) if clock.due_at else "",
        "admin_url": staff.ticket_admin_url(ticket.pk),
    }
    deliver_at = staff.delivery_time(ticket, now)
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
