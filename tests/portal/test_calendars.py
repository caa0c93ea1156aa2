"""The service and trading calendars, pinned to real 2026 dates and to the 2027 estimate.

Every 2026 date below was read from chinesecalendar 1.11's own data, every 2027 date from holidays
0.108's rules (the first tests re-read both, so a library update that changes a schedule fails
here, not silently in a due time).
"""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
import time_machine
from django.core import checks
from django.utils import translation

from portal.calendars import (
    CalendarError,
    add_trading_days,
    add_working_time,
    calendar_coverage_warning,
    is_open,
    provisional_years,
    service_calendar,
    trading_calendar,
    working_time_between,
)
from portal.models import CalendarKind, CalendarOverride, OfficialSchedule

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOUR = timedelta(hours=1)


def at(text: str) -> datetime:
    """A wall-clock time in Shanghai, the way the rules are written."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def close(day: str, calendar: str = CalendarKind.SERVICE, note: str = "") -> CalendarOverride:
    return CalendarOverride.objects.create(
        date=date.fromisoformat(day),
        calendar=calendar,
        kind=CalendarOverride.Kind.CLOSED,
        note=note,
    )


def open_(day: str, calendar: str = CalendarKind.SERVICE) -> CalendarOverride:
    return CalendarOverride.objects.create(
        date=date.fromisoformat(day), calendar=calendar, kind=CalendarOverride.Kind.OPEN
    )


@pytest.fixture
def service():
    """The service calendar with no overrides: library data and the weekday fallback only."""
    return service_calendar(overrides=())


@pytest.fixture
def trading():
    return trading_calendar(overrides=())


# --- the library data the tests stand on -------------------------------------------------------


def test_chinesecalendar_holds_the_2026_schedule_these_tests_use():
    detail = chinese_calendar.get_holiday_detail
    golden_week = [date(2026, 10, d) for d in range(1, 8)]
    assert all(detail(d) == (True, "National Day") for d in golden_week)
    assert [detail(date(2026, 9, d)) for d in (25, 26, 27)] == [(True, "Mid-autumn Festival")] * 3
    # The make-up working days (调休) for National Day: a Sunday before and a Saturday after.
    assert detail(date(2026, 9, 20)) == (False, "National Day")
    assert detail(date(2026, 10, 10)) == (False, "National Day")
    spring = [date(2026, 2, 15) + timedelta(days=n) for n in range(9)]
    assert all(detail(d) == (True, "Spring Festival") for d in spring)
    assert detail(date(2026, 2, 14)) == (False, "Spring Festival")
    assert detail(date(2026, 2, 28)) == (False, "Spring Festival")
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2027, 1, 4))


# --- working days --------------------------------------------------------------------------


def test_golden_week_is_closed_and_its_make_up_weekend_days_are_open(service):
    for day in range(1, 8):
        assert not service.is_working_day(date(2026, 10, day))
    assert service.is_working_day(date(2026, 9, 20))  # Sunday, worked for National Day
    assert service.is_working_day(date(2026, 10, 10))  # Saturday, worked for National Day
    assert not service.is_working_day(date(2026, 9, 19))  # an ordinary Saturday
    assert not service.is_working_day(date(2026, 9, 25))  # Mid-Autumn, a Friday
    assert service.is_working_day(date(2026, 10, 8))


def test_spring_festival_2026_closes_nine_days_and_opens_both_make_up_saturdays(service):
    closed = [date(2026, 2, 15) + timedelta(days=n) for n in range(9)]
    assert not any(service.is_working_day(d) for d in closed)
    assert service.is_working_day(date(2026, 2, 14))
    assert service.is_working_day(date(2026, 2, 28))
    assert service.is_working_day(date(2026, 2, 24))


@pytest.mark.django_db
def test_an_override_wins_over_the_library_in_a_covered_year():
    close("2026-11-23", note="Office move")
    open_("2026-11-21")
    calendar = service_calendar()
    assert not calendar.is_working_day(date(2026, 11, 23))
    assert calendar.is_working_day(date(2026, 11, 21))


# --- service hours -------------------------------------------------------------------------


def test_service_is_open_in_service_hours_only(service):
    assert not is_open(at("2026-11-23 08:59:59"), service)
    assert is_open(at("2026-11-23 09:00"), service)
    assert is_open(at("2026-11-23 11:59:59"), service)
    assert not is_open(at("2026-11-23 12:00"), service)
    assert not is_open(at("2026-11-23 12:30"), service)
    assert is_open(at("2026-11-23 13:00"), service)
    assert not is_open(at("2026-11-23 18:00"), service)
    assert is_open(at("2026-09-20 10:00"), service)  # make-up Sunday
    assert not is_open(at("2026-10-03 10:00"), service)


def test_is_open_accepts_any_time_zone(service):
    # 01:30 UTC is 09:30 in Shanghai.
    assert is_open(datetime(2026, 11, 23, 1, 30, tzinfo=ZoneInfo("UTC")), service)


def test_the_lunch_break_does_not_count(service):
    assert add_working_time(at("2026-11-23 11:30"), HOUR, service) == at("2026-11-23 13:30")
    assert working_time_between(at("2026-11-23 11:00"), at("2026-11-23 14:00"), service) == 2 * HOUR


def test_four_service_hours_from_friday_17_30_are_due_monday_13_30(service):
    # 30 minutes on Friday, 3 hours on Monday morning, the last 30 minutes after lunch.
    due = add_working_time(at("2026-11-20 17:30"), 4 * HOUR, service)
    assert due == at("2026-11-23 13:30")


def test_a_clock_opened_friday_before_national_day_counts_the_make_up_sunday(service):
    due = add_working_time(at("2026-09-18 17:30"), 4 * HOUR, service)
    assert due == at("2026-09-20 13:30")
    # Three service days (24 service hours): Sunday 20th, Monday, then Tuesday until 17:30.
    assert add_working_time(at("2026-09-18 17:30"), 24 * HOUR, service) == at("2026-09-22 17:30")


def test_a_clock_opened_on_the_eve_of_golden_week_resumes_on_8_october(service):
    assert add_working_time(at("2026-09-30 17:30"), 4 * HOUR, service) == at("2026-10-08 13:30")


def test_a_clock_opened_friday_17_30_after_golden_week_is_due_on_the_make_up_saturday(service):
    assert add_working_time(at("2026-10-09 17:30"), 4 * HOUR, service) == at("2026-10-10 13:30")


def test_working_time_across_golden_week_is_two_service_days(service):
    between = working_time_between(at("2026-09-30 09:00"), at("2026-10-08 18:00"), service)
    assert between == 16 * HOUR


def test_working_time_is_never_negative(service):
    assert working_time_between(at("2026-11-23 12:00"), at("2026-11-23 10:00"), service) == (
        timedelta(0)
    )


def test_a_clock_that_ends_at_noon_is_due_at_noon_not_after_lunch(service):
    assert add_working_time(at("2026-11-23 09:00"), 3 * HOUR, service) == at("2026-11-23 12:00")


def test_a_clock_started_outside_service_hours_starts_counting_at_the_next_opening(service):
    assert add_working_time(at("2026-11-21 22:00"), HOUR, service) == at("2026-11-23 10:00")


def test_results_are_aware_and_equal_to_their_utc_instant(service):
    due = add_working_time(datetime(2026, 11, 23, 1, 0, tzinfo=ZoneInfo("UTC")), HOUR, service)
    assert due == datetime(2026, 11, 23, 2, 0, tzinfo=ZoneInfo("UTC"))
    assert due.utcoffset() == timedelta(hours=8)


def test_naive_datetimes_are_refused(service):
    with pytest.raises(ValueError, match="aware"):
        add_working_time(datetime(2026, 11, 23, 9), HOUR, service)


def test_a_calendar_that_never_opens_fails_loudly_instead_of_looping():
    closed_for_good = service_calendar(overrides=(), hours=())
    with pytest.raises(CalendarError):
        add_working_time(at("2026-11-23 09:00"), HOUR, closed_for_good)


def test_service_hours_come_from_settings_when_set(settings):
    settings.SERVICE_HOURS = ((time(8, 30), time(12)), (time(13), time(17, 30)))
    calendar = service_calendar(overrides=())
    assert is_open(at("2026-11-23 08:45"), calendar)
    assert not is_open(at("2026-11-23 17:45"), calendar)


# --- years no library publishes: the rule-based layer ---------------------------------------


def test_holidays_computes_2027_by_rule_without_make_up_days():
    """What holidays 0.108 says of 2027, which the provisional calendars below stand on."""
    import holidays

    china = holidays.China(years=2027)
    assert date(2027, 1, 1) in china  # New Year's Day, a Friday
    spring = [date(2027, 2, 5) + timedelta(days=n) for n in range(6)]  # eve to the 3rd day, bridged
    assert all(d in china for d in spring)
    assert date(2027, 2, 4) not in china and date(2027, 2, 11) not in china
    assert [date(2027, 10, d) in china for d in range(1, 8)] == [True] * 5 + [False] * 2
    assert date(2027, 9, 15) in china  # Mid-Autumn
    assert not [d for d in china.weekend_workdays if d.year == 2027]  # 调休: not yet decreed
    xshg = holidays.financial_holidays("XSHG", years=2027)
    assert {date(2027, 1, 1), *spring} <= set(xshg)


def test_2027_is_estimated_from_statutory_holidays_never_every_weekday(service, trading):
    assert not service.library_covers(date(2027, 1, 4))
    assert service.is_provisional(2027) and trading.is_provisional(2027)
    assert not service.is_provisional(2026) and not trading.is_provisional(2026)
    assert not service.is_working_day(date(2027, 1, 1))  # New Year's Day, a Friday
    assert service.is_working_day(date(2027, 1, 4))  # Monday
    assert not service.is_working_day(date(2027, 1, 2))  # Saturday
    for day in range(5, 11):  # Spring Festival: Friday 5 to Wednesday 10 February
        assert not service.is_working_day(date(2027, 2, day))
        assert not trading.is_working_day(date(2027, 2, day))
    assert service.is_working_day(date(2027, 2, 11))
    assert not trading.is_working_day(date(2027, 10, 5))  # National Day, observed
    assert trading.is_working_day(date(2027, 10, 6))


def test_a_clock_crossing_into_2027_skips_new_years_day(service):
    # One hour on 31 December, three on Monday 4 January 2027.
    assert add_working_time(at("2026-12-31 17:00"), 4 * HOUR, service) == at("2027-01-04 12:00")


@pytest.mark.django_db
def test_a_provisional_year_uses_the_days_staff_enter():
    # The notice, when it comes, may close Thursday 11 February and make Saturday 20 February a
    # make-up working day; the rule knows neither.
    close("2027-02-11", note="春节")
    open_("2027-02-20")
    calendar = service_calendar()
    assert not calendar.is_working_day(date(2027, 2, 11))
    assert calendar.is_working_day(date(2027, 2, 20))
    assert not calendar.is_working_day(date(2027, 2, 13))  # an ordinary Saturday
    assert calendar.is_provisional(2027)  # a few days entered do not make a schedule
    assert add_working_time(at("2027-02-04 17:00"), 4 * HOUR, calendar) == at("2027-02-12 12:00")


@pytest.mark.django_db
def test_once_its_notice_is_entered_a_year_is_weekdays_and_overrides_only():
    close("2027-02-11")
    OfficialSchedule.objects.create(year=2027, calendar=CalendarKind.SERVICE, source="国办发明电")
    calendar, exchange = service_calendar(), trading_calendar()
    assert not calendar.is_provisional(2027) and not exchange.is_provisional(2027)
    # The rule's observed days no longer apply: the notice lists every day off.
    assert calendar.is_working_day(date(2027, 2, 8))
    assert exchange.is_working_day(date(2027, 2, 8))
    assert not calendar.is_working_day(date(2027, 2, 11))
    assert not exchange.is_working_day(date(2027, 2, 11))
    assert not calendar.is_working_day(date(2027, 2, 13))


def test_provisional_years_names_2027_and_not_2026():
    assert provisional_years(date(2026, 12, 1), date(2027, 3, 1), overrides=(), schedules=()) == [
        2027
    ]
    assert provisional_years(date(2026, 1, 1), date(2026, 12, 31), overrides=(), schedules=()) == []
    entered = [
        OfficialSchedule(year=2027, calendar=CalendarKind.SERVICE),
        OfficialSchedule(year=2028, calendar=CalendarKind.TRADING),
    ]
    assert provisional_years(date(2027, 1, 1), date(2028, 3, 1), schedules=entered) == [2028]


@pytest.mark.django_db
@pytest.mark.time_machine(at("2026-11-25 10:00"), tick=False)
def test_staff_are_warned_that_2027_is_provisional_and_its_make_up_days_unknown():
    with translation.override("en"):
        warning = calendar_coverage_warning()
        waiting = calendar_coverage_warning(may_import=False)
    assert warning is not None and waiting is not None
    assert "2027 is provisional" in warning
    assert "make-up working days (调休) are unknown" in warning
    assert "Import the State Council's holiday notice for 2027" in warning
    assert "Compliance keeps the calendar" in waiting
    with translation.override("zh-hans"):
        warning = calendar_coverage_warning()
    assert warning is not None and "2027" in warning and "调休" in warning


@pytest.mark.django_db
@pytest.mark.time_machine(at("2026-11-25 10:00"), tick=False)
def test_the_warning_goes_once_the_notice_is_entered_and_comes_back_for_the_next_year():
    OfficialSchedule.objects.create(year=2027, calendar=CalendarKind.SERVICE, source="国办发明电")
    assert calendar_coverage_warning() is None
    with time_machine.travel(at("2027-10-20 10:00"), tick=False), translation.override("en"):
        assert "2028 is provisional" in (calendar_coverage_warning() or "")


@pytest.mark.django_db
@pytest.mark.time_machine(at("2026-06-01 10:00"), tick=False)
def test_no_warning_while_the_horizon_is_published():
    assert calendar_coverage_warning() is None


@pytest.mark.django_db
@pytest.mark.time_machine(at("2026-11-25 10:00"), tick=False)
def test_the_warning_is_a_system_check_run_by_migrate():
    # Tagged `database` so `migrate` (every deploy) and `check --database default` show it, while
    # `check --deploy` stays about configuration: a missing library year is not fixed by a deploy.
    messages = checks.run_checks(tags=[checks.Tags.database], databases=["default"])
    coverage = [m for m in messages if m.id == "portal.W001"]
    assert len(coverage) == 1
    assert isinstance(coverage[0], checks.Warning)
    assert "2027" in coverage[0].msg
    assert not [m for m in checks.run_checks() if m.id == "portal.W001"]


# --- trading calendar ----------------------------------------------------------------------


def test_the_exchange_trades_in_its_two_sessions(trading):
    assert not is_open(at("2026-10-08 09:29"), trading)
    assert is_open(at("2026-10-08 09:30"), trading)
    assert not is_open(at("2026-10-08 11:30"), trading)
    assert is_open(at("2026-10-08 13:00"), trading)
    assert not is_open(at("2026-10-08 15:00"), trading)


def test_the_exchange_never_trades_on_a_make_up_weekend_day(trading):
    assert not trading.is_working_day(date(2026, 9, 20))
    assert not trading.is_working_day(date(2026, 10, 10))
    assert not trading.is_working_day(date(2026, 9, 25))  # Mid-Autumn
    assert trading.is_working_day(date(2026, 12, 31))


def test_a_margin_call_on_the_eve_of_golden_week_is_due_at_the_close_of_9_october(trading):
    assert add_trading_days(at("2026-09-30 10:00"), 2, trading) == at("2026-10-09 15:00")


def test_a_margin_call_before_a_make_up_sunday_skips_it(trading):
    assert add_trading_days(at("2026-09-18 14:00"), 2, trading) == at("2026-09-22 15:00")


def test_a_margin_call_before_spring_festival_is_due_after_it(trading):
    assert add_trading_days(at("2026-02-13 10:00"), 2, trading) == at("2026-02-25 15:00")


def test_trading_days_count_from_the_day_after_the_call_whatever_its_hour(trading):
    # Before the open, after the close, or on a Saturday: day one is the next trading day.
    assert add_trading_days(at("2026-11-23 08:00"), 1, trading) == at("2026-11-24 15:00")
    assert add_trading_days(at("2026-11-23 16:00"), 1, trading) == at("2026-11-24 15:00")
    assert add_trading_days(at("2026-11-21 10:00"), 1, trading) == at("2026-11-23 15:00")


def test_margin_calls_raised_at_the_2026_year_end_skip_new_years_day_2027(trading):
    assert not trading.library_covers(date(2027, 1, 1))
    # Wednesday 30 December: Thursday 31st, then Monday 4 January.
    assert add_trading_days(at("2026-12-30 14:00"), 2, trading) == at("2027-01-04 15:00")
    assert add_trading_days(at("2026-12-31 10:00"), 2, trading) == at("2027-01-05 15:00")


def test_a_margin_call_before_the_2027_spring_festival_skips_the_whole_closure(trading):
    # Thursday 4 February 2027: Friday 5th to Wednesday 10th closed; Thursday 11th, Friday 12th.
    assert add_trading_days(at("2027-02-04 14:00"), 2, trading) == at("2027-02-12 15:00")
    assert add_trading_days(at("2027-02-07 10:00"), 1, trading) == at("2027-02-11 15:00")


@pytest.mark.django_db
def test_a_service_holiday_closes_the_exchange_in_a_year_the_exchange_library_lacks():
    close("2027-02-11", note="春节")
    calendar = trading_calendar()
    assert add_trading_days(at("2027-02-04 14:00"), 2, calendar) == at("2027-02-15 15:00")


@pytest.mark.django_db
def test_a_service_closure_in_a_covered_year_does_not_close_the_exchange():
    close("2026-12-31", note="Company event")
    assert trading_calendar().is_working_day(date(2026, 12, 31))


@pytest.mark.django_db
def test_a_trading_override_wins_over_the_service_holiday():
    close("2027-01-04")
    open_("2027-01-04", CalendarKind.TRADING)
    assert trading_calendar().is_working_day(date(2027, 1, 4))


@pytest.mark.django_db
def test_a_service_make_up_saturday_does_not_open_the_exchange():
    open_("2027-02-20")
    assert not trading_calendar().is_working_day(date(2027, 2, 20))


@pytest.mark.django_db
def test_a_trading_override_closes_a_covered_session():
    close("2026-12-31", CalendarKind.TRADING, note="Exchange closed")
    assert add_trading_days(at("2026-12-30 14:00"), 1, trading_calendar()) == at("2027-01-04 15:00")


@pytest.mark.django_db
def test_a_service_make_up_day_on_a_rule_holiday_reopens_the_exchange_in_an_unpublished_year():
    # Should the notice keep Wednesday 10 February a working day, the exchange trades too.
    open_("2027-02-10")
    assert trading_calendar().is_working_day(date(2027, 2, 10))


@pytest.mark.django_db
def test_an_open_trading_day_on_a_weekend_is_refused():
    from django.core.exceptions import ValidationError

    row = CalendarOverride(
        date=date(2027, 2, 20), calendar=CalendarKind.TRADING, kind=CalendarOverride.Kind.OPEN
    )
    with pytest.raises(ValidationError):
        row.full_clean()


def test_thirty_trading_minutes_skip_the_midday_break(trading):
    assert add_working_time(at("2026-12-31 11:15"), timedelta(minutes=30), trading) == at(
        "2026-12-31 13:15"
    )


def test_add_trading_days_needs_at_least_one_day(trading):
    with pytest.raises(ValueError):
        add_trading_days(at("2026-11-23 10:00"), 0, trading)


# --- the override table -------------------------------------------------------------


@pytest.mark.django_db
def test_one_override_per_day_and_calendar():
    from django.db import IntegrityError, transaction

    close("2027-01-01")
    close("2027-01-01", CalendarKind.TRADING)
    with pytest.raises(IntegrityError), transaction.atomic():
        open_("2027-01-01")


@pytest.mark.django_db
def test_warm_loads_the_exchange_sessions_before_their_first_use():
    """The risk engine warms the calendar at start: its first fall must not load pandas and the
    exchange's sessions while opening margin calls."""
    from portal import calendars

    calendars._xshg.cache_clear()
    with time_machine.travel(datetime(2026, 12, 3, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))):
        calendars.warm()
    assert calendars._xshg.cache_info().currsize == 1


def test_the_exchange_sessions_reach_the_end_of_the_published_list_whatever_the_import_clock(
    monkeypatch,
):
    """exchange_calendars ends a calendar, by default, a year after the clock at its import; a
    process that imported it at an earlier moment (a test's travelled clock) would read the
    rest of the published list as closed days. The sessions are built to the list's end."""
    import pandas as pd
    from exchange_calendars import exchange_calendar
    from exchange_calendars.exchange_calendar_xshg import XSHGExchangeCalendar

    from portal import calendars

    monkeypatch.setattr(exchange_calendar, "GLOBAL_DEFAULT_END", pd.Timestamp("2025-03-01"))
    calendars._xshg.cache_clear()
    try:
        sessions = calendars._xshg()
        last = XSHGExchangeCalendar.bound_max().date()
        assert sessions.last == last
        assert max(sessions.sessions) > date(2025, 3, 1)
        assert max(sessions.sessions) >= last - timedelta(days=7)
    finally:
        calendars._xshg.cache_clear()
