from datetime import datetime, timedelta
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
