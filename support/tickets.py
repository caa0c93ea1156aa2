"""Tickets and their conversation, the client's side and the agent's, and satisfaction surveys.

Every workflow locks the ticket row, changes the ticket, its messages and its clocks together, and
writes its audit entry and notices in the same transaction. Only a public agent reply stops a
response clock; an internal note never does, and never reaches the client.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.ratelimits import hit
from audit import services as audit
from notices import services as notices
from portal import inputs
from support.clocks import (
    Kind,
    sla_clock_start,
    sla_clock_stop,
    sla_clocks_pause,
    sla_clocks_resume,
    sla_clocks_start,
    sla_clocks_stop,
)
from support.models import (
    COMPLIANCE_TYPES,
    Attachment,
    Message,
    Priority,
    Queue,
    Survey,
    Ticket,
    TicketType,
)
from support.uploads import CheckedFile, check_uploads
from support.workflows import TICKET

if TYPE_CHECKING:
    from django.core.files.uploadedfile import UploadedFile

    from accounts.models import User

Status = Ticket.Status
# A client may reopen a resolved or closed ticket for this long; after it, a new ticket.
REOPEN_WINDOW = timedelta(days=7)
# Ticket creation is rate-limited per client (DESIGN "Rate limits").
OPEN_LIMIT_PER_HOUR = 10
MAX_BODY = 10_000
MAX_SUBJECT = 200
MAX_COMMENT = 2000


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
        TICKET.move(ticket, Status.OPEN)
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
    ticket.closed_at = now
    TICKET.move(ticket, Status.CLOSED)
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
    ticket.resolved_at, ticket.closed_at = None, None
    TICKET.move(ticket, Status.OPEN)
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
        TICKET.move(ticket, Status.WAITING_ON_CLIENT)
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
    ticket.resolved_at = now
    TICKET.move(ticket, Status.RESOLVED)
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
    """Merge a duplicate into `target`: its clocks stop, its page points at the target, and the
    client is told (email and in-app) where the conversation continues."""
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
    source.merged_into, source.closed_at = target, now
    TICKET.move(source, Status.MERGED)
    source.save(update_fields=["status", "merged_into", "closed_at"])
    sla_clocks_stop(ticket=source, at=now)
    _system_message(source, _("Merged into ticket #%(id)d.") % {"id": target.pk})
    _system_message(target, _("Ticket #%(id)d was merged into this one.") % {"id": source.pk})
    notices.enqueue(
        recipient=source.client,
        key="support_ticket_merged",
        context={
            "ticket_id": source.pk,
            "subject": source.subject,
            "target_id": target.pk,
            "target_subject": target.subject,
            "url": _client_url(target),
        },
        idempotency_key=f"support:merged:{source.pk}",
    )
    audit.record(actor=actor, action="support.ticket_merge", obj=source, data={"into": target.pk})
    return target


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
