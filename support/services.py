"""Support workflows: tickets and their conversation, the SLA clocks, the sweep, surveys, exports.

Every workflow locks the ticket row, changes the ticket, its messages and its clocks together, and
writes its audit entry and notices in the same transaction. Only a public agent reply stops a
response clock; an internal note never does, and never reaches the client.
"""

from __future__ import annotations

import functools
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.ratelimits import hit
from audit import services as audit
from notices import services as notices
from notices.models import Notification
from portal import inputs
from portal.background import finished, queue_once
from portal.calendars import WorkingCalendar, add_working_time, get_calendar, is_open
from portal.models import CalendarKind
from support.models import (
    COMPLIANCE_TYPES,
    Attachment,
    Message,
    Priority,
    Queue,
    SlaClock,
    SlaPolicy,
    Survey,
    Ticket,
    TicketExport,
    TicketType,
)
from support.uploads import CheckedFile, check_uploads

if TYPE_CHECKING:
    from django.core.files.uploadedfile import UploadedFile

    from accounts.models import User

Status = Ticket.Status
Kind = SlaClock.Kind
# A client may reopen a resolved or closed ticket for this long; after it, a new ticket.
REOPEN_WINDOW = timedelta(days=7)
# Ticket creation is rate-limited per client (DESIGN "Rate limits").
OPEN_LIMIT_PER_HOUR = 10
MAX_BODY = 10_000
MAX_SUBJECT = 200
MAX_COMMENT = 2000
SWEEP_ACTOR = "sla-sweep"
# In the middle of a sentence ("has used 75% of its first response time").
CLOCK_NAMES: dict[str, Any] = {
    Kind.FIRST_RESPONSE: gettext_lazy("first response"),
    Kind.NEXT_RESPONSE: gettext_lazy("next response"),
    Kind.RESOLUTION: gettext_lazy("resolution"),
}


class SlaPolicyMissing(Exception):
    """No policy row for a ticket's type and priority: staff deleted one the portal needs."""


@transaction.atomic
def sla_clocks_start(*, ticket: Ticket, at: datetime | None = None) -> list[SlaClock]:
    """Start the first-response and resolution clocks of a newly opened ticket."""
    at = at or timezone.now()  # both promises start at the same instant
    return [
        sla_clock_start(ticket=ticket, kind=kind, at=at)
        for kind in (SlaClock.Kind.FIRST_RESPONSE, SlaClock.Kind.RESOLUTION)
    ]


@transaction.atomic
def sla_clock_start(*, ticket: Ticket, kind: str, at: datetime | None = None) -> SlaClock:
    """Start a clock of `kind` on `ticket` under its policy, or return the one already running.

    A client who writes twice before the agent answers is owed one next response, by the first
    promise, so a running clock is never restarted.
    """
    _lock(ticket)
    running = ticket.sla_clocks.filter(kind=kind, stopped_at=None).first()
    if running is not None:
        return running
    policy = _policy_for(ticket)
    clock = SlaClock.start(
        ticket=ticket,
        kind=kind,
        policy=policy,
        at=at or timezone.now(),
        calendar=get_calendar(policy.calendar),
    )
    clock.save()
    return clock


@transaction.atomic
def sla_clocks_pause(*, ticket: Ticket, at: datetime | None = None) -> list[SlaClock]:
    """Pause the ticket's running clocks while it waits on the client."""
    return _change_running(ticket, "pause", at)


@transaction.atomic
def sla_clocks_resume(*, ticket: Ticket, at: datetime | None = None) -> list[SlaClock]:
    """Resume the ticket's paused clocks when the client replies; due times move by the pause."""
    return _change_running(ticket, "resume", at)


@transaction.atomic
def sla_clock_stop(*, ticket: Ticket, kind: str, at: datetime | None = None) -> SlaClock | None:
    """Stop the running clock of `kind` (a public agent reply stops a response clock)."""
    stopped = _change_running(ticket, "stop", at, kind=kind)
    return stopped[0] if stopped else None


@transaction.atomic
def sla_clocks_stop(*, ticket: Ticket, at: datetime | None = None) -> list[SlaClock]:
    """Stop every clock of the ticket: it was resolved, closed or merged."""
    return _change_running(ticket, "stop", at)


def _change_running(
    ticket: Ticket, action: str, at: datetime | None, *, kind: str | None = None
) -> list[SlaClock]:
    _lock(ticket)
    at = at or timezone.now()
    calendar_for = functools.cache(get_calendar)  # one override query per calendar kind
    # Locked too: the sweep records thresholds on these rows, and must not be overwritten.
    clocks = ticket.sla_clocks.select_for_update().filter(stopped_at=None)
    if kind is not None:
        clocks = clocks.filter(kind=kind)
    changed = []
    for clock in clocks.order_by("pk"):
        getattr(clock, action)(at=at, calendar=calendar_for(clock.calendar))
        clock.save()
        changed.append(clock)
    return changed


def _lock(ticket: Ticket) -> None:
    # Every clock change on a ticket goes through its row lock, so a client's reply and an agent's
    # answer arriving together apply one after the other.
    Ticket.objects.select_for_update().only("pk").get(pk=ticket.pk)


def _policy_for(ticket: Ticket) -> SlaPolicy:
    try:
        return SlaPolicy.objects.get(ticket_type=ticket.type, priority=ticket.priority)
    except SlaPolicy.DoesNotExist:
        raise SlaPolicyMissing(
            _("No SLA policy for %(type)s tickets of %(priority)s priority.")
            % {"type": ticket.get_type_display(), "priority": ticket.get_priority_display()}
        ) from None


# --- tickets: the client's side ----------------------------------------------------------------


@transaction.atomic
def ticket_open(
    *,
    client: User,
    type: str,
    subject: str,
    body: str,
    files: list[UploadedFile] | None = None,
    priority: str = Priority.NORMAL,
) -> Ticket:
    """Open a ticket with its first message and attachments, and start its clocks.

    Everything is checked before anything is written; bad input raises ValidationError.
    """
    if type not in TicketType.values:
        raise ValidationError(_("Choose what kind of request this is."))
    subject, body = inputs.bounded(subject, MAX_SUBJECT), body.strip()
    if not subject or not body:
        raise ValidationError(_("Give your request a subject and describe it."))
    _check_length(body)
    checked = check_uploads(list(files or []))
    _count_opening(client)
    ticket = Ticket.objects.create(
        client=client,
        type=type,
        priority=priority,
        subject=subject,
        queue=Queue.COMPLIANCE if type in COMPLIANCE_TYPES else Queue.SERVICE,
    )
    _add_message(ticket, author=client, kind=Message.Kind.CLIENT, body=body, files=checked)
    sla_clocks_start(ticket=ticket, at=ticket.created_at)
    audit.record(
        actor=client,
        action="support.ticket_open",
        obj=ticket,
        data={"type": type, "priority": priority, "attachments": len(checked)},
    )
    return ticket


@transaction.atomic
def ticket_client_reply(
    *, ticket: Ticket, client: User, body: str, files: list[UploadedFile] | None = None
) -> Message:
    """The client writes again: resume clocks paused on them and owe them a next response."""
    body = body.strip()
    if not body:
        raise ValidationError(_("Write a message before sending."))
    _check_length(body)
    checked = check_uploads(list(files or []))
    ticket = _locked(ticket)
    _require_owner(ticket, client)
    if not ticket.is_active:
        raise ValidationError(_("This ticket is no longer open. Reopen it to write again."))
    now = timezone.now()
    message = _add_message(
        ticket, author=client, kind=Message.Kind.CLIENT, body=body, files=checked
    )
    if ticket.status == Status.WAITING_ON_CLIENT:
        ticket.status = Status.OPEN
        ticket.save(update_fields=["status"])
        sla_clocks_resume(ticket=ticket, at=now)
    _owe_next_response(ticket, now)
    audit.record(
        actor=client, action="support.client_reply", obj=ticket, data={"message": message.pk}
    )
    return message


@transaction.atomic
def ticket_close(*, ticket: Ticket, client: User) -> Ticket:
    """The client closes their ticket: every clock stops."""
    ticket = _locked(ticket)
    _require_owner(ticket, client)
    if ticket.status in (Status.CLOSED, Status.MERGED):
        raise ValidationError(_("This ticket is already closed."))
    now = timezone.now()
    ticket.status, ticket.closed_at = Status.CLOSED, now
    ticket.save(update_fields=["status", "closed_at"])
    sla_clocks_stop(ticket=ticket, at=now)
    _system_message(ticket, _("The client closed the ticket."))
    if (
        ticket.messages.filter(kind=Message.Kind.PUBLIC).exists()
        and not ticket.surveys.filter(answered_at=None).exists()
    ):
        # We answered before the client closed it: they may rate us, on the ticket page.
        Survey.objects.create(ticket=ticket, token=secrets.token_urlsafe(32), sent_at=now)
    audit.record(actor=client, action="support.ticket_close", obj=ticket)
    return ticket


def can_reopen(ticket: Ticket, *, now: datetime | None = None) -> bool:
    finished = ticket.finished_at()
    if ticket.status not in (Status.RESOLVED, Status.CLOSED) or finished is None:
        return False
    return (now or timezone.now()) <= finished + REOPEN_WINDOW


@transaction.atomic
def ticket_reopen(*, ticket: Ticket, client: User) -> Ticket:
    """Reopen within REOPEN_WINDOW of resolution or closing: a response and resolution are owed."""
    ticket = _locked(ticket)
    _require_owner(ticket, client)
    now = timezone.now()
    if not can_reopen(ticket, now=now):
        raise ValidationError(
            _(
                "A ticket can be reopened for %(days)d days after it was resolved or closed. "
                "Please open a new ticket."
            )
            % {"days": REOPEN_WINDOW.days}
        )
    ticket.status, ticket.resolved_at, ticket.closed_at = Status.OPEN, None, None
    ticket.save(update_fields=["status", "resolved_at", "closed_at"])
    for kind in (Kind.NEXT_RESPONSE, Kind.RESOLUTION):
        sla_clock_start(ticket=ticket, kind=kind, at=now)
    _system_message(ticket, _("The client reopened the ticket."))
    audit.record(actor=client, action="support.ticket_reopen", obj=ticket)
    return ticket


@transaction.atomic
def survey_answer(*, survey: Survey, rating: int, comment: str = "") -> Survey:
    """Record the client's rating once; a second answer changes nothing."""
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    if survey.answered_at is not None:
        raise ValidationError(_("You have already rated this ticket. Thank you."))
    if rating not in range(1, 6):
        raise ValidationError(_("Choose a rating from 1 to 5."))
    survey.rating, survey.comment, survey.answered_at = (
        rating,
        inputs.bounded(comment, MAX_COMMENT),
        timezone.now(),
    )
    survey.save(update_fields=["rating", "comment", "answered_at"])
    audit.record(
        actor=survey.ticket.client,
        action="support.survey_answer",
        obj=survey,
        data={"rating": rating},
    )
    return survey


# --- tickets: the agent's side -----------------------------------------------------------------


@transaction.atomic
def ticket_agent_reply(
    *,
    ticket: Ticket,
    agent: User,
    body: str,
    internal: bool = False,
    wait_on_client: bool = False,
) -> Message:
    """A public reply (stops the response clocks, tells the client) or an internal note (neither).

    `wait_on_client` pauses the remaining clocks until the client answers.
    """
    body = body.strip()
    if not body:
        raise ValidationError(_("Write the reply or note before sending."))
    _check_length(body)
    ticket = _locked(ticket)
    _require_agent(agent, ticket)
    if not ticket.is_active:
        raise ValidationError(_("This ticket is not open; nothing can be added to it."))
    now = timezone.now()
    if internal:
        message = _add_message(ticket, author=agent, kind=Message.Kind.INTERNAL, body=body)
        audit.record(
            actor=agent, action="support.internal_note", obj=ticket, data={"message": message.pk}
        )
        return message
    message = _add_message(ticket, author=agent, kind=Message.Kind.PUBLIC, body=body)
    for kind in (Kind.FIRST_RESPONSE, Kind.NEXT_RESPONSE):
        sla_clock_stop(ticket=ticket, kind=kind, at=now)
    fields = []
    if ticket.assignee_id is None:
        ticket.assignee = agent
        fields.append("assignee")
    if wait_on_client:
        ticket.status = Status.WAITING_ON_CLIENT
        fields.append("status")
    if fields:
        ticket.save(update_fields=fields)
    if wait_on_client:
        sla_clocks_pause(ticket=ticket, at=now)
    notices.enqueue(
        recipient=ticket.client,
        key="support_ticket_reply",
        context={"ticket_id": ticket.pk, "subject": ticket.subject, "url": _client_url(ticket)},
        idempotency_key=f"support:reply:{message.pk}",
    )
    audit.record(
        actor=agent,
        action="support.public_reply",
        obj=ticket,
        data={"message": message.pk, "wait_on_client": wait_on_client},
    )
    return message


@transaction.atomic
def ticket_resolve(*, ticket: Ticket, agent: User) -> Survey:
    """Resolve: every clock stops and the client gets a survey link."""
    ticket = _locked(ticket)
    _require_agent(agent, ticket)
    if not ticket.is_active:
        raise ValidationError(_("Only an open ticket can be resolved."))
    now = timezone.now()
    ticket.status, ticket.resolved_at = Status.RESOLVED, now
    ticket.save(update_fields=["status", "resolved_at"])
    sla_clocks_stop(ticket=ticket, at=now)
    _system_message(ticket, _("The ticket was resolved."))
    survey = Survey.objects.create(ticket=ticket, token=secrets.token_urlsafe(32), sent_at=now)
    notices.enqueue(
        recipient=ticket.client,
        key="support_survey",
        context={
            "ticket_id": ticket.pk,
            "subject": ticket.subject,
            "survey_url": _absolute(reverse("support:survey", args=[survey.token])),
            "url": _client_url(ticket),
        },
        idempotency_key=f"support:survey:{survey.pk}",
    )
    audit.record(actor=agent, action="support.ticket_resolve", obj=ticket)
    return survey


@transaction.atomic
def ticket_assign(*, ticket: Ticket, actor: User, assignee: User | None) -> Ticket:
    """Give the ticket to an agent (or to nobody); the assignee gets the SLA warnings."""
    ticket = _locked(ticket)
    _require_agent(actor, ticket)
    if assignee is not None and not _may_work_on(assignee, ticket):
        raise ValidationError(
            _("%(name)s may not work on this ticket.") % {"name": assignee.display_name}
        )
    ticket.assignee = assignee
    ticket.save(update_fields=["assignee"])
    audit.record(
        actor=actor,
        action="support.ticket_assign",
        obj=ticket,
        data={"assignee": assignee.pk if assignee else None},
    )
    return ticket


@transaction.atomic
def ticket_merge(*, source: Ticket, target: Ticket, actor: User) -> Ticket:
    """Merge a duplicate into `target`: its clocks stop and its page points at the target."""
    if source.pk == target.pk:
        raise ValidationError(_("A ticket cannot be merged into itself."))
    # Lock in id order, so two merges of the same pair cannot deadlock.
    first, second = sorted([source, target], key=lambda t: t.pk)
    locked = {first.pk: _locked(first), second.pk: _locked(second)}
    source, target = locked[source.pk], locked[target.pk]
    _require_agent(actor, source)
    _require_agent(actor, target)
    if source.client_id != target.client_id:
        raise ValidationError(_("Only tickets of the same client can be merged."))
    if not (source.is_active and target.is_active):
        raise ValidationError(_("Both tickets must be open to be merged."))
    now = timezone.now()
    source.status, source.merged_into, source.closed_at = Status.MERGED, target, now
    source.save(update_fields=["status", "merged_into", "closed_at"])
    sla_clocks_stop(ticket=source, at=now)
    _system_message(source, _("Merged into ticket #%(id)d.") % {"id": target.pk})
    _system_message(target, _("Ticket #%(id)d was merged into this one.") % {"id": source.pk})
    audit.record(actor=actor, action="support.ticket_merge", obj=source, data={"into": target.pk})
    return target


# --- exports -----------------------------------------------------------------------------------


@transaction.atomic
def ticket_export_request(*, ticket: Ticket, actor: User, audience: str) -> TicketExport:
    """A PDF of the ticket's history for `audience`, rendered by a worker once per content.

    The client's export holds what the client saw; the regulator's adds internal notes and the
    clocks. Asking again before anything changed returns the export already made.
    """
    if audience == TicketExport.Audience.CLIENT:
        _require_owner(ticket, actor)
    elif not actor.has_perm("support.export_ticket") or not _may_see(actor, ticket):
        raise PermissionDenied
    content_hash = _history_hash(ticket, audience)
    export, created = TicketExport.objects.get_or_create(
        ticket=ticket,
        audience=audience,
        content_hash=content_hash,
        defaults={"requested_by": actor},
    )
    if created:
        audit.record(
            actor=actor, action="support.export_request", obj=ticket, data={"audience": audience}
        )
    if created or not ticket_export_available(export):
        transaction.on_commit(functools.partial(_queue_export, export.pk))
    return export


def ticket_export_available(export: TicketExport) -> bool:
    name = export.file.name if export.file else None
    return export.ready_at is not None and bool(name) and export.file.storage.exists(str(name))


def ticket_export_requested(export: TicketExport) -> bool:
    """Someone asked for the file: queue it again if it is missing; True when it can be served."""
    if ticket_export_available(export):
        return True
    _queue_export(export.pk)
    export.refresh_from_db(fields=["file", "ready_at"])
    return ticket_export_available(export)


def ticket_exports_requeue(*, before: datetime) -> int:
    """Stuck work: exports asked for before `before` and never rendered."""
    pending = TicketExport.objects.filter(ready_at__isnull=True, requested_at__lt=before)
    return sum(_queue_export(pk) for pk in pending.values_list("pk", flat=True)[:500])


def ticket_export_render(*, export_id: int) -> TicketExport:
    """Render one export to PDF and store it (in a worker: it takes a second or more); again if
    the stored file went missing."""
    from weasyprint import HTML

    export = TicketExport.objects.select_related("ticket", "ticket__client").get(pk=export_id)
    if ticket_export_available(export):
        return export
    ticket = export.ticket
    regulator = export.audience == TicketExport.Audience.REGULATOR
    messages = ticket.messages.select_related("author").prefetch_related("attachments")
    if not regulator:
        messages = messages.exclude(kind=Message.Kind.INTERNAL)
    with translation.override(ticket.client.language):
        html = render_to_string(
            "support/export.html",
            {
                "ticket": ticket,
                "messages": messages,
                "clocks": ticket.sla_clocks.order_by("started_at", "pk") if regulator else [],
                "regulator": regulator,
                "generated_at": timezone.now(),
                "content_hash": export.content_hash,
            },
        )
    pdf = HTML(string=html).write_pdf()
    export.file.save(
        f"ticket-{ticket.pk}-{export.audience}-{export.content_hash[:12]}.pdf",
        ContentFile(pdf),
        save=False,
    )
    export.ready_at = timezone.now()
    export.save(update_fields=["file", "ready_at"])
    finished(f"ticket-export:{export.pk}")
    return export


def _queue_export(export_id: int) -> bool:
    from support.tasks import render_ticket_export

    return queue_once(f"ticket-export:{export_id}", render_ticket_export, export_id)


def _history_hash(ticket: Ticket, audience: str) -> str:
    messages = ticket.messages.all()
    if audience == TicketExport.Audience.CLIENT:
        messages = messages.exclude(kind=Message.Kind.INTERNAL)
    history: dict[str, Any] = {
        "ticket": [ticket.pk, ticket.status, ticket.subject],
        "messages": list(messages.values_list("pk", "kind", "body", "created_at")),
        "attachments": list(
            Attachment.objects.filter(message__in=messages).values_list("pk", "sha256")
        ),
    }
    if audience == TicketExport.Audience.REGULATOR:
        history["clocks"] = list(
            ticket.sla_clocks.values_list("pk", "due_at", "stopped_at", "breached_at")
        )
    return hashlib.sha256(json.dumps(history, default=str).encode()).hexdigest()


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
            for clock in batch:
                crossed = clock.record_thresholds(at=now)
                progressed = progressed or bool(crossed)
                clock.save(
                    update_fields=["warned_75_at", "warned_90_at", "breached_at", "next_check_at"]
                )
                for percent in crossed:
                    notices_sent += _threshold_notices(clock, percent, now, staff)
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


def _threshold_notices(clock: SlaClock, percent: int, now: datetime, staff: _Escalation) -> int:
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
        "due_at": timezone.localtime(clock.due_at).strftime("%Y-%m-%d %H:%M")
        if clock.due_at
        else "",
        "admin_url": _absolute(reverse("admin:support_ticket_change", args=[ticket.pk])),
    }
    deliver_at = _staff_delivery_time(ticket, now, staff.service_calendar)
    sent = 0
    seen: set[int] = set()
    for user in recipients:
        # Staff only: a client is never a recipient, even if someone made them a supervisor.
        if user.pk in seen or not user.is_staff or user.pk == ticket.client_id:
            continue
        seen.add(user.pk)
        with translation.override(user.language):
            clock_name = str(CLOCK_NAMES[clock.kind])
        rows = notices.enqueue(
            recipient=user,
            key=key,
            context={**context, "clock_name": clock_name},
            idempotency_key=f"support:sla:{ticket.pk}:{clock.pk}:{percent}:{user.pk}",
        )
        if deliver_at is not None:
            Notification.objects.filter(
                pk__in=[row.pk for row in rows], status=Notification.Status.PENDING, attempts=0
            ).update(next_attempt_at=deliver_at)
        sent += len(rows)
    return sent


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


# --- helpers -----------------------------------------------------------------------------------


def _locked(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_for_update().select_related("client").get(pk=ticket.pk)


def _require_owner(ticket: Ticket, client: User) -> None:
    if ticket.client_id != client.pk:
        raise PermissionDenied


def _may_see(user: User, ticket: Ticket) -> bool:
    return ticket.queue != Queue.COMPLIANCE or user.has_perm("support.view_compliance_ticket")


def _may_work_on(user: User, ticket: Ticket) -> bool:
    return (
        user.is_active
        and user.is_staff
        and user.has_perm("support.reply_ticket")
        and _may_see(user, ticket)
    )


def _require_agent(user: User, ticket: Ticket) -> None:
    if not _may_work_on(user, ticket):
        raise PermissionDenied


def _check_length(body: str) -> None:
    if len(body) > MAX_BODY:
        raise ValidationError(_("Keep a message under %(count)d characters.") % {"count": MAX_BODY})


def _count_opening(client: User) -> None:
    if not hit(f"support:open:{client.pk}", limit=OPEN_LIMIT_PER_HOUR, window=3600):
        raise ValidationError(
            _(
                "You have opened %(count)d tickets in the last hour. "
                "Please add to an open ticket or try again later."
            )
            % {"count": OPEN_LIMIT_PER_HOUR}
        )


def _add_message(
    ticket: Ticket,
    *,
    author: User | None,
    kind: str,
    body: str,
    files: tuple[CheckedFile, ...] | list[CheckedFile] = (),
) -> Message:
    message = Message.objects.create(ticket=ticket, author=author, kind=kind, body=body)
    for checked in files:
        attachment = Attachment(
            message=message,
            name=checked.name,
            content_type=checked.content_type,
            size=len(checked.content),
            sha256=checked.sha256,
        )
        attachment.file.save(checked.name, ContentFile(checked.content), save=False)
        attachment.save()
    return message


def _system_message(ticket: Ticket, text: str) -> Message:
    return Message.objects.create(ticket=ticket, kind=Message.Kind.SYSTEM, body=text)


def _owe_next_response(ticket: Ticket, at: datetime) -> None:
    # While the first response is still owed, that clock already covers the new message.
    running = set(ticket.sla_clocks.filter(stopped_at=None).values_list("kind", flat=True))
    if Kind.FIRST_RESPONSE not in running:
        sla_clock_start(ticket=ticket, kind=Kind.NEXT_RESPONSE, at=at)


def _client_url(ticket: Ticket) -> str:
    return _absolute(reverse("support:ticket-detail", args=[ticket.pk]))


def _absolute(path: str) -> str:
    return settings.PORTAL_BASE_URL.rstrip("/") + path
