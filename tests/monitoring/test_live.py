"""Monitoring as data arrives: the risk runner's observer turns ticks into alerts, daily bars
and book snapshots."""

import datetime

import pytest

from margin.feed import ManualFeed, SimInstrument, SimulatedFeed
from margin.models import Instrument
from margin.runner import RiskRunner
from monitoring import live
from monitoring.models import Alert, BookSnapshot, DailyBar, Response
from portal import calendars
from tests.margin.conftest import make_account

pytestmark = pytest.mark.django_db
THURSDAY = datetime.datetime(2026, 11, 26, 2, 0, tzinfo=datetime.UTC)  # 10:00 in Beijing


@pytest.fixture(autouse=True)
def _observed(settings):
    settings.MARGIN_TICK_OBSERVERS = ["monitoring.live.observe_tick"]
    settings.MONITORING_BOOK_EVERY_SECONDS = 0
    live._monitors.clear()
    yield
    live._monitors.clear()


def test_session_elapsed_counts_trading_time_only():
    calendar = calendars.trading_calendar(overrides=())
    at = lambda h, m: datetime.datetime(2026, 11, 26, h, m, tzinfo=calendars.SHANGHAI)  # noqa: E731
    assert live.session_elapsed(at(9, 30), calendar) == 0
    assert live.session_elapsed(at(11, 30), calendar) == 0.5
    assert live.session_elapsed(at(12, 30), calendar) == 0.5  # lunch
    assert live.session_elapsed(at(15, 0), calendar) == 1


def test_a_limit_down_tick_raises_an_alert_and_the_book_is_evaluated(client_alice):
    account = make_account(client_alice, holdings=[("300750.SZ", 100, "1500.00")])
    runner = RiskRunner(feed=ManualFeed())
    runner.start()
    runner.feed.put({"300750.SZ": "1200.00"}, at=THURSDAY)  # ChiNext −20%: limit-down
    runner.step(now=1.0)
    alert = Alert.objects.get(rule="limit_down")
    assert (alert.subject, alert.level) == ("300750.SZ", "info")
    assert alert.inputs["limit_down_fen"] == 120000
    assert not Response.objects.filter(alert=alert).exists()
    # One stock is the whole book and the whole index here: both fell 20%.
    assert {"index_drop_severe", "concentration_instrument"} <= set(
        Alert.objects.values_list("rule", flat=True)
    )
    snapshot = BookSnapshot.objects.get()
    assert snapshot.values["accounts"] == 1
    assert live.cache.get(live.NEAREST_KEY)[0]["account_id"] == account.pk


def test_a_simulated_day_keeps_daily_bars_with_volume_and_the_index(client_alice):
    make_account(client_alice, holdings=[("300750.SZ", 100, "268.00")])
    Instrument.objects.filter(code="300750.SZ").update(float_shares=3_000_000_000, sector="电池")
    instrument = Instrument.objects.get(code="300750.SZ")
    feed = SimulatedFeed(
        [
            SimInstrument(
                code=instrument.code,
                previous_close=instrument.previous_close,
                board="chinext",
                float_shares=instrument.float_shares,
                sector="电池",
            )
        ],
        seed=5,
        start=THURSDAY,
        step=datetime.timedelta(minutes=30),
        calendar=calendars.trading_calendar(overrides=()),
    )
    runner = RiskRunner(feed=feed)
    runner.start()
    for i in range(12):  # into Friday
        runner.step(now=float(i))
    bar = DailyBar.objects.get(code="300750.SZ")
    assert bar.day == datetime.date(2026, 11, 26)
    assert bar.volume > 0 and bar.turnover > 0
    assert DailyBar.objects.filter(code="INDEX", day=bar.day).exists()
    # The next day starts from the history kept.
    history = live.load_history(["300750.SZ"])
    assert history.days.tolist() == [1]
    assert history.volume[0, -1] == bar.volume


def test_an_approved_threshold_change_reaches_the_running_monitor(client_alice):
    from monitoring.models import Threshold

    make_account(client_alice, holdings=[("300750.SZ", 100, "1500.00")])
    monitor = live.Monitor(list(Instrument.objects.all()))
    assert monitor.surveillance.dev3.tolist() == [3000]
    Threshold.objects.filter(rule="abnormal_deviation_3d", scope="growth").update(value=2500)
    assert monitor.refresh_thresholds()
    assert monitor.surveillance.dev3.tolist() == [2500]
    assert not monitor.refresh_thresholds()


def test_two_engine_partitions_give_one_book(client_alice, client_bob):
    from django.core.cache import cache

    from monitoring import partitions

    for p in range(2):
        cache.delete(partitions.partial_key(partition=p, partitions=2))
    cache.delete(live.LATEST_KEY)
    alice = make_account(client_alice, holdings=[("300750.SZ", 100, "1500.00")])
    bob = make_account(client_bob, holdings=[("300750.SZ", 200, "1500.00")])
    if alice.pk % 2 == bob.pk % 2:  # one account in each partition
        bob.delete()
        bob = make_account(client_bob, holdings=[("300750.SZ", 200, "1500.00")])
    runners = {p: RiskRunner(feed=ManualFeed(), partition=p, partitions=2) for p in range(2)}
    for runner in runners.values():
        runner.start()
    # The other partition reports first, then partition 0 evaluates the whole book.
    for p in (1, 0):
        runners[p].feed.put({"300750.SZ": "1490.00"}, at=THURSDAY)
        runners[p].step(now=1.0)
    latest = cache.get(live.LATEST_KEY)["values"]
    assert latest["accounts"] == 2
    assert latest["collateral_yuan"] == 300 * 1490.0
    assert latest["partitions"] == {
        "partitions": 2,
        "reported": 2,
        "missing": [],
        "stale": [],
        "oldest_at": THURSDAY.isoformat(),
    }
    assert {row["account_id"] for row in cache.get(live.NEAREST_KEY)} == {alice.pk, bob.pk}
    assert BookSnapshot.objects.get().values["accounts"] == 2
