"""When the portal counts time: the service calendar (support clocks) and the trading calendar.

Both answer "is this day open?" from layers, the first that knows wins:

1. a `CalendarOverride` row: staff's own entries (the State Council's notice, imported or entered
   day by day; a typhoon closure);
2. the published official schedule, for the years the maintained libraries carry it:
   `chinesecalendar` (statutory holidays and make-up working days) and `exchange_calendars`' XSHG
   (exchange sessions);
3. a year whose official schedule staff have entered (an `OfficialSchedule` row): plain weekdays,
   the overrides holding every exception, exactly as the notice lists them;
4. otherwise the rule-based calendar of the `holidays` package: China's statutory holidays with
   their lunar dates for the service calendar, `financial_holidays("XSHG")` for the exchange.

Rules cannot know the make-up working days (调休) the State Council will decree for a year, nor how
it will bridge a holiday to a weekend, so a year served by the fourth layer is *provisional*, and
`calendar_coverage_warning()` names it to staff until its notice is entered. Never "every weekday":
that put margin-call deadlines and SLA dues on New Year's Day.

In a year the exchange library lacks, the exchange follows the service calendar's weekday
exceptions: China's exchanges close on exactly the weekdays the State Council gives off, and never
trade on a weekend, make-up working day or not.

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

from portal.models import CalendarKind, CalendarOverride, OfficialSchedule

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
    """Which days are open and the hours they are open; subclasses say what each layer knows."""

    kind: str

    def __init__(
        self, *, hours: Hours, overrides: Mapping[date, bool], entered_years: Iterable[int] = ()
    ) -> None:
        self.hours = tuple(hours)
        self.overrides = dict(overrides)  # date -> open?
        self.entered_years = frozenset(entered_years)  # official schedule entered by staff

    def library_covers(self, day: date) -> bool:
        raise NotImplementedError

    def _library_is_working_day(self, day: date) -> bool:
        raise NotImplementedError

    def _unpublished_is_working_day(self, day: date) -> bool:
        raise NotImplementedError

    def is_working_day(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        if self.library_covers(day):
            return self._library_is_working_day(day)
        return self._unpublished_is_working_day(day)

    def is_provisional(self, year: int) -> bool:
        """Whether `year` rests on the rule-based layer: no published or entered schedule."""
        first, last = date(year, 1, 1), date(year, 12, 31)
        # Library coverage is one contiguous span, so checking both ends covers the days between.
        published = self.library_covers(first) and self.library_covers(last)
        return not published and year not in self.entered_years

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

    def _unpublished_is_working_day(self, day: date) -> bool:
        if day.year in self.entered_years:
            return day.weekday() < 5
        closed, make_up = _china_rule(day.year)
        return day in make_up or (day.weekday() < 5 and day not in closed)


class TradingCalendar(WorkingCalendar):
    kind = CalendarKind.TRADING

    def __init__(
        self,
        *,
        hours: Hours,
        overrides: Mapping[date, bool],
        service: ServiceCalendar,
        entered_years: Iterable[int] = (),
    ) -> None:
        # The State Council's notice, once entered for the service calendar, also settles which
        # weekdays the exchange closes.
        super().__init__(
            hours=hours,
            overrides=overrides,
            entered_years={*entered_years, *service.entered_years},
        )
        self.service = service

    def library_covers(self, day: date) -> bool:
        xshg = _xshg()
        return xshg.first <= day <= xshg.last

    def _library_is_working_day(self, day: date) -> bool:
        return day in _xshg().sessions

    def _unpublished_is_working_day(self, day: date) -> bool:
        if day.weekday() >= 5:
            return False  # a make-up weekend day never opens the exchange
        if day in self.service.overrides:
            return self.service.overrides[day]
        if day.year in self.entered_years:
            return True
        return day not in _xshg_rule(day.year)


@functools.cache
def _chinese_calendar_covers(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


@functools.cache
def _china_rule(year: int) -> tuple[frozenset[date], frozenset[date]]:
    """China's statutory holidays in `year` by rule, and the make-up working days `holidays` knows.

    For a year the State Council has not yet published, the second set is empty.
    """
    import holidays

    china = holidays.China(years=year)
    make_up = frozenset(day for day in china.weekend_workdays if day.year == year)
    return frozenset(china), make_up


@functools.cache
def _xshg_rule(year: int) -> frozenset[date]:
    """The Shanghai exchange's weekday closures in `year` by rule."""
    import holidays

    return frozenset(holidays.financial_holidays("XSHG", years=year))


class _Sessions(NamedTuple):
    first: date
    last: date
    sessions: frozenset[date]


@functools.cache
def _xshg() -> _Sessions:
    # Imported on first use: it brings pandas, which web requests that never ask need not load.
    import exchange_calendars
    from exchange_calendars.exchange_calendar_xshg import XSHGExchangeCalendar

    with warnings.catch_warnings():
        # Its pandas 3 deprecation warnings are the library's to fix and say nothing about dates.
        warnings.simplefilter("ignore")
        # To the end of the published list, not the library's default (a year from the clock
        # when it was imported): a process that first loads it at an earlier moment (a test's
        # travelled clock) would otherwise read the rest of the list as closed days.
        calendar = exchange_calendars.get_calendar("XSHG", end=XSHGExchangeCalendar.bound_max())
    # bound_max is the end of the exchange's published holiday list, even when the year's last
    # session falls before 31 December.
    return _Sessions(
        first=calendar.first_session.date(),
        last=type(calendar).bound_max().date(),
        sessions=frozenset(session.date() for session in calendar.sessions),
    )


def _rows(
    overrides: Iterable[CalendarOverride] | None, schedules: Iterable[OfficialSchedule] | None
) -> tuple[list[CalendarOverride], list[OfficialSchedule]]:
    if overrides is None and schedules is None:
        # The tables hold a few dozen rows a year, so one query each loads all of them.
        return list(CalendarOverride.objects.all()), list(OfficialSchedule.objects.all())
    return list(overrides or ()), list(schedules or ())


def service_calendar(
    *,
    overrides: Iterable[CalendarOverride] | None = None,
    schedules: Iterable[OfficialSchedule] | None = None,
    hours: Hours | None = None,
) -> ServiceCalendar:
    """The service calendar from the tables (or only the rows given), with the service hours."""
    if hours is None:
        hours = getattr(settings, "SERVICE_HOURS", DEFAULT_SERVICE_HOURS)
    rows, years = _rows(overrides, schedules)
    return ServiceCalendar(
        hours=hours,
        overrides={row.date: row.is_open for row in rows if row.calendar == CalendarKind.SERVICE},
        entered_years={s.year for s in years if s.calendar == CalendarKind.SERVICE},
    )


def trading_calendar(
    *,
    overrides: Iterable[CalendarOverride] | None = None,
    schedules: Iterable[OfficialSchedule] | None = None,
) -> TradingCalendar:
    """The XSHG trading calendar from the tables (or only the rows given)."""
    rows, years = _rows(overrides, schedules)
    return TradingCalendar(
        hours=TRADING_SESSIONS,
        overrides={row.date: row.is_open for row in rows if row.calendar == CalendarKind.TRADING},
        service=service_calendar(overrides=rows, schedules=years),
        entered_years={s.year for s in years if s.calendar == CalendarKind.TRADING},
    )


def get_calendar(
    kind: str,
    *,
    overrides: Iterable[CalendarOverride] | None = None,
    schedules: Iterable[OfficialSchedule] | None = None,
) -> WorkingCalendar:
    if kind == CalendarKind.TRADING:
        return trading_calendar(overrides=overrides, schedules=schedules)
    if kind == CalendarKind.SERVICE:
        return service_calendar(overrides=overrides, schedules=schedules)
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


def warm() -> None:
    """Load now what the trading calendar reads on first use: the exchange's published
    sessions (through pandas, about 0.3 s) and this year's rules. For a process whose first use
    must be fast: the risk engine's first fall opens its margin calls, each with a deadline."""
    add_trading_days(timezone.now(), 2)


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


def provisional_years(
    start: date,
    end: date,
    *,
    overrides: Iterable[CalendarOverride] | None = None,
    schedules: Iterable[OfficialSchedule] | None = None,
) -> list[int]:
    """The years between `start` and `end` (inclusive) that either calendar only estimates."""
    service = service_calendar(overrides=overrides, schedules=schedules)
    trading = trading_calendar(overrides=overrides, schedules=schedules)
    return [
        year
        for year in range(start.year, end.year + 1)
        if service.is_provisional(year) or trading.is_provisional(year)
    ]


def calendar_coverage_warning(
    *,
    today: date | None = None,
    horizon: timedelta = COVERAGE_HORIZON,
    may_import: bool = True,
    schedules: Iterable[OfficialSchedule] | None = None,
) -> str | None:
    """A message for staff while a year within `horizon` of today is provisional, else None.

    `may_import` says whether the reader may import the notice (or only wait for it).
    """
    today = today or timezone.localdate()
    if schedules is None:
        schedules = OfficialSchedule.objects.all()
    years = provisional_years(today, today + horizon, overrides=(), schedules=schedules)
    if not years:
        return None
    named = {"years": ", ".join(str(year) for year in years)}
    status = (
        _(
            "The holiday schedule for %(years)s is provisional: neither the calendar data nor "
            "staff have its official schedule yet. SLA clocks and margin-call deadlines there "
            "skip the statutory holidays computed by rule, but make-up working days (调休) are "
            "unknown."
        )
        % named
    )
    if may_import:
        action = (
            _("Import the State Council's holiday notice for %(years)s under Calendar overrides.")
            % named
        )
    else:
        action = (
            _("Compliance keeps the calendar and imports the State Council's notice for %(years)s.")
            % named
        )
    # Chinese sentences follow a full stop without a space.
    return status + ("" if status.endswith("。") else " ") + action
