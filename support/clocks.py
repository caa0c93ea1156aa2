"""The SLA clocks of a ticket: started, paused, resumed and stopped with the ticket (``support.sla``
holds the pure clock arithmetic).
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.calendars import get_calendar
from support.models import (
    SlaClock,
    SlaPolicy,
    Ticket,
)

Kind = SlaClock.Kind
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
