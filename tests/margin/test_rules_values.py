"""Assets, liabilities and the maintenance ratio: money to the fen, ratios to 4 places."""

from decimal import Decimal as D

import pytest

from margin.rules import Level, level_for, maintenance_ratio, market_value, total_assets
from margin.rules import total_liabilities as liabilities


def test_total_assets_are_cash_plus_quantity_times_last_price():
    holdings = [(100, D("1500.00")), (10_000, D("12.34"))]
    assert market_value(holdings) == D("273400.00")
    assert total_assets(cash=D("100000.50"), holdings=holdings) == D("373400.50")


def test_an_account_without_positions_is_worth_its_cash():
    assert total_assets(cash=D("8.88"), holdings=[]) == D("8.88")


def test_liabilities_are_debt_plus_accrued_interest_plus_fees_owed():
    assert liabilities(debt=D("1000000"), accrued_interest=D("231.94"), fees_owed=D("5")) == D(
        "1000236.94"
    )


def test_money_with_more_than_two_places_is_refused():
    with pytest.raises(ValueError, match="fen"):
        liabilities(debt=D("1.001"), accrued_interest=D("0"), fees_owed=D("0"))


def test_a_price_with_more_than_two_places_is_refused():
    with pytest.raises(ValueError, match="fen"):
        market_value([(1, D("10.005"))])


def test_floats_are_refused_as_money():
    with pytest.raises(TypeError):
        total_assets(cash=1.5, holdings=[])  # type: ignore[arg-type]


def test_ratio_is_assets_over_liabilities_to_four_places():
    assert maintenance_ratio(assets=D("1100000"), liabilities=D("600000")) == D("1.8333")


def test_ratio_with_no_debt_is_none_meaning_infinite():
    assert maintenance_ratio(assets=D("500000"), liabilities=D("0")) is None


def test_ratio_rounds_half_up_at_the_fifth_place():
    assert maintenance_ratio(assets=D("130004.00"), liabilities=D("100000")) == D("1.3000")
    assert maintenance_ratio(assets=D("130005.00"), liabilities=D("100000")) == D("1.3001")


def test_level_is_decided_on_the_ratio_as_shown():
    # 1.30004 is shown as 130.00%, so it is a call; the badge never contradicts the number.
    shown = maintenance_ratio(assets=D("130004.00"), liabilities=D("100000"))
    assert level_for(shown) == Level.CALL
    shown = maintenance_ratio(assets=D("130005.00"), liabilities=D("100000"))
    assert level_for(shown) == Level.WARNING


def test_ratio_is_exact_for_large_accounts():
    # 2/3 of a large balance: ordinary 28-digit context would still be right here, and so must we.
    assert maintenance_ratio(assets=D("200000000000.00"), liabilities=D("300000000000.00")) == D(
        "0.6667"
    )
    assert maintenance_ratio(assets=D("0.00"), liabilities=D("1.00")) == D("0.0000")


def test_negative_liabilities_are_refused():
    with pytest.raises(ValueError):
        maintenance_ratio(assets=D("1"), liabilities=D("-1"))
