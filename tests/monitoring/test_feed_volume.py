"""The simulated feed's volume, spikes, sector moves and limit-down clusters, from a seed; and
the replay feed's volume columns and daily closes."""

import datetime
import itertools
from decimal import Decimal as D

import numpy as np

from margin.feed import ReplayFeed, SimInstrument, SimulatedFeed
from portal import calendars

THURSDAY = datetime.datetime(2026, 11, 26, 2, 0, tzinfo=datetime.UTC)
NO_OVERRIDES = calendars.trading_calendar(overrides=())
BOOK = [
    SimInstrument(
        code=f"60{i:04d}.SH",
        previous_close=D("10.00"),
        board="main",
        float_shares=100_000_000,
        sector=f"S{i % 4}",
    )
    for i in range(40)
]


def feed(seed=3, **kwargs):
    return SimulatedFeed(
        BOOK,
        seed=seed,
        start=THURSDAY,
        calendar=NO_OVERRIDES,
        step=datetime.timedelta(minutes=30),
        **kwargs,
    )


def days(source, count):
    """Per day: {code: (close, volume)}."""
    result, today = [], {}
    for _ in range(count * 8):
        tick = source.poll()
        if tick.new_day_closes and today:
            result.append(today)
            today = {}
        for row in tick.rows:
            _close, volume = today.get(row.code, (None, 0))
            today[row.code] = (row.price, volume + row.volume)
            assert row.turnover == row.price * row.volume
    return result


def test_volume_is_reproducible_from_the_seed():
    a = [[(r.price, r.volume) for r in t.rows] for t in (feed().poll() for _ in range(30))]
    b = [[(r.price, r.volume) for r in t.rows] for t in (feed().poll() for _ in range(30))]
    c = [[(r.price, r.volume) for r in t.rows] for t in (feed(seed=4).poll() for _ in range(30))]
    assert a == b != c


def test_volume_is_about_the_usual_share_of_the_float_with_occasional_spikes():
    history = days(feed(regime="elevated"), 60)
    volumes = np.array([[day[code][1] for code in sorted(day)] for day in history])
    turnover = volumes / 100_000_000
    assert 0.008 < np.median(turnover) < 0.03  # about 1.5% of the float a day
    assert (volumes % 100 == 0).all()  # whole lots
    assert (turnover > 5 * np.median(turnover)).sum() >= 3, "no volume spike in 60 days"


def test_sector_moves_and_limit_down_clusters_happen_in_a_stressed_market():
    history = days(feed(seed=11, regime="stressed"), 80)
    clustered = 0
    for before, after in itertools.pairwise(history):
        for sector in ("S0", "S1", "S2", "S3"):
            codes = [c for c in after if int(c[2:6]) % 4 == int(sector[1])]
            down = [after[c][0] <= (before[c][0] * D("0.9")).quantize(D("0.01")) for c in codes]
            clustered += all(down)
    assert clustered >= 1, "no whole sector locked at limit-down in 80 stressed days"


def test_a_replay_feed_carries_volume_and_the_previous_days_closes(tmp_path):
    path = tmp_path / "ticks.csv"
    path.write_text(
        "time,code,price,volume,turnover\n"
        "2026-11-26T14:59:00,600519.SH,1480.50,300,444150.00\n"
        "2026-11-27T09:30:00,600519.SH,1490.00,x,\n"
    )
    replay = ReplayFeed(path)
    first, second = replay.poll(), replay.poll()
    assert (first.rows[0].volume, first.rows[0].turnover) == (300, D("444150.00"))
    assert first.new_day_closes is None
    assert second.new_day_closes == {"600519.SH": D("1480.50")}
    assert second.rows[0].volume == 0  # unreadable volume: none, never a rejected price
