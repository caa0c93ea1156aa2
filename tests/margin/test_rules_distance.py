"""How far prices can fall before a line: uniformly, and for one position alone."""

from decimal import Decimal as D

from margin.rules import Level, fall_to_line, level_for, line_price, maintenance_ratio

# An account worth 1,100,000 (cash 100,000 + positions 1,000,000) owing 600,000: ratio 1.8333.
CASH, MV, OWED = D("100000.00"), D("1000000.00"), D("600000.00")


def test_uniform_fall_follows_the_design_formula():
    # d = 1 − (L·liabilities − cash) / market value
    assert fall_to_line(line=D("1.50"), cash=CASH, market_value=MV, liabilities=OWED) == D("0.2000")
    assert fall_to_line(line=D("1.30"), cash=CASH, market_value=MV, liabilities=OWED) == D("0.3200")
    assert fall_to_line(line=D("1.20"), cash=CASH, market_value=MV, liabilities=OWED) == D("0.3800")


def test_after_that_fall_the_ratio_is_on_the_line():
    assets = CASH + MV * (1 - D("0.3200"))
    assert maintenance_ratio(assets=assets, liabilities=OWED) == D("1.3000")


def test_fall_is_rounded_down_so_the_client_is_never_shown_more_room_than_there_is():
    # Exactly 0.13333…: shown as 13.33%, and a 13.33% fall leaves the account just above the line.
    fall = fall_to_line(
        line=D("1.30"), cash=D("0"), market_value=D("300000"), liabilities=D("200000")
    )
    assert fall == D("0.1333")
    after = (D("300000") * (1 - fall)).quantize(D("0.01"))
    assert level_for(maintenance_ratio(assets=after, liabilities=D("200000"))) == Level.WARNING


def test_fall_is_zero_when_the_line_is_already_reached():
    assert fall_to_line(line=D("1.90"), cash=CASH, market_value=MV, liabilities=OWED) == D("0")


def test_fall_is_none_without_debt():
    assert fall_to_line(line=D("1.30"), cash=CASH, market_value=MV, liabilities=D("0")) is None


def test_fall_is_none_when_cash_alone_stays_above_the_line():
    assert fall_to_line(line=D("1.30"), cash=D("800000"), market_value=MV, liabilities=OWED) is None


def test_fall_is_the_whole_price_when_cash_alone_sits_exactly_on_the_line():
    assert fall_to_line(line=D("1.30"), cash=D("780000"), market_value=MV, liabilities=OWED) == D(
        "1.0000"
    )


def test_without_positions_prices_cannot_move_the_ratio():
    assert fall_to_line(line=D("1.30"), cash=CASH, market_value=D("0"), liabilities=D("10")) is None
    assert fall_to_line(
        line=D("1.30"), cash=D("10"), market_value=D("0"), liabilities=D("10")
    ) == D("0")


# --- per position ---------------------------------------------------------------------------------

# cash 100,000; 100 × 600519.SH at 1,500.00 and 10,000 × 000001.SZ at 12.00; owes 250,000 (1.48).
ASSETS, OWING = D("370000.00"), D("250000.00")


def test_price_at_which_one_position_alone_brings_the_call_line():
    price = line_price(
        line=D("1.30"), assets=ASSETS, liabilities=OWING, quantity=10_000, price=D("12.00")
    )
    assert price == D("7.50")


def test_at_that_price_the_account_is_in_call_and_one_fen_above_it_is_not():
    def level_at(price):
        assets = ASSETS - 10_000 * D("12.00") + 10_000 * price
        return level_for(maintenance_ratio(assets=assets, liabilities=OWING))

    assert level_at(D("7.50")) == Level.CALL
    assert level_at(D("7.51")) == Level.WARNING


def test_line_price_uses_the_ratio_as_shown():
    # Owing 1,000,000 with 1,299,000 cash and one share at 1,100: at 1,049.99 the ratio is
    # 1.30004999, shown as 130.00% and so a call; at 1,050.00 it is 1.30005, shown as 130.01%.
    price = line_price(
        line=D("1.30"),
        assets=D("1300100.00"),
        liabilities=D("1000000"),
        quantity=1,
        price=D("1100"),
    )
    assert price == D("1049.99")


def test_line_price_is_none_when_even_zero_would_not_reach_the_line():
    assert (
        line_price(
            line=D("1.30"), assets=ASSETS, liabilities=D("100000"), quantity=100, price=D("1500")
        )
        is None
    )


def test_line_price_is_none_without_debt():
    assert (
        line_price(line=D("1.30"), assets=ASSETS, liabilities=D("0"), quantity=1, price=D("1"))
        is None
    )


def test_line_price_is_the_current_price_when_the_line_is_already_reached():
    assert line_price(
        line=D("1.50"), assets=ASSETS, liabilities=OWING, quantity=10_000, price=D("12.00")
    ) == D("12.00")
