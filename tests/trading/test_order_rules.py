"""Sessions and no-cancel windows on the Beijing clock."""

import datetime

import pytest

from trading.rules import Phase, cancel_refusal, phase

t = datetime.time


@pytest.mark.parametrize(
    "clock, expected",
    [
        (t(9, 14, 59), Phase.CLOSED),
        (t(9, 15), Phase.OPENING_AUCTION),
        (t(9, 24, 59), Phase.OPENING_AUCTION),
        (t(9, 25), Phase.PRE_OPEN),
        (t(9, 30), Phase.CONTINUOUS),
        (t(11, 29, 59), Phase.CONTINUOUS),
        (t(11, 30), Phase.LUNCH),
        (t(13, 0), Phase.CONTINUOUS),
        (t(14, 57), Phase.CLOSING_AUCTION),
        (t(15, 0), Phase.CLOSED),
    ],
)
def test_session_phases_on_a_trading_day(clock, expected):
    assert phase(clock, trading_day=True) is expected


def test_nothing_opens_on_a_day_the_exchange_is_closed():
    assert phase(t(10, 0), trading_day=False) is Phase.CLOSED


@pytest.mark.parametrize(
    "clock, refusal",
    [
        (t(9, 19, 59), None),
        (t(9, 20), "no_cancel_window"),
        (t(9, 24, 59), "no_cancel_window"),
        (t(9, 27), "cancel_closed"),
        (t(10, 0), None),
        (t(14, 56, 59), None),
        (t(14, 57), "no_cancel_window"),
        (t(15, 1), "cancel_closed"),
    ],
)
def test_cancels_outside_the_no_cancel_windows(clock, refusal):
    assert cancel_refusal(clock, trading_day=True) == refusal
