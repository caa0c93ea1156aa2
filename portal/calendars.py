"""When the portal counts time: the service calendar (support clocks) and the trading calendar.

Both answer "is this day open?" in the same order: a `CalendarOverride` row wins; otherwise the
maintained library decides for the years it covers (`chinesecalendar` for statutory holidays and
make-up working days, `exchange_calendars`' XSHG for exchange sessions); otherwise a fallback of
plain weekdays. The fallback keeps clocks running into a year no library covers yet, and
`calendar_coverage_warning()` tells staff to enter that year's days as overrides.

The time functions take aware datetimes in any zone, compute in Asia/Shanghai (no DST since 1991,
so wall-clock arithmetic there is exact) and return aware Asia/Shanghai datetimes, which compare
and store as the same UTC instant.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

import chinese_calendar
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import CalendarKind, CalendarOverride

SHANGHAI = ZoneInfo("Asia/Shanghai")

Hours = tuple[tuple[time, time], ...]

# 8 service hours a day with the lunch break left out; `settings.SERVICE_HOURS` replaces it.
DEFAULT_SERVICE_HOURS: Hours = ((time(9), time(12)), (time(13), time(18)))
# Continuous trading only: nobody can act on a margin call in the 09:15–09:25 call auction.
TRADING_SESSIONS: Hours = ((time(9, 30), time(11, 30)), (time(13), time(15)))
# Clocks run for weeks (a complaint up to 15 days) and the State Council publishes next year's
# schedule in the autumn, so warning 90 days ahead leaves time to enter it before a clock needs it.
COVERAGE_HORIZON = timedelta(days=90)
# Ten years without an open hour means a broken override table, not a long holiday.
_MAX_DAYS = 3660


class CalendarError(Exception):
    """The calendar has no open time where some was needed."""


class WorkingCalendar:
    """Which days are open and the hours they are open; subclasses say what the library knows."""

    kind: str

    def __init__(self, *, hours: Hours, overrides: Mapping[date, bool]) -> None:
        self.hours = tuple(hours)
        self.overrides = dict(overrides)  # date -> open?

    def library_covers(self, day: date) -> bool:
        raise NotImplementedError

    def _library_is_working_day(self, day: date) -> bool:
        raise NotImplementedError

    def _fallback_is_working_day(self, day: date) -> bool:
        raise NotImplementedError

    def is_working_day(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        if self.library_covers(day):
            return self._library_is_working_day(day)
        return self._fallback_is_working_day(day)

    def open_intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        if not self.is_working_day(day):
            return []
        return [
            (datetime.combine(day, start, SHANGHAI), datetime.combine(day, end, SHANGHAI))
            for start, end in self.hours
        ]


class ServiceCalendar(WorkingCalendar):
    kind = CalendarKind.SERVICE

    def library_covers(self, day: date) -> bool:
        return _chinese_calendar_covers(day.year)

    def _library_is_working_day(self, day: date) -> bool:
        # True on make-up weekend days (调休), False on statutory holidays.
        return chinese_calendar.is_workday(day)

    def _fallback_is_working_day(self, day: date) -> bool:
        return day.weekday() < 5


class TradingCalendar(WorkingCalendar):
    kind = CalendarKind.TRADING

    def __init__(
        self, *, hours: Hours, overrides: Mapping[date, bool], service: ServiceCalendar
    ) -> None:
        super().__init__(hours=hours, overrides=overrides)
        self.service = service

    def library_covers(self, day: date) -> bool:
        xshg = _xshg()
        return xshg.first <= day <= xshg.last

    def _library_is_working_day(self, day: date) -> bool:
        return day in _xshg().sessions

    def _fallback_is_working_day(self, day: date) -> bool:
        # Public holidays close the exchange; a make-up weekend day never opens it.
        return day.weekday() < 5 and self.service.is_working_day(day)


@functools.cache
def _chinese_calendar_covers(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


class _Sessions(NamedTuple):
    first: date
    last: date
    sessions: frozenset[date]


@functools.cache
def _xshg() -> _Sessions:
    # Imported on first use: it brings pandas, which web requests that never ask need not load.
    import exchange_calendars

    with warnings.catch_warnings():
        # Its pandas 3 deprecation warnings are the library's to fix and say nothing about dates.
        warnings.simplefilter("ignore")
        calendar = exchange_calendars.get_calendar("XSHG")
    # bound_max is the end of the exchange's published holiday list, even when the year's last
    # session falls before 31 December.
    return _Sessions(
        first=calendar.first_session.date(),
        last=type(calendar).bound_max().date(),
        sessions=frozenset(session.date() for session in calendar.sessions),
    )


def _overrides(overrides: Iterable[CalendarOverride] | None) -> list[CalendarOverride]:
    # The table holds a few dozen rows a year, so one query loads all of it.
    return list(CalendarOverride.objects.all() if overrides is None else overrides)


def service_calendar(
    *, overrides: Iterable[CalendarOverride] | None = None, hours: Hours | None = None
) -> ServiceCalendar:
    """The service calendar, with the override table (or the given rows) and service hours."""
    if hours is None:
        hours = getattr(settings, "SERVICE_HOURS", DEFAULT_SERVICE_HOURS)
    return ServiceCalendar(
        hours=hours,
        overrides={
            row.date: row.is_open
            for row in _overrides(overrides)
            if row.calendar == CalendarKind.SERVICE
        },
    )


def trading_calendar(*, overrides: Iterable[CalendarOverride] | None = None) -> TradingCalendar:
    """The XSHG trading calendar, falling back on the service calendar's holidays."""
    rows = _overrides(overrides)
    return TradingCalendar(
        hours=TRADING_SESSIONS,
        overrides={row.date: row.is_open for row in rows if row.calendar == CalendarKind.TRADING},
        service=service_calendar(overrides=rows),
    )


def get_calendar(
    kind: str, *, overrides: Iterable[CalendarOverride] | None = None
) -> WorkingCalendar:
    if kind == CalendarKind.TRADING:
        return trading_calendar(overrides=overrides)
    if kind == CalendarKind.SERVICE:
        return service_calendar(overrides=overrides)
    raise ValueError(f"Unknown calendar kind {kind!r}")


def _resolve(calendar: WorkingCalendar | str) -> WorkingCalendar:
    return get_calendar(calendar) if isinstance(calendar, str) else calendar


def _local(moment: datetime) -> datetime:
    if timezone.is_naive(moment):
        raise ValueError(f"{moment!r} must be timezone-aware")
    return moment.astimezone(SHANGHAI)


def is_open(moment: datetime, calendar: WorkingCalendar | str = CalendarKind.SERVICE) -> bool:
    """Whether `moment` falls in open hours on an open day."""
    local = _local(moment)
    intervals = _resolve(calendar).open_intervals(local.date())
    return any(start <= local < end for start, end in intervals)


def add_working_time(
    start: datetime, duration: timedelta, calendar: WorkingCalendar | str
) -> datetime:
    """The moment `duration` of open time has passed after `start`.

    A duration that runs out exactly at a closing time is due at that closing time (12:00, not
    13:00). Time before the next opening does not count.
    """
    if duration < timedelta(0):
        raise ValueError("duration must not be negative")
    calendar = _resolve(calendar)
    local = _local(start)
    remaining = duration
    day = local.date()
    for _i in range(_MAX_DAYS):
        for opens, closes in calendar.open_intervals(day):
            begin = max(opens, local)
            if begin >= closes:
                continue
            if remaining <= closes - begin:
                return begin + remaining
            remaining -= closes - begin
        day += timedelta(days=1)
    raise CalendarError(
        _("The %(calendar)s has no open time within ten years of %(start)s.")
        % {"calendar": CalendarKind(calendar.kind).label, "start": local.date()}
    )


def working_time_between(
    start: datetime, end: datetime, calendar: WorkingCalendar | str
) -> timedelta:
    """The open time between two moments; zero when `end` is not after `start`."""
    calendar = _resolve(calendar)
    begin, finish = _local(start), _local(end)
    total = timedelta(0)
    day = begin.date()
    while day <= finish.date():
        for opens, closes in calendar.open_intervals(day):
            overlap = min(closes, finish) - max(opens, begin)
            if overlap > timedelta(0):
                total += overlap
        day += timedelta(days=1)
    return total


def add_trading_days(
    start: datetime, days: int, calendar: WorkingCalendar | str = CalendarKind.TRADING
) -> datetime:
    """The close of the `days`-th trading day after the day of `start`.

    A margin call must be met "within 2 trading days": the day of the call never counts, whatever
    its hour, so a call made before the open gives the client the rest of that day as well.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    calendar = _resolve(calendar)
    day = _local(start).date()
    for _i in range(_MAX_DAYS):
        day += timedelta(days=1)
        if calendar.is_working_day(day):
            days -= 1
            if days == 0:
                return datetime.combine(day, calendar.hours[-1][1], SHANGHAI)
    raise CalendarError(
        _("The %(calendar)s has no open time within ten years of %(start)s.")
        % {"calendar": CalendarKind(calendar.kind).label, "start": _local(start).date()}
    )


def uncovered_years(start: date, end: date, kind: str = CalendarKind.SERVICE) -> list[int]:
    """The years between `start` and `end` (inclusive) that the library for `kind` lacks."""
    calendar = get_calendar(kind, overrides=())
    missing = []
    for year in range(start.year, end.year + 1):
        first, last = max(start, date(year, 1, 1)), min(end, date(year, 12, 31))
        # Library coverage is one contiguous span, so checking both ends covers the days between.
        if not (calendar.library_covers(first) and calendar.library_covers(last)):
            missing.append(year)
    return missing


def calendar_coverage_warning(
    *, today: date | None = None, horizon: timedelta = COVERAGE_HORIZON
) -> str | None:
    """A message for staff when a year within `horizon` lacks library data, else None."""
    today = today or timezone.localdate()
    end = today + horizon
    years = sorted(
        set(uncovered_years(today, end, CalendarKind.SERVICE))
        | set(uncovered_years(today, end, CalendarKind.TRADING))
    )
    if not years:
        return None
    return _(
        "The calendar libraries have no holiday data for %(years)s. Until an update covers it, "
        "SLA clocks and margin-call deadlines treat every weekday there as a working day, except "
        "days entered under Calendar overrides: enter the official holidays and make-up working "
        "days there."
    ) % {"years": ", ".join(str(year) for year in years)}
