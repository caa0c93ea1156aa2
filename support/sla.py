"""The arithmetic of SLA clocks: targets in working time, thresholds, the complaint ceiling.

Pure functions of a clock's fields and a calendar; no database. `SlaClock`'s methods (start, pause,
resume, stop, record_thresholds) change one clock with them; `support.services` saves the changes.

A clock counts working time on its calendar: service hours on the service calendar, sessions on
the trading calendar. It owes `target` of it, plus whatever working time it spent paused (waiting on
the client). A resolution clock may also have a ceiling: a calendar moment it must never pass,
paused or not (complaints: 15 calendar days from opening, a regulatory limit).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple, Protocol

from portal.calendars import WorkingCalendar, add_working_time, working_time_between

__all__ = [
    "COMPLAINT_CEILING",
    "SERVICE_DAY",
    "THRESHOLDS",
    "TRADING_DAY",
    "Schedule",
    "elapsed",
    "percent_elapsed",
    "schedule",
]

# "3 service days" in DESIGN means 3 × the service hours of one day (09:00–12:00 + 13:00–18:00 =
# 8 h), counted as working time: a question opened Monday 10:00 is due Thursday 10:00, and a pause
# moves it by exactly the service time it spent. The policy rows store the resulting durations, so
# changing service hours later does not rewrite targets already agreed.
SERVICE_DAY = timedelta(hours=8)
# One trading day of continuous trading: 09:30–11:30 + 13:00–15:00.
TRADING_DAY = timedelta(hours=4)
# Warn the assignee at 75% and 90%; 100% is the breach.
THRESHOLDS = (75, 90, 100)
COMPLAINT_CEILING = timedelta(days=15)


class ClockFields(Protocol):
    started_at: datetime
    target: timedelta
    paused_at: datetime | None
    paused_total: timedelta
    stopped_at: datetime | None
    ceiling_at: datetime | None


class Schedule(NamedTuple):
    """When each threshold will be crossed if nothing changes; None while it cannot be."""

    due_75_at: datetime | None
    due_90_at: datetime | None
    due_at: datetime | None


def threshold_at(clock: ClockFields, percent: int, calendar: WorkingCalendar) -> datetime | None:
    """The moment `percent` of the clock's allowance is used, by working time or by the ceiling.

    A paused clock uses no working time, so only its ceiling (if any) can still be reached.
    """
    candidates = []
    if clock.paused_at is None:
        owed = clock.target * percent / 100 + clock.paused_total
        candidates.append(add_working_time(clock.started_at, owed, calendar))
    if clock.ceiling_at is not None:
        # A clock restarted after its ticket's ceiling (a late reopen) is past it from the start.
        span = max(clock.ceiling_at - clock.started_at, timedelta(0))
        candidates.append(clock.started_at + span * percent / 100)
    return min(candidates, default=None)


def schedule(clock: ClockFields, calendar: WorkingCalendar) -> Schedule:
    return Schedule(*(threshold_at(clock, percent, calendar) for percent in THRESHOLDS))


def elapsed(clock: ClockFields, at: datetime, calendar: WorkingCalendar) -> timedelta:
    """Working time the clock has used by `at`: none while paused, none after it stopped.

    `at` is expected not to be before the clock's last pause or resume.
    """
    until = min(moment for moment in (at, clock.paused_at, clock.stopped_at) if moment is not None)
    used = working_time_between(clock.started_at, until, calendar) - clock.paused_total
    return max(used, timedelta(0))


def percent_elapsed(clock: ClockFields, at: datetime, calendar: WorkingCalendar) -> float:
    """How much of the allowance is used at `at`, in percent; may exceed 100.

    With a ceiling, the larger of working time used and calendar time used towards the ceiling.
    """
    percent = elapsed(clock, at, calendar) * 100 / clock.target
    if clock.ceiling_at is not None:
        until = min(at, clock.stopped_at) if clock.stopped_at is not None else at
        spent = max(until - clock.started_at, timedelta(0))
        span = clock.ceiling_at - clock.started_at
        percent = max(percent, spent * 100 / span if span > timedelta(0) else 100.0)
    return percent
