from datetime import datetime, timedelta
from importlib import import_module
from zoneinfo import ZoneInfo

import pytest

from portal.calendars import service_calendar, trading_calendar
from support.models import Priority, SlaPolicy, Ticket, TicketType

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


def at(text: str) -> datetime:
    """A wall-clock time in Shanghai, the way the rules are written."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@pytest.fixture
def service():
    return service_calendar(overrides=())


@pytest.fixture
def trading():
    return trading_calendar(overrides=())


@pytest.fixture
def open_ticket(client_alice):
    """Open a ticket for alice at a given moment, saved, with the default priority."""

    def open_ticket(type: str = TicketType.QUESTION, *, created_at: datetime, **fields) -> Ticket:
        return Ticket.objects.create(
            client=client_alice,
            type=type,
            priority=fields.pop("priority", Priority.NORMAL),
            subject=fields.pop("subject", "Where is my statement?"),
            created_at=created_at,
            **fields,
        )

    return open_ticket


def policy_for(type: str, priority: str = Priority.NORMAL) -> SlaPolicy:
    return SlaPolicy.objects.get(ticket_type=type, priority=priority)


@pytest.fixture
def roles_and_policies(transactional_db):
    """The staff roles and default SLA policies the migrations write, back after a flush.

    A live-server or threaded test runs on a real transaction and Django flushes every table after
    it; whatever transactional test comes next would find no groups and no policies. List this
    fixture before the personas.
    """
    from django.apps import apps

    from accounts.roles import sync_roles

    sync_roles(apps)
    defaults = import_module("support.migrations.0002_default_sla_policies")
    defaults.create_defaults(apps, None)
