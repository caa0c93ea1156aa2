"""The sweep's selection: which clocks have a threshold to record now, found through the index."""

import pytest
from django.db import connection

from support.models import SlaClock, TicketType
from support.selectors import sla_clocks_due_for_check
from support.services import sla_clock_stop, sla_clocks_pause, sla_clocks_start
from tests.support.conftest import at

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_tickets(open_ticket):
    """Opened Monday 09:00: one running, one waiting on the client, one answered at 10:00."""
    tickets = [open_ticket(created_at=at("2026-11-23 09:00")) for _ in range(3)]
    for ticket in tickets:
        sla_clocks_start(ticket=ticket, at=at("2026-11-23 09:00"))
    running, waiting, answered = tickets
    sla_clocks_pause(ticket=waiting, at=at("2026-11-23 10:00"))
    sla_clock_stop(ticket=answered, kind=SlaClock.Kind.FIRST_RESPONSE, at=at("2026-11-23 10:00"))
    return running, waiting, answered


def test_the_sweep_selects_running_clocks_whose_next_threshold_has_come(three_tickets):
    running, _waiting, _answered = three_tickets
    assert list(sla_clocks_due_for_check(now=at("2026-11-23 11:59"))) == []
    due = list(sla_clocks_due_for_check(now=at("2026-11-23 12:00")))
    assert [(c.ticket, c.kind) for c in due] == [(running, SlaClock.Kind.FIRST_RESPONSE)]


def test_a_recorded_threshold_leaves_the_selection_until_the_next_one_comes(three_tickets):
    clock = sla_clocks_due_for_check(now=at("2026-11-23 12:00")).get()
    assert clock.record_thresholds(at=at("2026-11-23 12:00")) == [75]
    clock.save()
    assert not sla_clocks_due_for_check(now=at("2026-11-23 13:35")).exists()
    assert sla_clocks_due_for_check(now=at("2026-11-23 13:36")).get() == clock


def test_a_paused_complaint_is_still_swept_for_its_ceiling(open_ticket):
    ticket = open_ticket(TicketType.COMPLAINT, created_at=at("2026-02-12 10:00"))
    sla_clocks_start(ticket=ticket, at=at("2026-02-12 10:00"))
    sla_clocks_pause(ticket=ticket, at=at("2026-02-13 10:00"))
    due = list(sla_clocks_due_for_check(now=at("2026-02-23 16:00")))
    assert [c.kind for c in due] == [SlaClock.Kind.RESOLUTION]


def test_the_selection_reads_the_partial_index_on_next_check(three_tickets):
    query = sla_clocks_due_for_check(now=at("2026-11-23 12:00")).only("pk")
    if connection.vendor == "postgresql":
        # A handful of rows makes a sequential scan cheaper; forbid it to see the index is usable.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
    assert "support_clock_next_check" in query.explain()
