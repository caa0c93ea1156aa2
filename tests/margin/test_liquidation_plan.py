"""A liquidation plan sells the least market value that restores the warning line, after costs."""

import itertools
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from margin import rules
from margin.liquidation import NO_COSTS, Sellable, SellCosts, largest_first, plan_sales

# The demo fee schedule's selling costs: trade service fee 0.03% (at least ¥5 an order), stamp
# duty 0.05% on sales, transfer fee 0.001%.
FEES = SellCosts(
    commission_rate=D("0.0003"),
    commission_minimum=D("5.00"),
    stamp_duty_rate=D("0.0005"),
    transfer_fee_rate=D("0.00001"),
)


def _holding(code, quantity, price, limit_down="0.01", **kwargs):
    return Sellable(
        code=code, quantity=quantity, price=D(price), limit_down=D(limit_down), **kwargs
    )


def _ratio_after(cash, liabilities, holdings, plan):
    sold = {s.code: s.quantity for s in plan.sales}
    counted = rules.collateral_value(
        (h.quantity - sold.get(h.code, 0), h.price, h.collateral_rate) for h in holdings
    )
    repaid = min(plan.net_proceeds, D(liabilities))
    return rules.maintenance_ratio(
        assets=D(cash) + plan.net_proceeds - repaid + counted,
        liabilities=D(liabilities) - repaid,
    )


# --- the worked example --------------------------------------------------------------------------
#
# ¥1,000,000 owed, no cash; 1,609 shares at ¥699.93 (¥1,126,187.37) and 5,000 at ¥12.79
# (¥63,950.00): the ratio is 119.01%, under the liquidation line. Without costs the warning line
# needs ¥619,725.26 of sales.

LIABILITIES = D("1000000.00")
BOOK = [_holding("600519.SH", 1609, "699.93"), _holding("601398.SH", 5000, "12.79")]


def test_the_old_rule_sold_629937_by_taking_the_largest_position_first():
    # 619,725.26 ÷ 69,993 a lot = 8.85 → 9 lots of the largest position.
    assert largest_first(cash=D("0.00"), liabilities=LIABILITIES, holdings=BOOK) == [
        ("600519.SH", 900)
    ]
    assert rules.market_value([(900, D("699.93"))]) == D("629937.00")


def test_without_costs_620057_was_enough_eight_lots_and_forty_seven_lots():
    plan = plan_sales(cash=D("0.00"), liabilities=LIABILITIES, holdings=BOOK, costs=NO_COSTS)
    assert [(s.code, s.quantity) for s in plan.sales] == [("600519.SH", 800), ("601398.SH", 4700)]
    assert plan.proceeds == D("620057.00")  # 559,944 + 60,113
    assert plan.exact and plan.least_possible == D("620057.00")
    assert plan.ratio_after == D("1.5004")


def test_620057_less_the_selling_costs_would_end_below_150_percent():
    sold = [_holding("600519.SH", 800, "699.93"), _holding("601398.SH", 4700, "12.79")]
    costs = sum((FEES.of(s.quantity * s.price).total for s in sold), D("0.00"))
    assert costs == D("502.24")  # 167.98 + 279.97 + 5.60 on 559,944; 18.03 + 30.06 + 0.60
    net = D("620057.00") - costs
    ratio = rules.maintenance_ratio(
        assets=D("1190137.37") - D("620057.00"), liabilities=LIABILITIES - net
    )
    assert ratio == D("1.4985")


def test_with_the_fee_schedules_costs_the_plan_sells_the_least_that_still_restores_150():
    plan = plan_sales(cash=D("0.00"), liabilities=LIABILITIES, holdings=BOOK, costs=FEES)
    assert [(s.code, s.quantity) for s in plan.sales] == [("600519.SH", 800), ("601398.SH", 4800)]
    assert plan.proceeds == D("621336.00")  # 559,944 + 61,392
    assert plan.costs == D("503.28")
    assert plan.ratio_after == D("1.5001") == _ratio_after("0.00", LIABILITIES, BOOK, plan)
    assert plan.exact and plan.least_possible == plan.proceeds
    # One lot less of either no longer restores it.
    for fewer in ((700, 4800), (800, 4700)):
        assert not _restores(D("0.00"), LIABILITIES, BOOK, fewer, FEES)[0]


def test_the_plan_explains_each_position_to_the_officer_and_the_client():
    plan = plan_sales(
        cash=D("0.00"),
        liabilities=LIABILITIES,
        holdings=[*BOOK, _holding("000002.SZ", 5000, "6.12", limit_down="6.12")],
        costs=FEES,
    )
    rows = {row["code"]: row for row in plan.considered}
    assert rows["600519.SH"]["action"] == "sell" and rows["600519.SH"]["quantity"] == 800
    assert rows["600519.SH"]["stamp_duty"] == "279.97"
    assert rows["000002.SZ"] == rows["000002.SZ"] | {"action": "skip", "why": "limit_down"}


# --- what can be sold, and how --------------------------------------------------------------------


def test_positions_at_limit_down_or_suspended_are_left_out():
    # 174,550 of assets on 140,000 (124.68%): selling all that can be sold reaches 135.29%.
    plan = plan_sales(
        cash=D("0.00"),
        liabilities=D("140000.00"),
        holdings=[
            _holding("000002.SZ", 20000, "6.12", limit_down="6.12"),
            _holding("600000.SH", 1000, "10.05", suspended=True),
            _holding("600036.SH", 1000, "42.10"),
        ],
    )
    assert plan.skipped == ["000002.SZ", "600000.SH"]
    assert [(s.code, s.quantity) for s in plan.sales] == [("600036.SH", 1000)]
    assert not plan.sufficient  # the officer sees the plan falls short
    assert plan.ratio_after == D("1.3529")


def test_when_selling_everything_cannot_cure_the_plan_sells_all_it_can_and_says_so():
    plan = plan_sales(
        cash=D("0.00"),
        liabilities=D("100000.00"),
        holdings=[_holding("600036.SH", 2300, "42.10")],  # 96,830: under 100%, insolvent
    )
    assert plan.needed is None
    assert [(s.code, s.quantity) for s in plan.sales] == [("600036.SH", 2300)]
    assert not plan.sufficient


def test_an_odd_lot_is_sold_only_together_with_the_whole_position():
    # 105,000 on 104,000: 102,000 of sales are needed; 10 lots are not enough, the whole 1,050 is.
    plan = plan_sales(
        cash=D("0.00"), liabilities=D("104000.00"), holdings=[_holding("600036.SH", 1050, "100.00")]
    )
    assert [(s.code, s.quantity) for s in plan.sales] == [("600036.SH", 1050)]


def test_star_market_orders_are_at_least_200_shares_then_any_number():
    # 688981.SH: 2,000 shares at 88.00 = 176,000 on 140,000 owed (125.71%). The cure needs
    # 68,000 of sales: 772.72… shares, so 773 — not 800 as whole lots would have it.
    plan = plan_sales(
        cash=D("0.00"), liabilities=D("140000.00"), holdings=[_holding("688981.SH", 2000, "88.00")]
    )
    assert [(s.code, s.quantity) for s in plan.sales] == [("688981.SH", 773)]
    small = plan_sales(
        cash=D("0.00"), liabilities=D("1100.00"), holdings=[_holding("688981.SH", 150, "10.00")]
    )
    assert [(s.code, s.quantity) for s in small.sales] == [("688981.SH", 150)]  # under 200: all


def test_a_position_counting_for_less_toward_the_ratio_is_sold_first():
    # Selling ¥1 of a position counted at 0% repays ¥1 of debt and takes nothing from the assets,
    # so it restores the ratio three times as fast as a fully counted one.
    holdings = [
        _holding("600519.SH", 100, "1500.00"),
        _holding("600000.SH", 5000, "10.00", collateral_rate=D("0")),
    ]
    plan = plan_sales(cash=D("0.00"), liabilities=D("120000.00"), holdings=holdings)
    assert [s.code for s in plan.sales] == ["600000.SH"]
    assert plan.considered[0]["why"] == "counts_less"


def test_the_search_has_a_budget_and_then_reports_how_far_from_the_least_it_can_be():
    # Eight positions of equal efficiency: more combinations than the budget can try.
    holdings = [_holding(f"60{n:04d}.SH", 5000, f"{10 + n}.{n:02d}") for n in range(1, 9)]
    plan = plan_sales(cash=D("0.00"), liabilities=D("450000.00"), holdings=holdings, costs=FEES)
    assert plan.sufficient and not plan.exact
    assert plan.ratio_after >= D("1.5")
    # No plan can sell less than least_possible; this one is within a few yuan of it, far less
    # than one lot of the cheapest position (¥5,505).
    assert plan.least_possible <= plan.proceeds <= plan.least_possible + D("20.00")


def test_a_few_positions_are_searched_exhaustively():
    holdings = [_holding(f"60{n:04d}.SH", 5000, f"{10 + n}.{n:02d}") for n in range(1, 5)]
    value = sum((h.quantity * h.price for h in holdings), D(0))
    plan = plan_sales(
        cash=D("0.00"),
        liabilities=(value / D("1.29")).quantize(D("0.01")),
        holdings=holdings,
        costs=FEES,
    )
    assert plan.exact and plan.least_possible == plan.proceeds


# --- the least, checked against every possible plan -----------------------------------------------


def _sizes(h):
    if h.code.startswith("688"):
        return [0, *range(200, h.quantity + 1)] if h.quantity >= 200 else [0, h.quantity]
    return sorted({0, *range(100, h.quantity + 1, 100), h.quantity})


def _restores(cash, liabilities, holdings, quantities, costs):
    sold = [
        _holding(h.code, q, h.price, collateral_rate=h.collateral_rate)
        for h, q in zip(holdings, quantities, strict=True)
        if q
    ]
    proceeds = sum((s.quantity * s.price for s in sold), D("0.00"))
    net = proceeds - sum((costs.of(s.quantity * s.price).total for s in sold), D("0.00"))
    counted = rules.collateral_value(
        (h.quantity - q, h.price, h.collateral_rate)
        for h, q in zip(holdings, quantities, strict=True)
    )
    repaid = min(net, liabilities)
    ratio = rules.maintenance_ratio(
        assets=cash + net - repaid + counted, liabilities=liabilities - repaid
    )
    return ratio is None or ratio >= D("1.5"), proceeds


_position = st.tuples(
    st.sampled_from(["600036.SH", "000001.SZ", "688111.SH", "300750.SZ"]),
    st.integers(min_value=1, max_value=900),
    st.integers(min_value=100, max_value=9000),
    st.sampled_from([D("1"), D("1"), D("0.5"), D("0")]),
)


# Derandomized: CI runs the same examples every time (a random one that fails is a finding to
# pin as its own worked example, not a flake).
@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    positions=st.lists(_position, min_size=1, max_size=3, unique_by=lambda p: p[0]),
    cash=st.integers(min_value=0, max_value=50_000_00),
    ratio_bp=st.integers(min_value=9_000, max_value=14_900),
)
def test_the_plan_is_the_least_of_all_possible_plans(positions, cash, ratio_bp):
    holdings = [
        _holding(code, quantity, D(price) / 100, collateral_rate=rate)
        for code, quantity, price, rate in positions
    ]
    cash = D(cash) / 100
    counted = rules.collateral_value((h.quantity, h.price, h.collateral_rate) for h in holdings)
    liabilities = ((cash + counted) * 10_000 / ratio_bp).quantize(D("0.01")) + D("1.00")
    plan = plan_sales(cash=cash, liabilities=liabilities, holdings=holdings, costs=FEES)
    best = None
    for quantities in itertools.product(*(_sizes(h) for h in holdings)):
        ok, proceeds = _restores(cash, liabilities, holdings, quantities, FEES)
        if ok and (best is None or proceeds < best):
            best = proceeds
    if best is None:
        assert not plan.sufficient
    else:
        assert plan.sufficient and plan.exact
        assert plan.proceeds == best
        after = _ratio_after(cash, liabilities, holdings, plan)
        assert after is None or after >= D("1.5")


# --- a counterexample the property test found, as a worked example -------------------------------
#
# ¥12,068.49 cash and ¥71,009.07 owed; 799 STAR shares (688111.SH) at ¥43.52, 323 of 600036.SH at
# ¥48.32 and 861 of 300750.SZ at ¥32.11: 126.88%. The search takes 600036.SH first (its lots are
# the coarsest), and once its smaller orders could no longer beat the best plan it stopped, never
# trying to sell none of it; but an order of 600036.SH pays at least the ¥5 trade fee, which
# selling none of it saves. It sold 609 + 200 shares (STAR, 300750.SZ) for ¥32,925.68; the least
# is 240 + 700 shares without 600036.SH: ¥32,921.80, which every possible plan confirms.

COUNTER_BOOK = [
    _holding("688111.SH", 799, "43.52"),
    _holding("600036.SH", 323, "48.32"),
    _holding("300750.SZ", 861, "32.11"),
]


def test_the_least_plan_sells_240_star_shares_and_700_of_300750_for_32921_80():
    cash, liabilities = D("12068.49"), D("71009.07")
    plan = plan_sales(cash=cash, liabilities=liabilities, holdings=COUNTER_BOOK, costs=FEES)
    assert [(s.code, s.quantity) for s in plan.sales] == [("688111.SH", 240), ("300750.SZ", 700)]
    assert plan.proceeds == D("32921.80") and plan.exact
    assert _ratio_after(cash, liabilities, COUNTER_BOOK, plan) >= D("1.5")
    best = min(
        proceeds
        for quantities in itertools.product(*(_sizes(h) for h in COUNTER_BOOK))
        for ok, proceeds in [_restores(cash, liabilities, COUNTER_BOOK, quantities, FEES)]
        if ok
    )
    assert best == D("32921.80")
