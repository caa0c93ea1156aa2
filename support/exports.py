"""Ticket exports: a PDF of the conversation, requested by the client or staff, rendered once."""

from __future__ import annotations

import functools
import hashlib
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from audit import services as audit
from portal.background import finished, queue_once
from support.models import (
    Attachment,
    Message,
    Ticket,
    TicketExport,
)
from support.tickets import _may_see, _require_owner

if TYPE_CHECKING:
    from accounts.models import User

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
