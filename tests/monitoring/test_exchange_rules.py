"""The exchanges' abnormal-fluctuation rules and the platform's instrument rules, pinned with
worked examples at and just below each threshold. Deviations are in basis points (2000 = 20%).

Each example has a stock (``T``) and a very large unmoved stock that makes up the platform index,
so the stock's deviation from the index is its own move unless the example moves the index.
"""

from decimal import Decimal

import numpy as np
import pytest

from monitoring import rules, thresholds
from monitoring.surveillance import History, InstrumentInfo, Surveillance

ANCHOR = InstrumentInfo("601398.SH", "main", float_shares=10**12)


def watch(
    board="main",
    *,
    st=False,
    past=(),
    volumes=(),
    fresh=2,
    directions=(),
    close=10_000,
    float_shares=1_000_000,
    days=30,
):
    """A surveillance of stock T (previous close ``close`` fen) and the anchor; ``past`` are
    T's previous daily deviations, most recent last."""
    target = InstrumentInfo("T", board, is_st=st, float_shares=float_shares, sector="S")
    history = History.empty(2)
    if past:
        history.deviation_bp[0, -len(past) :] = past
    if volumes:
        history.volume[0, -len(volumes) :] = volumes
    if directions:
        history.direction[0, -len(directions) :] = directions
    history.fresh[0] = fresh
    history.days[:] = days
    return Surveillance(
        [target, ANCHOR],
        thresholds=thresholds.defaults(),
        previous_close_fen=np.array([close, 500]),
        limit_down_fen=np.array([close * 9 // 10, 450]),
        history=history,
    )


def fired(surveillance, price=None, volume=0, **kwargs):
    prices = np.array([price if price is not None else surveillance.price[0], 500])
    result = surveillance.observe(prices, np.array([volume, 0]), **kwargs)
    return {s.rule: s for s in result.signals if s.subject == "T"}


# --- the daily deviation -------------------------------------------------------------------------


def test_a_daily_change_is_rounded_half_away_from_zero_to_a_basis_point():
    changes = rules.daily_change_bp(
        np.array([1100, 2, 100_005, 99_995]), np.array([1000, 3, 100_000, 100_000])
    )
    assert changes.tolist() == [1000, -3333, 1, -1]  # 0.5 bp rounds away from zero


def test_the_deviation_is_the_stocks_change_minus_the_index_change():
    closes = np.array([[1000, 1080]])  # +8.00%
    index = np.array([10_000, 10_300])  # +3.00%
    assert rules.deviation_bp(closes, index).tolist() == [[500]]


# --- abnormal fluctuation: 3-day cumulative deviation --------------------------------------------


@pytest.mark.parametrize(
    ("board", "st", "past", "at", "below"),
    [
        ("main", False, (700, 700), 10_600, 10_599),  # ±20%: 7% + 7% + 6.00% vs 5.99%
        ("main", True, (400, 400), 10_400, 10_399),  # ST ±12%: 4% + 4% + 4.00% vs 3.99%
        ("star", False, (1000, 1000), 11_000, 10_999),  # STAR ±30%
        ("chinext", False, (1000, 1000), 11_000, 10_999),  # ChiNext ±30%
    ],
)
def test_three_day_deviation_at_the_threshold_is_abnormal_and_just_below_is_not(
    board, st, past, at, below
):
    signal = fired(watch(board, st=st, past=past), at)["abnormal_deviation_3d"]
    assert signal.value == signal.threshold
    assert signal.level == "warning"
    assert signal.inputs["today_bp"] + signal.inputs["previous_days_bp"] == int(signal.value)
    assert "abnormal_deviation_3d" not in fired(watch(board, st=st, past=past), below)


def test_a_fall_counts_too():
    signal = fired(watch(past=(-700, -700)), 9_400)["abnormal_deviation_3d"]  # −20.00%
    assert signal.value == Decimal(-2000)
    assert signal.inputs["direction"] == -1
    assert "abnormal_deviation_3d" not in fired(watch(past=(-700, -700)), 9_401)


def test_a_stock_moving_with_the_index_deviates_by_nothing():
    """Both the stock and the whole market up 7%: no deviation at all."""
    target = InstrumentInfo("T", "main", float_shares=1_000_000)
    history = History.empty(2)
    history.deviation_bp[0, -2:] = (700, 700)
    surveillance = Surveillance(
        [target, ANCHOR],
        thresholds=thresholds.defaults(),
        previous_close_fen=np.array([10_000, 500]),
        limit_down_fen=np.array([9_000, 450]),
        history=history,
    )
    result = surveillance.observe(np.array([10_700, 535]), np.array([0, 0]))
    assert "abnormal_deviation_3d" not in {s.rule for s in result.signals if s.subject == "T"}


def test_days_that_made_an_abnormal_fluctuation_are_not_counted_again():
    surveillance = watch(past=(700, 700))
    surveillance.observe(np.array([10_600, 500]), np.array([0, 0]))
    result, _bars = surveillance.close_day()
    assert "abnormal_deviation_3d" in {s.rule for s in result.signals}
    surveillance.start_day(np.array([10_600, 500]), np.array([9_540, 450]))
    # Next day +10%: counted alone (1000 bp), not on top of the three days already reported.
    signals = fired(surveillance, 11_660)
    assert "abnormal_deviation_3d" not in signals
    assert surveillance.past2[0] == 0


# --- abnormal fluctuation: turnover (main board) -------------------------------------------------


def test_turnover_thirty_times_the_previous_five_days_with_twenty_percent_cumulative():
    """Float 1,000,000. Previous 5 days 3,000 a day; the last 3 days 270,000 in all (27% of the
    float, ratio of averages 90,000 / 3,000 = 30): abnormal. One share fewer: ratio < 30."""
    past = (3000,) * 5 + (90_000, 90_000)
    signal = fired(watch(volumes=past), volume=90_000)["abnormal_turnover_3d"]
    assert signal.value == Decimal("30.0000")
    assert signal.inputs["turnover_3d_bp"] == 2700
    assert "abnormal_turnover_3d" not in fired(watch(volumes=past), volume=89_999)


def test_turnover_ratio_alone_is_not_enough_without_twenty_percent_cumulative():
    """Previous 5 days 200 in all, last 3 days 200,000 (20.00% of the float): abnormal; 199,999
    (19.9999%): the ratio is huge but the cumulative turnover is short of 20%."""
    past = (40,) * 5 + (70_000, 70_000)
    assert "abnormal_turnover_3d" in fired(watch(volumes=past), volume=60_000)
    assert "abnormal_turnover_3d" not in fired(watch(volumes=past), volume=59_999)


def test_the_turnover_rule_is_a_main_board_rule():
    past = (40,) * 5 + (70_000, 70_000)
    assert "abnormal_turnover_3d" not in fired(watch("star", volumes=past), volume=60_000)


# --- severe abnormal fluctuation -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "past", "at", "below", "bp"),
    [
        ("severe_deviation_10d", (1000,) * 9, 11_000, 10_999, 10_000),  # +100% over 10 days
        ("severe_deviation_10d", (-500,) * 9, 9_500, 9_501, -5_000),  # −50% over 10 days
        ("severe_deviation_30d", (700,) * 27 + (300, 300), 10_500, 10_499, 20_000),  # +200%
        ("severe_deviation_30d", (-250,) * 24 + (-160,) * 5, 9_800, 9_801, -7_000),  # −70%
    ],
)
def test_severe_cumulative_deviation_at_the_threshold_and_just_below(rule, past, at, below, bp):
    signal = fired(watch("chinext", past=past, fresh=0), at)[rule]
    assert signal.value == Decimal(bp) == signal.threshold
    assert signal.level == "critical"
    assert rule not in fired(watch("chinext", past=past, fresh=0), below)


@pytest.mark.parametrize(("board", "times"), [("main", 4), ("star", 3), ("chinext", 3)])
def test_abnormal_fluctuation_repeated_in_one_direction_within_ten_days(board, times):
    earlier = (1,) * (times - 1)
    big = 11_000 if board != "main" else 10_600
    past = (1000, 1000) if board != "main" else (700, 700)
    signal = fired(watch(board, past=past, directions=earlier), big)["severe_repeat_10d"]
    assert signal.value == Decimal(times)
    fewer = (1,) * (times - 2)
    assert "severe_repeat_10d" not in fired(watch(board, past=past, directions=fewer), big)
    mixed = (-1,) + (1,) * (times - 2)
    assert "severe_repeat_10d" not in fired(watch(board, past=past, directions=mixed), big)


# --- the platform's own instrument rules ---------------------------------------------------------


def test_volume_spike_at_five_times_the_twenty_day_average_pro_rata():
    """20-day average 10,000 a day; half the session gone: 25,000 is 5×, 24,999 is not."""
    past = (10_000,) * 20
    signal = fired(watch(volumes=past), volume=25_000, elapsed=0.5)["volume_spike"]
    assert signal.value == Decimal("5.0000")
    assert "volume_spike" not in fired(watch(volumes=past), volume=24_999, elapsed=0.5)


def test_volume_spike_needs_some_history():
    assert "volume_spike" not in fired(watch(volumes=(10,) * 20, days=3), volume=10**6)


def test_realised_volatility_jump_at_twice_the_twenty_day_volatility():
    surveillance = watch()
    surveillance.rv20 = np.array([0.25, 0.25])
    assert fired(surveillance, ewma_volatility=np.array([0.50, 0.1]))["volatility_jump"]
    assert "volatility_jump" not in fired(surveillance, ewma_volatility=np.array([0.4999, 0.1]))


def test_limit_down_is_the_limit_price_itself():
    assert "limit_down" in fired(watch(), 9_000)
    assert "limit_down" not in fired(watch(), 9_001)


def test_a_sector_with_five_stocks_at_limit_down_is_a_cluster():
    stocks = [InstrumentInfo(f"S{i}", "main", sector="银行", float_shares=10**6) for i in range(6)]
    surveillance = Surveillance(
        [*stocks, ANCHOR],
        thresholds=thresholds.defaults(),
        previous_close_fen=np.array([1000] * 6 + [500]),
        limit_down_fen=np.array([900] * 6 + [450]),
    )
    four = surveillance.observe(np.array([900] * 4 + [950, 950, 500]), np.zeros(7))
    assert "limit_down_cluster" not in {s.rule for s in four.signals}
    five = surveillance.observe(np.array([900] * 5 + [950, 500]), np.zeros(7))
    cluster = next(s for s in five.signals if s.rule == "limit_down_cluster")
    assert (cluster.subject, cluster.value, cluster.level) == ("银行", Decimal(5), "critical")


def test_an_index_fall_of_five_percent_is_critical_and_three_percent_a_warning():
    everyone = InstrumentInfo("A", "main", float_shares=100)
    surveillance = Surveillance(
        [everyone],
        thresholds=thresholds.defaults(),
        previous_close_fen=np.array([10_000]),
        limit_down_fen=np.array([9_000]),
    )
    rules_at = lambda price: {  # noqa: E731
        s.rule for s in surveillance.observe(np.array([price]), np.zeros(1)).signals
    }
    assert rules_at(9_500) >= {"index_drop_severe", "index_drop"}
    assert "index_drop_severe" not in rules_at(9_501)
    assert "index_drop" in rules_at(9_700)
    assert "index_drop" not in rules_at(9_701)
