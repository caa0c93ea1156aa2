"""Which shares a liquidation plan sells: largest first, in board lots, never at limit-down."""

from decimal import Decimal as D

from margin.liquidation import Sellable, plan_sales


def _holding(code, quantity, price, limit_down="0.01"):
    return Sellable(code=code, quantity=quantity, price=D(price), limit_down=D(limit_down))


def test_the_plan_sells_the_largest_position_in_board_lots_until_the_cure_is_reached():
    # Assets 115,920 on 98,000 owed: selling 62,160 (repaying debt) restores 150%.
    plan = plan_sales(
        cash=D("1000.00"),
        liabilities=D("98000.00"),
        holdings=[
            _holding("000002.SZ", 5000, "6.12", limit_down="6.12"),
            _holding("600030.SH", 2400, "27.80"),
            _holding("601899.SH", 1000, "17.60"),
        ],
    )
    assert plan.needed == D("62160.00")
    assert [(s.code, s.quantity) for s in plan.sales] == [("600030.SH", 2300)]
    assert plan.proceeds == D("63940.00")
    assert plan.sufficient


def test_positions_locked_at_limit_down_are_left_out_of_the_plan():
    # 164,500 on 130,000 (126.54%): the cure needs 61,000 of sales, the biggest holding is locked.
    plan = plan_sales(
        cash=D("0.00"),
        liabilities=D("130000.00"),
        holdings=[
            _holding("000002.SZ", 20000, "6.12", limit_down="6.12"),
            _holding("600036.SH", 1000, "42.10"),
        ],
    )
    assert plan.skipped == ["000002.SZ"]
    assert [(s.code, s.quantity) for s in plan.sales] == [("600036.SH", 1000)]
    assert plan.needed == D("61000.00")
    assert not plan.sufficient  # the officer sees the plan falls short


def test_when_selling_everything_cannot_cure_the_plan_sells_all_it_can_and_says_so():
    plan = plan_sales(
        cash=D("0.00"),
        liabilities=D("100000.00"),
        holdings=[_holding("600036.SH", 2300, "42.10")],  # 96,830: under 100%, insolvent
    )
    assert plan.needed is None
    assert [(s.code, s.quantity) for s in plan.sales] == [("600036.SH", 2300)]
    assert not plan.sufficient


def test_an_odd_lot_is_sold_whole_when_the_plan_needs_all_of_it():
    # 105,000 on 104,000: the cure needs 102,000 of sales, 11 lots, more than the 10.5 held.
    plan = plan_sales(
        cash=D("0.00"),
        liabilities=D("104000.00"),
        holdings=[_holding("600036.SH", 1050, "100.00")],
    )
    assert plan.needed == D("102000.00")
    assert [(s.code, s.quantity) for s in plan.sales] == [("600036.SH", 1050)]
