"""The feeds, the checks every row passes, and the push rhythm."""

import datetime
import logging
from decimal import Decimal as D

import pytest

from margin.feed import ManualFeed, ReplayFeed, SimInstrument, SimulatedFeed
from margin.models import Instrument
from margin.runner import RiskRunner
from portal import calendars
from tests.margin.conftest import make_account

THURSDAY = datetime.datetime(2026, 11, 26, 2, 0, tzinfo=datetime.UTC)
INSTRUMENTS = [
    SimInstrument(code="600519.SH", previous_close=D("1480.00"), board="main"),
    SimInstrument(code="300750.SZ", previous_close=D("268.00"), board="chinext"),
    SimInstrument(code="000002.SZ", previous_close=D("6.80"), board="main"),
]
NO_OVERRIDES = calendars.trading_calendar(overrides=())


def simulated(seed=7, **kwargs):
    return SimulatedFeed(INSTRUMENTS, seed=seed, start=THURSDAY, calendar=NO_OVERRIDES, **kwargs)


def test_the_simulated_feed_is_deterministic_from_its_seed():
    one, two, other = simulated(), simulated(), simulated(seed=8)
    a = [[r.price for r in one.poll().rows] for _ in range(50)]
    b = [[r.price for r in two.poll().rows] for _ in range(50)]
    c = [[r.price for r in other.poll().rows] for _ in range(50)]
    assert a == b
    assert a != c


def test_the_simulated_feed_ticks_only_in_trading_sessions_and_within_daily_limits():
    feed = simulated(step=datetime.timedelta(minutes=5), regime="stressed")
    limits = {
        i.code: (i.previous_close * D("0.9"), i.previous_close * D("1.1")) for i in INSTRUMENTS
    }
    limits["300750.SZ"] = (D("268.00") * D("0.8"), D("268.00") * D("1.2"))
    hit_limit_down = False
    for _ in range(48 * 60):  # 60 trading days
        tick = feed.poll()
        assert calendars.is_open(tick.at, NO_OVERRIDES), tick.at
        if tick.new_day_closes:
            limits = {
                code: (
                    close * (D("0.8") if code.startswith("300") else D("0.9")),
                    close * (D("1.2") if code.startswith("300") else D("1.1")),
                )
                for code, close in tick.new_day_closes.items()
            }
        for row in tick.rows:
            low, high = limits[row.code]
            assert low - D("0.01") <= row.price <= high + D("0.01")
            hit_limit_down |= row.price <= low + D("0.01")
    assert hit_limit_down, "sixty days without a single limit-down"


def test_a_replay_feed_reads_a_csv_tick_by_tick(tmp_path):
    path = tmp_path / "ticks.csv"
    path.write_text(
        "time,code,price\n"
        "2026-11-26T10:00:00,600519.SH,1480.50\n"
        "2026-11-26T10:00:00,300750.SZ,267.10\n"
        "2026-11-26T10:00:05,600519.SH,1481.00\n"
    )
    feed = ReplayFeed(path)
    first = feed.poll()
    assert [(r.code, r.price) for r in first.rows] == [
        ("600519.SH", "1480.50"),
        ("300750.SZ", "267.10"),
    ]
    assert first.at == datetime.datetime(2026, 11, 26, 2, 0, tzinfo=datetime.UTC)
    assert feed.poll().rows[0].price == "1481.00"
    assert feed.poll() is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    "bad_price",
    ["abc", "", "-5.00", "1500.001", 1500.0, "1000.00", "NaN"],
    ids=["text", "empty", "negative", "sub-fen", "float", "beyond-limit", "nan"],
)
def test_a_malformed_row_is_rejected_and_logged_never_applied(client_alice, caplog, bad_price):
    account = make_account(client_alice)
    runner = RiskRunner(feed=ManualFeed())
    runner.start()
    before = runner.engine.snapshot(account.pk)
    runner.feed.put({"300750.SZ": bad_price, "NOPE.SH": "1.00"}, at=THURSDAY)
    with caplog.at_level(logging.WARNING, logger="margin.runner"):
        runner.step(now=10.0)
    assert runner.engine.snapshot(account.pk) == before
    assert Instrument.objects.get(code="300750.SZ").last_price == D("1500.00")
    assert runner.rejected == 2
    assert "rejected" in caplog.text


@pytest.mark.django_db
def test_a_tick_saves_each_price_with_its_time_and_reported_volume(client_alice):
    from margin.feed import FeedRow, Tick

    make_account(client_alice)
    ticks = [
        Tick(
            at=THURSDAY,
            rows=[FeedRow("300750.SZ", D("1490.00"), THURSDAY, 12_300)],
        ),
        Tick(
            at=THURSDAY + datetime.timedelta(seconds=1),
            rows=[FeedRow("300750.SZ", D("1491.00"), THURSDAY + datetime.timedelta(seconds=1))],
        ),
    ]

    class TwoTicks:
        def poll(self):
            return ticks.pop(0) if ticks else None

    runner = RiskRunner(feed=TwoTicks())
    runner.start()
    runner.step(now=10.0)
    saved = Instrument.objects.get(code="300750.SZ")
    # The simulated venue fills at most 25% of this volume at this price (trading.venue).
    assert (saved.last_price, saved.last_price_at, saved.last_volume) == (
        D("1490.00"),
        THURSDAY,
        12_300,
    )
    runner.step(now=11.0)
    saved.refresh_from_db()
    assert (saved.last_price, saved.last_volume) == (D("1491.00"), 0)  # none reported


@pytest.mark.django_db
def test_a_stale_tick_is_rejected_and_logged(client_alice, caplog):
    account = make_account(client_alice)
    runner = RiskRunner(feed=ManualFeed())
    runner.start()
    runner.feed.put({"300750.SZ": "1490.00"}, at=THURSDAY)
    runner.step(now=10.0)
    runner.feed.put({"300750.SZ": "1400.00"}, at=THURSDAY - datetime.timedelta(seconds=1))
    with caplog.at_level(logging.WARNING, logger="margin.runner"):
        runner.step(now=11.0)
    assert runner.engine.snapshot(account.pk).market_value == D("149000.00")
    assert "stale" in caplog.text


@pytest.mark.django_db
@pytest.mark.time_machine(THURSDAY, tick=False)
def test_pushes_come_at_most_once_a_second_and_at_once_on_a_level_change(client_alice):
    account = make_account(client_alice, holdings=[("300750.SZ", 100, "1700.00")])  # SAFE
    runner = RiskRunner(feed=ManualFeed())
    runner.start()
    assert [p["level"] for _, p in runner.step(now=100.0)] == ["safe"]  # the first status

    def move(price, minute, now):
        runner.feed.put({"300750.SZ": price}, at=THURSDAY + datetime.timedelta(minutes=minute))
        return [payload for _, payload in runner.step(now=now)]

    assert move("1690.00", 1, 100.3) == []  # same level, within the second: held back
    pushed = move("1590.00", 2, 100.5)  # 159%: WATCH, at once
    assert [(p["level"], p["ratio"], p["seq"]) for p in pushed] == [("watch", "1.5900", 2)]
    assert move("1595.00", 3, 100.9) == []
    # No new price, but the held-back status goes out once the second has passed.
    later = runner.step(now=101.6)
    assert [(group, p["ratio"], p["seq"]) for group, p in later] == [
        (f"margin.account.{account.pk}", "1.5950", 3)
    ]
    assert runner.step(now=105.0) == []


@pytest.mark.django_db
def test_partitions_split_the_accounts_by_id(client_alice, client_bob):
    alice = make_account(client_alice)
    bob = make_account(client_bob, holdings=[("600036.SH", 5000, "42.10")])
    owners = {}
    for partition in (0, 1):
        runner = RiskRunner(feed=ManualFeed(), partition=partition, partitions=2)
        runner.start()
        for account_id in runner.engine.account_ids:
            owners.setdefault(account_id, []).append(partition)
    assert owners == {alice.pk: [alice.pk % 2], bob.pk: [bob.pk % 2]}


@pytest.mark.django_db
@pytest.mark.parametrize("partitions", [1, 2, 3])
def test_k_runners_handle_every_account_once(client_alice, client_bob, partitions):
    from tests.factories import UserFactory

    accounts = [make_account(client_alice), make_account(client_bob)]
    accounts += [
        make_account(
            UserFactory(email=f"c{i}@example.test"), holdings=[("600036.SH", 100, "42.10")]
        )
        for i in range(5)
    ]
    handled, pushed = [], []
    for partition in range(partitions):
        runner = RiskRunner(feed=ManualFeed(), partition=partition, partitions=partitions)
        runner.start()
        handled += runner.engine.account_ids
        pushed += [payload["account_id"] for _, payload in runner.step(now=10.0)]
    assert sorted(handled) == sorted(a.pk for a in accounts)  # none missed, none twice
    assert sorted(pushed) == sorted(handled)


@pytest.mark.django_db
@pytest.mark.time_machine(THURSDAY, tick=False)
def test_watched_only_pushes_watched_accounts_and_level_changes_and_drops_stale_copies(
    client_alice, client_bob
):
    import time

    from margin import selectors, status, watching

    alice = make_account(client_alice, holdings=[("300750.SZ", 100, "1700.00")])  # SAFE
    bob = make_account(client_bob, holdings=[("600036.SH", 4000, "42.10")])  # 168.4%: SAFE
    runner = RiskRunner(feed=ManualFeed(), push_to_watched_only=True)
    runner.start()
    assert runner.step(now=100.0) == []  # nobody watches, nothing changed level
    watching.watch([alice.pk])

    def move(prices, minute, now):
        runner.feed.put(prices, at=THURSDAY + datetime.timedelta(minutes=minute))
        return [(p["account_id"], p["level"]) for _, p in runner.step(now=now)]

    assert move({"300750.SZ": "1690.00", "600036.SH": "42.00"}, 1, 101.0) == [(alice.pk, "safe")]
    assert status.cached(alice.pk)["ratio"] == "1.6900"
    # Bob falls to WATCH while nobody watches him: nothing is built for him, and his page
    # reads the level the step recorded in the tables. Alice's move is pushed.
    assert move({"300750.SZ": "1680.00", "600036.SH": "39.00"}, 2, 102.0) == [(alice.pk, "safe")]
    assert status.cached(bob.pk) is None
    bob.refresh_from_db()
    assert bob.current_level == "watch"
    assert selectors.live_status(bob)["level"] == "watch"
    # Bob opens his page: his moved level is pushed at the next step, before his interval.
    watching.watch([bob.pk])
    assert move({"600036.SH": "38.95"}, 3, 102.5) == [(bob.pk, "watch")]
    # Nobody watches Bob any more; he moves within his level: not built, his copy dropped.
    watching.watch([bob.pk], now=time.time() - 2 * watching.TTL)  # his mark lapsed
    assert move({"600036.SH": "38.90"}, 4, 103.0) == []
    assert status.cached(bob.pk) is None


@pytest.mark.django_db
@pytest.mark.time_machine(THURSDAY, tick=False)
def test_while_the_watch_list_cannot_be_read_every_level_change_is_pushed(client_bob, monkeypatch):
    from margin import watching

    bob = make_account(client_bob, holdings=[("600036.SH", 4000, "42.10")])  # 168.4%: SAFE
    runner = RiskRunner(feed=ManualFeed(), push_to_watched_only=True)
    runner.start()
    runner.step(now=100.0)

    def unreadable(**kwargs):
        raise ConnectionError("Redis restarting")

    monkeypatch.setattr(watching, "watched", unreadable)
    runner.feed.put({"600036.SH": "39.00"}, at=THURSDAY + datetime.timedelta(minutes=1))
    pushed = runner.step(now=101.0)  # falls to WATCH: a socket may be open for him
    assert [(p["account_id"], p["level"]) for _, p in pushed] == [(bob.pk, "watch")]
    runner.feed.put({"600036.SH": "38.90"}, at=THURSDAY + datetime.timedelta(minutes=2))
    assert runner.step(now=102.0) == []  # within his level


@pytest.mark.django_db
def test_marked_accounts_are_reloaded_at_the_next_step(client_alice):
    from margin.models import Position

    account = make_account(client_alice)
    runner = RiskRunner(feed=ManualFeed(), reload_interval=3600)
    runner.start()
    runner.step(now=1.0)
    Position.objects.filter(account=account).update(quantity=200)  # a fill, say
    runner.mark_accounts_changed([account.pk])
    pushed = runner.step(now=2.0)
    assert runner.engine.snapshot(account.pk).market_value == D("300000.00")
    assert [p["market_value"] for _, p in pushed] == ["300000.00"]


@pytest.mark.django_db
def test_a_step_collects_no_cyclic_garbage_until_it_is_over(client_alice):
    import gc

    make_account(client_alice)
    runner = RiskRunner(feed=ManualFeed())
    runner.start()
    seen = []
    runner._chart = lambda: seen.append(gc.isenabled())
    runner.step(now=1.0)
    assert seen == [False] and gc.isenabled()

    def failing():
        raise RuntimeError("boom")

    runner._chart = failing
    with pytest.raises(RuntimeError):
        runner.step(now=2.0)
    assert gc.isenabled()  # a failed step too
    gc.disable()
    runner._chart = lambda: None
    runner.step(now=3.0)
    assert not gc.isenabled()  # left as the caller had it
    gc.enable()
