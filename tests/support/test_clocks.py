"""One SLA clock's arithmetic, without a database: start, pause, resume, stop, thresholds.

Targets are the DESIGN defaults (question 4 service hours / 3 service days, complaint 2 hours /
5 service days within 15 calendar days, margin-call appeal 30 trading minutes); every due time is
pinned to the minute on the real 2026 calendar.
"""

from datetime import timedelta

import pytest

from portal.calendars import add_working_time
from portal.models import CalendarKind
from support import sla
from support.models import SlaClock, SlaPolicy, Ticket, TicketType
from tests.support.conftest import HOUR, MINUTE, at

FIRST, NEXT, RESOLUTION = (
    SlaClock.Kind.FIRST_RESPONSE,
    SlaClock.Kind.NEXT_RESPONSE,
    SlaClock.Kind.RESOLUTION,
)
QUESTION = SlaPolicy(
    ticket_type=TicketType.QUESTION,
    calendar=CalendarKind.SERVICE,
    first_response=4 * HOUR,
    next_response=4 * HOUR,
    resolution=3 * sla.SERVICE_DAY,
)
COMPLAINT = SlaPolicy(
    ticket_type=TicketType.COMPLAINT,
    calendar=CalendarKind.SERVICE,
    first_response=2 * HOUR,
    next_response=2 * HOUR,
    resolution=5 * sla.SERVICE_DAY,
    resolution_ceiling=timedelta(days=15),
)
APPEAL = SlaPolicy(
    ticket_type=TicketType.MARGIN_CALL_APPEAL,
    calendar=CalendarKind.TRADING,
    first_response=30 * MINUTE,
    next_response=30 * MINUTE,
    resolution=sla.TRADING_DAY,
)


def start(policy, kind, when, calendar):
    ticket = Ticket(type=policy.ticket_type, created_at=at(when))
    return SlaClock.start(ticket=ticket, kind=kind, policy=policy, at=at(when), calendar=calendar)


def test_a_service_day_is_the_eight_hours_of_one_days_service(service):
    assert sla.SERVICE_DAY == 8 * HOUR
    assert sla.TRADING_DAY == 4 * HOUR
    assert sla.THRESHOLDS == (75, 90, 100)


def test_first_response_to_a_question_opened_friday_17_30_is_due_monday_13_30(service):
    clock = start(QUESTION, FIRST, "2026-11-20 17:30", service)
    assert clock.target == 4 * HOUR
    assert clock.calendar == CalendarKind.SERVICE
    assert clock.due_75_at == at("2026-11-23 11:30")  # 3 h: 30 min Friday, 2 h 30 Monday
    assert clock.due_90_at == at("2026-11-23 13:06")  # 3 h 36, six minutes after lunch
    assert clock.due_at == at("2026-11-23 13:30")
    assert clock.next_check_at == clock.due_75_at
    assert clock.ceiling_at is None


def test_resolution_of_a_question_is_three_service_days(service):
    clock = start(QUESTION, RESOLUTION, "2026-11-23 10:00", service)
    assert clock.due_at == at("2026-11-26 10:00")


def test_next_response_uses_the_next_response_target(service):
    clock = start(COMPLAINT, NEXT, "2026-11-23 10:00", service)
    assert clock.target == 2 * HOUR
    assert clock.due_at == at("2026-11-23 12:00")
    assert clock.ceiling_at is None  # the ceiling bounds resolution only


def test_percent_elapsed_counts_service_time_only(service):
    clock = start(QUESTION, FIRST, "2026-11-23 09:00", service)
    assert clock.percent_elapsed(at=at("2026-11-23 08:00"), calendar=service) == 0.0
    assert clock.percent_elapsed(at=at("2026-11-23 10:00"), calendar=service) == 25.0
    assert clock.percent_elapsed(at=at("2026-11-23 12:30"), calendar=service) == 75.0
    assert clock.percent_elapsed(at=at("2026-11-23 13:30"), calendar=service) == 87.5
    assert clock.percent_elapsed(at=at("2026-11-23 15:00"), calendar=service) == 125.0


def test_thresholds_are_crossed_at_75_90_and_100_percent(service):
    clock = start(QUESTION, FIRST, "2026-11-23 09:00", service)
    assert (clock.due_75_at, clock.due_90_at, clock.due_at) == (
        at("2026-11-23 12:00"),
        at("2026-11-23 13:36"),
        at("2026-11-23 14:00"),
    )
    assert clock.crossed_thresholds(at=at("2026-11-23 11:59")) == []
    assert clock.crossed_thresholds(at=at("2026-11-23 12:00")) == [75]
    assert clock.crossed_thresholds(at=at("2026-11-23 13:36")) == [75, 90]
    assert clock.crossed_thresholds(at=at("2026-11-23 14:00")) == [75, 90, 100]


def test_recording_a_threshold_moves_the_next_check_to_the_following_one(service):
    clock = start(QUESTION, FIRST, "2026-11-23 09:00", service)
    assert clock.record_thresholds(at=at("2026-11-23 12:00")) == [75]
    assert clock.warned_75_at == at("2026-11-23 12:00")
    assert clock.next_check_at == at("2026-11-23 13:36")
    assert clock.crossed_thresholds(at=at("2026-11-23 12:30")) == []
    assert clock.record_thresholds(at=at("2026-11-23 12:30")) == []


def test_a_late_check_records_every_threshold_passed_and_then_nothing_is_left(service):
    clock = start(QUESTION, FIRST, "2026-11-23 09:00", service)
    assert clock.record_thresholds(at=at("2026-11-23 14:05")) == [75, 90, 100]
    assert clock.warned_75_at == clock.warned_90_at == clock.breached_at == at("2026-11-23 14:05")
    assert clock.next_check_at is None
    assert clock.crossed_thresholds(at=at("2026-11-24 09:00")) == []


def test_clock_pauses_while_waiting_on_client(service):
    clock = start(QUESTION, FIRST, "2026-11-23 09:00", service)
    clock.pause(at=at("2026-11-23 10:00"), calendar=service)
    assert clock.is_paused
    assert clock.next_check_at is None
    assert (clock.due_75_at, clock.due_90_at, clock.due_at) == (None, None, None)
    assert clock.crossed_thresholds(at=at("2026-11-30 09:00")) == []
    assert clock.percent_elapsed(at=at("2026-11-23 10:00"), calendar=service) == 25.0
    assert clock.percent_elapsed(at=at("2026-11-24 09:00"), calendar=service) == 25.0


def test_resuming_moves_the_due_time_by_the_paused_service_time(service):
    clock = start(QUESTION, FIRST, "2026-11-23 09:00", service)
    clock.pause(at=at("2026-11-23 10:00"), calendar=service)
    clock.resume(at=at("2026-11-24 10:00"), calendar=service)
    # Paused: Monday 10–12 and 13–18, Tuesday 9–10: one full service day.
    assert clock.paused_total == 8 * HOUR
    assert clock.paused_at is None
    assert clock.due_at == at("2026-11-24 14:00")  # Monday's 14:00, one service day on
    assert clock.due_75_at == at("2026-11-24 12:00")
    assert clock.due_90_at == at("2026-11-24 13:36")
    assert clock.next_check_at == at("2026-11-24 12:00")
    assert clock.percent_elapsed(at=at("2026-11-24 11:00"), calendar=service) == 50.0


def test_a_pause_over_a_weekend_costs_only_the_service_time_it_spans(service):
    clock = start(QUESTION, FIRST, "2026-11-20 14:00", service)
    assert clock.due_at == at("2026-11-20 18:00")
    clock.pause(at=at("2026-11-20 17:00"), calendar=service)
    clock.resume(at=at("2026-11-23 09:30"), calendar=service)
    assert clock.paused_total == 90 * MINUTE  # Friday 17–18 and Monday 9:00–9:30
    assert clock.due_at == at("2026-11-23 10:30")  # the hour that was left


def test_pausing_twice_or_resuming_a_running_clock_changes_nothing(service):
    clock = start(QUESTION, FIRST, "2026-11-23 09:00", service)
    clock.resume(at=at("2026-11-23 09:30"), calendar=service)
    assert clock.due_at == at("2026-11-23 14:00")
    clock.pause(at=at("2026-11-23 10:00"), calendar=service)
    clock.pause(at=at("2026-11-23 11:00"), calendar=service)
    assert clock.paused_at == at("2026-11-23 10:00")


def test_stopping_freezes_the_clock(service):
    clock = start(QUESTION, FIRST, "2026-11-23 09:00", service)
    clock.stop(at=at("2026-11-23 10:00"), calendar=service)
    assert clock.stopped_at == at("2026-11-23 10:00")
    assert clock.next_check_at is None
    assert clock.due_at == at("2026-11-23 14:00")  # kept, so "answered within target" can be told
    assert clock.met_target
    assert clock.crossed_thresholds(at=at("2026-11-23 15:00")) == []
    assert clock.percent_elapsed(at=at("2026-11-23 15:00"), calendar=service) == 25.0


def test_stopping_a_paused_clock_folds_the_pause_in(service):
    clock = start(QUESTION, FIRST, "2026-11-23 09:00", service)
    clock.pause(at=at("2026-11-23 10:00"), calendar=service)
    clock.stop(at=at("2026-11-23 11:00"), calendar=service)
    assert clock.paused_at is None
    assert clock.paused_total == HOUR
    assert clock.due_at == at("2026-11-23 15:00")
    assert clock.percent_elapsed(at=at("2026-11-24 09:00"), calendar=service) == 25.0


def test_a_stopped_clock_cannot_be_paused_or_resumed(service):
    clock = start(QUESTION, FIRST, "2026-11-23 09:00", service)
    clock.stop(at=at("2026-11-23 10:00"), calendar=service)
    with pytest.raises(ValueError):
        clock.pause(at=at("2026-11-23 11:00"), calendar=service)
    with pytest.raises(ValueError):
        clock.resume(at=at("2026-11-23 11:00"), calendar=service)


def test_a_clock_answered_late_did_not_meet_its_target(service):
    clock = start(QUESTION, FIRST, "2026-11-23 09:00", service)
    clock.stop(at=at("2026-11-23 14:01"), calendar=service)
    assert not clock.met_target


# --- complaints: 5 service days, never beyond 15 calendar days ---------------------------------


def test_a_complaint_opened_before_spring_festival_works_through_the_make_up_saturday(service):
    # Thursday 10:00: 7 h, Friday 8, make-up Saturday 14th 8, then 24th and 25th, 1 h on the 26th.
    clock = start(COMPLAINT, RESOLUTION, "2026-02-12 10:00", service)
    assert clock.ceiling_at == at("2026-02-27 10:00")
    assert clock.due_at == at("2026-02-26 10:00")


def test_complaint_resolution_is_never_due_later_than_15_calendar_days(service):
    clock = start(COMPLAINT, RESOLUTION, "2026-02-12 10:00", service)
    clock.pause(at=at("2026-02-13 10:00"), calendar=service)
    clock.resume(at=at("2026-02-24 10:00"), calendar=service)
    assert clock.paused_total == 16 * HOUR
    # Service time alone would run to the make-up Saturday 28 February, past the ceiling.
    by_service_time = add_working_time(at("2026-02-12 10:00"), 56 * HOUR, service)
    assert by_service_time == at("2026-02-28 10:00")
    assert clock.due_at == at("2026-02-27 10:00")
    # Warnings come at 75% and 90% of whichever runs out first: here the 15 calendar days.
    assert clock.due_75_at == at("2026-02-23 16:00")
    assert clock.due_90_at == at("2026-02-25 22:00")
    assert clock.percent_elapsed(at=at("2026-02-24 10:00"), calendar=service) == 80.0


def test_a_paused_complaint_still_breaches_at_the_ceiling(service):
    clock = start(COMPLAINT, RESOLUTION, "2026-02-12 10:00", service)
    clock.pause(at=at("2026-02-13 10:00"), calendar=service)
    assert clock.due_at == at("2026-02-27 10:00")
    assert clock.next_check_at == at("2026-02-23 16:00")
    assert clock.crossed_thresholds(at=at("2026-02-27 09:59")) == [75, 90]
    assert clock.crossed_thresholds(at=at("2026-02-27 10:00")) == [75, 90, 100]


def test_a_complaint_first_response_has_no_ceiling(service):
    clock = start(COMPLAINT, FIRST, "2026-11-20 17:30", service)
    assert clock.ceiling_at is None
    assert clock.due_at == at("2026-11-23 10:30")


# --- margin-call appeals count trading time ----------------------------------------------------


def test_a_margin_call_appeal_is_answered_within_30_trading_minutes(trading):
    clock = start(APPEAL, FIRST, "2026-12-31 11:15", trading)
    assert clock.calendar == CalendarKind.TRADING
    assert clock.due_75_at == at("2026-12-31 13:07:30")
    assert clock.due_90_at == at("2026-12-31 13:12")
    assert clock.due_at == at("2026-12-31 13:15")


def test_an_appeal_filed_after_the_close_waits_for_the_next_session(trading):
    clock = start(APPEAL, FIRST, "2026-11-23 15:30", trading)
    assert clock.due_at == at("2026-11-24 10:00")
    clock = start(APPEAL, RESOLUTION, "2026-11-23 10:00", trading)
    assert clock.due_at == at("2026-11-24 10:00")  # one trading day
