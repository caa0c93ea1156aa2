"""A-share codes, boards and the daily price-limit band."""

from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError

from margin.rules import Board, board_for_code, price_limit_rate, price_limits


@pytest.mark.parametrize(
    ("code", "board"),
    [
        ("600519.SH", Board.MAIN),
        ("601318.SH", Board.MAIN),
        ("603288.SH", Board.MAIN),
        ("605499.SH", Board.MAIN),
        ("688981.SH", Board.STAR),
        ("689009.SH", Board.STAR),
        ("000001.SZ", Board.MAIN),
        ("001979.SZ", Board.MAIN),
        ("002594.SZ", Board.MAIN),
        ("003816.SZ", Board.MAIN),
        ("300750.SZ", Board.CHINEXT),
        ("301236.SZ", Board.CHINEXT),
        ("302132.SZ", Board.CHINEXT),
    ],
)
def test_a_share_codes_name_their_board(code, board):
    assert board_for_code(code) == board


@pytest.mark.parametrize(
    "code",
    [
        "600519",  # no exchange
        "600519.SZ",  # Shanghai code on Shenzhen
        "000001.SH",  # the SSE Composite index, not a share
        "510300.SH",  # an ETF
        "159915.SZ",  # an ETF
        "900901.SH",  # a B share
        "200002.SZ",  # a B share
        "430047.BJ",  # Beijing is not covered
        "60051.SH",
        "600519.sh",
        " 600519.SH",
        "",
    ],
)
def test_anything_but_an_a_share_stock_code_is_refused(code):
    with pytest.raises(ValidationError) as caught:
        board_for_code(code)
    assert caught.value.code == "invalid_instrument_code"


@pytest.mark.parametrize(
    ("board", "is_st", "rate"),
    [
        (Board.MAIN, False, D("0.10")),
        (Board.CHINEXT, False, D("0.20")),
        (Board.STAR, False, D("0.20")),
        (Board.MAIN, True, D("0.05")),
        # ST shares on ChiNext and STAR keep their board's ±20% (exchange rules since 2020 / 2019).
        (Board.CHINEXT, True, D("0.20")),
        (Board.STAR, True, D("0.20")),
    ],
)
def test_daily_price_limit_by_board(board, is_st, rate):
    assert price_limit_rate(board=board, is_st=is_st) == rate


def test_limit_band_of_a_main_board_share():
    assert price_limits(previous_close=D("1500.00"), board=Board.MAIN, is_st=False) == (
        D("1350.00"),
        D("1650.00"),
    )


def test_limit_prices_round_half_up_to_the_fen_as_the_exchanges_do():
    # 10.05 × 1.1 = 11.055 → 11.06; 10.05 × 0.9 = 9.045 → 9.05
    assert price_limits(previous_close=D("10.05"), board=Board.MAIN, is_st=False) == (
        D("9.05"),
        D("11.06"),
    )


def test_limit_band_of_a_chinext_share():
    assert price_limits(previous_close=D("250.55"), board=Board.CHINEXT, is_st=False) == (
        D("200.44"),
        D("300.66"),
    )


def test_limit_band_of_a_main_board_st_share():
    # 3.33 × 0.95 = 3.1635 → 3.16; 3.33 × 1.05 = 3.4965 → 3.50
    assert price_limits(previous_close=D("3.33"), board=Board.MAIN, is_st=True) == (
        D("3.16"),
        D("3.50"),
    )


def test_a_previous_close_that_is_not_a_positive_price_is_refused():
    with pytest.raises(ValueError):
        price_limits(previous_close=D("0"), board=Board.MAIN, is_st=False)
    with pytest.raises(ValueError):
        price_limits(previous_close=D("10.005"), board=Board.MAIN, is_st=False)
