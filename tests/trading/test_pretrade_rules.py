"""The pre-trade check on fixed snapshots: every rule with worked numbers, no database.

Costs are the demo fee schedule's: trade service fee 0.03% with a 5.00 minimum per order,
stamp duty 0.05% on sales, transfer fee 0.001% both ways.
"""

import datetime
from dataclasses import replace
from decimal import Decimal as D

import pytest
from django.utils import translation

from trading import costs
from trading.pretrade import InstrumentFacts, OrderRequest, Snapshot, evaluate
from trading.rules import Phase

AT = datetime.datetime(2026, 12, 3, 2, 0, tzinfo=datetime.UTC)  # 10:00 Beijing, a Thursday


def item(code, kind, value, pk):
    return costs.Item(code, kind, D(value), code, code, pk, 7, f"fee_schedule v1 {code}")


SCHEDULE = costs.Schedule(
    (
        item("trade_service_fee", costs.TRADE_FEE, "0.000300", 1),
        item("trade_service_fee_minimum", costs.TRADE_FEE_MINIMUM, "5.00", 2),
        item("stamp_duty", costs.SELL_FEE, "0.000500", 3),
        item("transfer_fee", costs.TRADE_LEVY, "0.000010", 4),
    )
)


def facts(code="600036.SH", close="36.00", board="main", is_st=False, **overrides):
    from margin.rules import price_limits

    values = dict(
        code=code,
        instrument_id=1,
        board=board,
        is_st=is_st,
        band=price_limits(previous_close=D(close), board=board, is_st=is_st),
        price=D(close),
        suspended=False,
        high_risk=False,
        collateral_rate=D("1.0000"),
    )
    values.update(overrides)
    return InstrumentFacts(**values)


def snapshot(**overrides):
    values = dict(
        at=AT,
        phase=Phase.CONTINUOUS,
        cash=D("100000.00"),
        debt=D("0.00"),
        accrued_interest=D("0.00"),
        fees_owed=D("0.00"),
        credit_limit=D("1000000.00"),
        new_buy_line=D("1.5000"),
        concentration_limit=D("0.3000"),
        holdings={},
        instrument=facts(),
        schedule=SCHEDULE,
    )
    values.update(overrides)
    return Snapshot(**values)


def buy(quantity, price="36.00", kind="limit", code="600036.SH"):
    return OrderRequest("buy", kind, code, quantity, D(price) if price else None)


def sell(quantity, price="36.00", kind="limit", code="600036.SH"):
    return OrderRequest("sell", kind, code, quantity, D(price) if price else None)


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


# --- costs ---------------------------------------------------------------------------------------


def test_a_buy_pays_the_trade_fee_and_the_transfer_fee_each_naming_its_item():
    check = evaluate(snapshot(instrument=facts(close="40.00")), buy(1000, "40.00"))
    # 1,000 × 40.00 = 40,000: fee 0.03% = 12.00, transfer fee 0.001% = 0.40; no stamp duty.
    assert [(c.code, c.amount) for c in check.costs] == [
        ("trade_service_fee", D("12.00")),
        ("transfer_fee", D("0.40")),
    ]
    assert check.costs[0].reference == "fee_schedule v1 trade_service_fee"
    assert check.cost_total == D("12.40")
    assert check.cash_used == D("40012.40") and check.financed == 0


def test_a_small_order_pays_the_minimum_fee_named_as_the_minimum_item():
    check = evaluate(snapshot(instrument=facts(close="10.00")), buy(100, "10.00"))
    # 1,000 × 0.03% = 0.30 < 5.00: the minimum applies; transfer fee 0.01.
    assert [(c.code, c.amount, c.minimum_applied) for c in check.costs] == [
        ("trade_service_fee_minimum", D("5.00"), True),
        ("transfer_fee", D("0.01"), False),
    ]


def test_a_sale_also_pays_stamp_duty():
    s = snapshot(
        holdings={"600036.SH": (1000, D("40.00"), D("1"))}, instrument=facts(close="40.00")
    )
    check = evaluate(s, sell(1000, "40.00"))
    assert [(c.code, c.amount) for c in check.costs] == [
        ("trade_service_fee", D("12.00")),
        ("stamp_duty", D("20.00")),
        ("transfer_fee", D("0.40")),
    ]
    assert check.ok


# --- ratio, buying power, concentration ----------------------------------------------------------


def test_a_financed_buy_shows_the_ratio_now_and_after():
    # Cash 0, debt 100,000, 12,000 × 26.00 of 000001.SZ = 312,000: ratio 312%.
    s = snapshot(
        cash=D("0.00"), debt=D("100000.00"), holdings={"000001.SZ": (12000, D("26.00"), D("1"))}
    )
    check = evaluate(s, buy(1200, "36.00"))
    # 43,200 + costs 12.96 + 0.43 = 43,213.39, all financed: 355,200 / 143,213.39 = 248%.
    assert check.ratio_now == D("3.1200")
    assert check.financed == D("43213.39") and check.cash_used == 0
    assert check.ratio_after == D("2.4802")
    assert check.buying_power == D("900000.00")  # unused credit: 1,000,000 − 100,000
    assert check.ok


def test_a_buy_that_takes_the_ratio_below_the_new_buy_line_is_refused():
    s = snapshot(
        cash=D("0.00"), debt=D("100000.00"), holdings={"000001.SZ": (8000, D("20.00"), D("1"))}
    )
    # 600 × 36 = 21,600 + 6.70 financed: 181,600 / 121,606.70 = 149.34% < 150%.
    refused = evaluate(s, buy(600))
    assert refused.codes == ["ratio_after"]
    assert "149%" in refused.refusals[0].message and "150%" in refused.refusals[0].message
    # 500 × 36 = 18,000 + 5.58: 178,000 / 118,005.58 = 150.84%: allowed.
    allowed = evaluate(s, buy(500))
    assert allowed.ratio_after == D("1.5084") and allowed.ok


def test_buying_power_is_cash_plus_unused_credit_less_open_buys():
    s = snapshot(
        cash=D("10000.00"),
        credit_limit=D("0.00"),
        holdings={"000001.SZ": (5000, D("20.00"), D("1"))},
    )
    # 300 × 36 = 10,800 + 5.00 minimum + 0.11 transfer fee = 10,805.11 > 10,000.
    check = evaluate(s, buy(300))
    assert check.codes == ["buying_power"]
    assert "10,805.11" in check.refusals[0].message and "10,000.00" in check.refusals[0].message
    assert evaluate(s, buy(200)).ok  # 7,200 + 5.07
    held_back = replace(s, reserved_for_buys=D("5000.00"))
    assert evaluate(held_back, buy(200)).codes == ["buying_power"]


def test_the_position_may_not_pass_the_concentration_limit_after_the_buy():
    s = snapshot(holdings={"000001.SZ": (10000, D("20.00"), D("1"))})  # cash 100,000: 300,000
    # 2,600 × 36 = 93,600 of 299,970.98 after costs: 31.2% > 30%.
    over = evaluate(s, buy(2600))
    assert over.codes == ["concentration"]
    assert "31.2%" in over.refusals[0].message and "30%" in over.refusals[0].message
    # 2,400 × 36 = 86,400 of 299,973.22: 28.8%.
    assert evaluate(s, buy(2400)).ok
    assert evaluate(s, buy(2400)).share_after == D("0.2880")


# --- sessions ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "phase, limit_ok, market_ok",
    [
        (Phase.CLOSED, False, False),
        (Phase.OPENING_AUCTION, True, False),
        (Phase.PRE_OPEN, False, False),
        (Phase.CONTINUOUS, True, True),
        (Phase.LUNCH, False, False),
        (Phase.CLOSING_AUCTION, True, False),
    ],
)
def test_orders_only_in_sessions_and_market_orders_only_in_continuous_trading(
    phase, limit_ok, market_ok
):
    s = snapshot(phase=phase)
    assert evaluate(s, buy(100)).ok is limit_ok
    assert evaluate(s, buy(100, None, kind="market")).ok is market_ok


def test_a_market_buy_is_a_limit_at_limit_up_and_a_market_sell_at_limit_down():
    s = snapshot(holdings={"600036.SH": (1000, D("36.00"), D("1"))})
    assert evaluate(s, buy(100, None, kind="market")).price == D("39.60")
    assert evaluate(s, sell(100, None, kind="market")).price == D("32.40")


# --- tick and band -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "price, code",
    [
        ("36.005", "price_off_tick"),
        ("0", "price_not_positive"),
        ("-1.00", "price_not_positive"),
        ("39.61", "price_outside_band"),
        ("32.39", "price_outside_band"),
        ("39.60", None),
        ("32.40", None),
    ],
)
def test_the_price_is_on_the_tick_and_inside_the_main_board_band(price, code):
    check = evaluate(snapshot(), buy(100, price))
    assert check.codes == ([code] if code else [])


def test_bands_by_board_st_five_star_and_chinext_twenty():
    st = snapshot(instrument=facts(is_st=True))  # 36.00 ± 5%: 34.20 – 37.80
    assert evaluate(st, buy(100, "37.80")).ok
    assert evaluate(st, buy(100, "37.81")).codes == ["price_outside_band"]
    assert "±5%" in evaluate(st, buy(100, "37.81")).refusals[0].message
    star = snapshot(instrument=facts(code="688981.SH", close="50.00", board="star"))
    assert evaluate(star, buy(200, "60.00", code="688981.SH")).ok  # 50 ± 20%: 40 – 60
    assert evaluate(star, buy(200, "60.01", code="688981.SH")).codes == ["price_outside_band"]
    chinext = snapshot(instrument=facts(code="300750.SZ", close="200.00", board="chinext"))
    assert evaluate(chinext, buy(100, "160.00", code="300750.SZ")).ok
    assert evaluate(chinext, buy(100, "159.99", code="300750.SZ")).codes == ["price_outside_band"]


# --- lots ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "quantity, code", [(100, None), (150, "buy_lot"), (0, "quantity_not_positive"),
                       (-100, "quantity_not_positive"), (1_000_100, "quantity_too_large")]
)  # fmt: skip
def test_main_board_buys_are_in_lots_of_100(quantity, code):
    s = snapshot(cash=D("1000000000.00"))
    assert evaluate(s, buy(quantity, "36.00")).codes == ([code] if code else [])


@pytest.mark.parametrize("quantity, ok", [(199, False), (200, True), (201, True), (100_001, False)])
def test_star_buys_are_at_least_200_then_steps_of_one(quantity, ok):
    s = snapshot(
        cash=D("100000000.00"), instrument=facts(code="688981.SH", close="50.00", board="star")
    )
    assert evaluate(s, buy(quantity, "50.00", code="688981.SH")).ok is ok


@pytest.mark.parametrize(
    "quantity, ok", [(150, True), (250, True), (200, True), (120, False), (50, True)]
)
def test_an_odd_lot_is_sold_whole(quantity, ok):
    s = snapshot(holdings={"600036.SH": (250, D("36.00"), D("1"))})
    check = evaluate(s, sell(quantity))
    assert check.ok is ok
    if not ok:
        assert check.codes == ["odd_lot"] and "50" in check.refusals[0].message


def test_a_star_holding_under_200_is_sold_whole():
    s = snapshot(
        holdings={"688981.SH": (150, D("50.00"), D("1"))},
        instrument=facts(code="688981.SH", close="50.00", board="star"),
    )
    assert evaluate(s, sell(150, "50.00", code="688981.SH")).ok
    assert evaluate(s, sell(100, "50.00", code="688981.SH")).codes == ["star_sell_minimum"]


# --- T+1 -----------------------------------------------------------------------------------------


def test_shares_bought_today_cannot_be_sold_today():
    s = snapshot(holdings={"600036.SH": (1500, D("36.00"), D("1"))}, bought_today=1000)
    check = evaluate(s, sell(600))
    assert check.sellable == 500
    assert check.codes == ["t_plus_one"]
    assert "1000" in check.refusals[0].message and "500" in check.refusals[0].message
    assert evaluate(s, sell(500)).ok
    assert evaluate(s, sell(2000)).codes == ["not_held"]


def test_open_sell_orders_hold_shares_back():
    s = snapshot(holdings={"600036.SH": (1000, D("36.00"), D("1"))}, reserved_for_sale=600)
    assert evaluate(s, sell(400)).ok
    assert evaluate(s, sell(500)).codes == ["not_held"]


# --- restrictions, regime, suitability, gate, halts ----------------------------------------------


def test_an_account_restriction_refuses_buys_but_not_sales():
    s = snapshot(
        holdings={"600036.SH": (1000, D("36.00"), D("1"))},
        restriction="A margin call restricts your account to reducing positions.",
    )
    assert evaluate(s, buy(100)).codes == ["restricted"]
    assert evaluate(s, sell(100)).ok


def test_a_stressed_regime_pauses_buying_high_risk_stocks():
    risky = facts(high_risk=True)
    assert evaluate(snapshot(instrument=risky, regime="stressed"), buy(100)).codes == [
        "regime_pause"
    ]
    assert evaluate(snapshot(instrument=risky, regime="elevated"), buy(100)).ok
    assert evaluate(snapshot(regime="stressed"), buy(100)).ok


def test_suitability_and_gate_refusals_are_told_apart_and_do_not_stop_sales():
    above = snapshot(
        gate_refusal=("above_rating", "This product is one level above your rating."),
        holdings={"600036.SH": (1000, D("36.00"), D("1"))},
    )
    assert evaluate(above, buy(100)).codes == ["suitability"]
    assert evaluate(above, sell(100)).ok
    lapsed = snapshot(gate_refusal=("gate", "Complete the course first."))
    assert evaluate(lapsed, buy(100)).codes == ["gate"]


def test_suspended_and_halted_instruments_refuse_both_sides():
    held = {"600036.SH": (1000, D("36.00"), D("1"))}
    suspended = snapshot(holdings=held, instrument=facts(suspended=True))
    assert evaluate(suspended, sell(100)).codes == ["suspended"]
    halted = snapshot(holdings=held, halt="abnormal volume")
    assert evaluate(halted, buy(100)).codes == ["halted"]
    assert "abnormal volume" in evaluate(halted, sell(100)).refusals[0].message
    platform = snapshot(holdings=held, platform_halt="exchange outage")
    assert evaluate(platform, sell(100)).codes == ["platform_halted"]


def test_every_refusal_is_listed_at_once():
    check = evaluate(snapshot(phase=Phase.LUNCH, halt="review"), buy(150, "36.005"))
    assert check.codes == ["session_closed", "price_off_tick", "buy_lot", "halted"]


def test_an_unknown_code_is_refused_in_words():
    check = evaluate(snapshot(instrument=None), buy(100, code="999999.SH"))
    assert check.codes == ["unknown_instrument"] and "999999.SH" in check.refusals[0].message
