"""Clocks as the ticket workflow drives them: opened, waiting on the client, answered, closed.

`time_machine` stands in for the moment each step happens; due times are pinned to the minute.
"""

from datetime import date, timedelta

import pytest
import time_machine
from django.db import IntegrityError, transaction

from portal.models import CalendarKind, CalendarOverride
from support.models import Priority, SlaClock, SlaPolicy, TicketType
from support.services import (
    SlaPolicyMissing,
    sla_clock_start,
    sla_clock_stop,
    sla_clocks_pause,
    sla_clocks_resume,
    sla_clocks_start,
    sla_clocks_stop,
)
from tests.support.conftest import HOUR, MINUTE, at, policy_for

pytestmark = pytest.mark.django_db

FIRST, NEXT, RESOLUTION = (
    SlaClock.Kind.FIRST_RESPONSE,
    SlaClock.Kind.NEXT_RESPONSE,
    SlaClock.Kind.RESOLUTION,
)


def clocks_of(ticket) -> dict[str, SlaClock]:
    return {clock.kind: clock for clock in ticket.sla_clocks.filter(stopped_at=None)}


def test_default_policies_follow_the_design():
    assert SlaPolicy.objects.count() == len(TicketType) * len(Priority) == 15
    question = policy_for(TicketType.QUESTION)
    assert (question.first_response, question.resolution) == (4 * HOUR, 24 * HOUR)
    assert question.calendar == CalendarKind.SERVICE
    complaint = policy_for(TicketType.COMPLAINT, Priority.URGENT)
    assert (complaint.first_response, complaint.resolution) == (2 * HOUR, 40 * HOUR)
    assert complaint.resolution_ceiling == timedelta(days=15)
    dispute = policy_for(TicketType.DISPUTE, Priority.HIGH)
    assert (dispute.first_response, dispute.resolution) == (2 * HOUR, 80 * HOUR)
    assert dispute.resolution_ceiling is None
    appeal = policy_for(TicketType.MARGIN_CALL_APPEAL)
    assert appeal.calendar == CalendarKind.TRADING
    assert (appeal.first_response, appeal.next_response) == (30 * MINUTE, 30 * MINUTE)
    assert appeal.resolution == 4 * HOUR
    kyc = policy_for(TicketType.KYC_ISSUE)
    assert (kyc.first_response, kyc.resolution) == (4 * HOUR, 24 * HOUR)


@pytest.mark.time_machine(at("2026-09-18 17:30"), tick=False)
def test_a_question_opened_friday_17_30_before_national_day_is_answered_on_the_make_up_sunday(
    open_ticket,
):
    ticket = open_ticket(created_at=at("2026-09-18 17:30"))
    sla_clocks_start(ticket=ticket)
    clocks = clocks_of(ticket)
    assert set(clocks) == {FIRST, RESOLUTION}
    assert clocks[FIRST].started_at == at("2026-09-18 17:30")
    assert clocks[FIRST].due_at == at("2026-09-20 13:30")
    assert clocks[RESOLUTION].due_at == at("2026-09-22 17:30")


@pytest.mark.time_machine(at("2026-10-09 17:30"), tick=False)
def test_a_question_opened_friday_17_30_after_golden_week_is_answered_on_the_make_up_saturday(
    open_ticket,
):
    ticket = open_ticket(created_at=at("2026-10-09 17:30"))
    sla_clocks_start(ticket=ticket)
    assert clocks_of(ticket)[FIRST].due_at == at("2026-10-10 13:30")


@pytest.mark.time_machine(at("2026-09-28 10:00"), tick=False)
def test_a_complaint_opened_before_golden_week_is_resolved_by_the_make_up_saturday(open_ticket):
    # Monday 7 h, Tuesday 8, Wednesday 8; 1–7 October closed; 8th and 9th; 1 h on Saturday 10th.
    ticket = open_ticket(TicketType.COMPLAINT, created_at=at("2026-09-28 10:00"))
    sla_clocks_start(ticket=ticket)
    clocks = clocks_of(ticket)
    assert clocks[FIRST].due_at == at("2026-09-28 12:00")
    assert clocks[RESOLUTION].due_at == at("2026-10-10 10:00")
    assert clocks[RESOLUTION].ceiling_at == at("2026-10-13 10:00")


def test_waiting_on_the_client_pauses_every_clock_and_their_reply_resumes_them(open_ticket):
    with time_machine.travel(at("2026-11-23 09:00"), tick=False):
        ticket = open_ticket(created_at=at("2026-11-23 09:00"))
        sla_clocks_start(ticket=ticket)
    with time_machine.travel(at("2026-11-23 10:00"), tick=False):
        paused = sla_clocks_pause(ticket=ticket)
    assert len(paused) == 2
    assert all(c.paused_at == at("2026-11-23 10:00") for c in clocks_of(ticket).values())
    assert all(c.next_check_at is None for c in clocks_of(ticket).values())
    with time_machine.travel(at("2026-11-24 10:00"), tick=False):
        sla_clocks_resume(ticket=ticket)
    clocks = clocks_of(ticket)
    assert clocks[FIRST].paused_total == clocks[RESOLUTION].paused_total == 8 * HOUR
    assert clocks[FIRST].due_at == at("2026-11-24 14:00")
    # Three service days from Monday 09:00 end Wednesday 18:00; one paused service day later:
    assert clocks[RESOLUTION].due_at == at("2026-11-26 18:00")


def test_a_public_agent_reply_stops_the_response_clock_and_not_the_resolution(open_ticket):
    with time_machine.travel(at("2026-11-23 09:00"), tick=False):
        ticket = open_ticket(created_at=at("2026-11-23 09:00"))
        sla_clocks_start(ticket=ticket)
    with time_machine.travel(at("2026-11-23 11:00"), tick=False):
        stopped = sla_clock_stop(ticket=ticket, kind=FIRST)
    assert stopped is not None
    assert stopped.stopped_at == at("2026-11-23 11:00")
    assert stopped.met_target
    assert set(clocks_of(ticket)) == {RESOLUTION}
    assert sla_clock_stop(ticket=ticket, kind=FIRST) is None


def test_a_client_message_after_the_reply_starts_a_next_response_clock_once(open_ticket):
    ticket = open_ticket(created_at=at("2026-11-23 09:00"))
    with time_machine.travel(at("2026-11-23 15:00"), tick=False):
        first = sla_clock_start(ticket=ticket, kind=NEXT)
    with time_machine.travel(at("2026-11-23 16:00"), tick=False):
        second = sla_clock_start(ticket=ticket, kind=NEXT)
    # A second message before the agent answers keeps the promise already made.
    assert second.pk == first.pk
    assert second.due_at == at("2026-11-24 10:00")


def test_closing_a_ticket_stops_every_clock_paused_or_not(open_ticket):
    with time_machine.travel(at("2026-11-23 09:00"), tick=False):
        ticket = open_ticket(created_at=at("2026-11-23 09:00"))
        sla_clocks_start(ticket=ticket)
    with time_machine.travel(at("2026-11-23 10:00"), tick=False):
        sla_clock_stop(ticket=ticket, kind=FIRST)
        sla_clocks_pause(ticket=ticket)
    with time_machine.travel(at("2026-11-23 11:00"), tick=False):
        stopped = sla_clocks_stop(ticket=ticket)
    assert [c.kind for c in stopped] == [RESOLUTION]
    assert clocks_of(ticket) == {}
    resolution = ticket.sla_clocks.get(kind=RESOLUTION)
    assert resolution.paused_at is None
    assert resolution.paused_total == HOUR
    assert resolution.next_check_at is None


def test_a_ticket_without_a_policy_gets_no_clocks(open_ticket):
    SlaPolicy.objects.filter(ticket_type=TicketType.DISPUTE, priority=Priority.URGENT).delete()
    ticket = open_ticket(TicketType.DISPUTE, priority=Priority.URGENT, created_at=at("2026-11-23"))
    with pytest.raises(SlaPolicyMissing):
        sla_clocks_start(ticket=ticket, at=at("2026-11-23 09:00"))
    assert not ticket.sla_clocks.exists()


def test_editing_a_policy_does_not_move_a_running_clock(open_ticket):
    ticket = open_ticket(created_at=at("2026-11-23 09:00"))
    sla_clocks_start(ticket=ticket, at=at("2026-11-23 09:00"))
    SlaPolicy.objects.filter(ticket_type=TicketType.QUESTION).update(first_response=HOUR)
    clock = clocks_of(ticket)[FIRST]
    assert clock.target == 4 * HOUR
    with time_machine.travel(at("2026-11-23 10:00"), tick=False):
        sla_clocks_pause(ticket=ticket)
        sla_clocks_resume(ticket=ticket)
    assert clocks_of(ticket)[FIRST].due_at == at("2026-11-23 14:00")


def test_a_clock_crossing_into_2027_skips_new_years_day_once_staff_close_it(open_ticket):
    CalendarOverride.objects.create(
        date=date(2027, 1, 1), calendar=CalendarKind.SERVICE, kind=CalendarOverride.Kind.CLOSED
    )
    ticket = open_ticket(created_at=at("2026-12-31 17:00"))
    sla_clocks_start(ticket=ticket, at=at("2026-12-31 17:00"))
    assert clocks_of(ticket)[FIRST].due_at == at("2027-01-04 12:00")


def test_an_appeal_lodged_ten_minutes_before_the_2026_close_is_due_in_2027(open_ticket):
    CalendarOverride.objects.create(
        date=date(2027, 1, 1), calendar=CalendarKind.SERVICE, kind=CalendarOverride.Kind.CLOSED
    )
    ticket = open_ticket(TicketType.MARGIN_CALL_APPEAL, created_at=at("2026-12-31 14:50"))
    sla_clocks_start(ticket=ticket, at=at("2026-12-31 14:50"))
    clocks = clocks_of(ticket)
    assert clocks[FIRST].calendar == CalendarKind.TRADING
    assert clocks[FIRST].due_at == at("2027-01-04 09:50")
    # One trading day: 10 minutes on 31 December, then 3 h 50 on Monday 4 January.
    assert clocks[RESOLUTION].due_at == at("2027-01-04 14:50")


def test_dues_raised_on_30_and_31_december_2026_skip_new_years_day_2027(open_ticket):
    # No override: 2027 is provisional, and its statutory holidays still count by rule.
    question = open_ticket(created_at=at("2026-12-30 17:00"))
    sla_clocks_start(ticket=question, at=at("2026-12-30 17:00"))
    clocks = clocks_of(question)
    assert clocks[FIRST].due_at == at("2026-12-31 12:00")
    # 3 service days: 1 h on the 30th, 8 on the 31st, none on Friday 1 January, 8 on Monday 4th,
    # the last 7 on Tuesday 5th.
    assert clocks[RESOLUTION].due_at == at("2027-01-05 17:00")

    complaint = open_ticket(TicketType.COMPLAINT, created_at=at("2026-12-31 17:00"))
    sla_clocks_start(ticket=complaint, at=at("2026-12-31 17:00"))
    clocks = clocks_of(complaint)
    assert clocks[FIRST].due_at == at("2027-01-04 10:00")
    assert clocks[RESOLUTION].due_at == at("2027-01-08 17:00")


def test_a_provisional_year_counts_the_closures_staff_enter(open_ticket):
    # Say the notice bridges New Year's Day to the weekend by closing Monday 4 January.
    CalendarOverride.objects.create(
        date=date(2027, 1, 4), calendar=CalendarKind.SERVICE, kind=CalendarOverride.Kind.CLOSED
    )
    complaint = open_ticket(TicketType.COMPLAINT, created_at=at("2026-12-31 17:00"))
    sla_clocks_start(ticket=complaint, at=at("2026-12-31 17:00"))
    assert clocks_of(complaint)[FIRST].due_at == at("2027-01-05 10:00")


def test_only_one_clock_of_a_kind_runs_per_ticket(open_ticket):
    ticket = open_ticket(created_at=at("2026-11-23 09:00"))
    clock = sla_clock_start(ticket=ticket, kind=FIRST, at=at("2026-11-23 09:00"))
    clock.pk = None
    with pytest.raises(IntegrityError), transaction.atomic():
        clock.save()
    clock.stopped_at = at("2026-11-23 10:00")
    clock.save()  # a stopped clock of the same kind is history, not a second promise


def test_clock_times_are_stored_as_the_same_instant(open_ticket):
    ticket = open_ticket(created_at=at("2026-11-20 17:30"))
    sla_clocks_start(ticket=ticket, at=at("2026-11-20 17:30"))
    stored = SlaClock.objects.get(ticket=ticket, kind=FIRST)
    assert stored.due_at == at("2026-11-23 13:30")
    assert stored.due_at.utcoffset() == timedelta(0)  # Django hands back UTC
