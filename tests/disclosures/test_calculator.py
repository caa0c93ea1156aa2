"""Interest at rate ÷ 360, fees per trade, effective annual rate over 365 days."""

from decimal import Decimal as D

import pytest

from disclosures import calculator


def test_interest_is_amount_times_rate_times_days_over_360_rounded_to_the_fen():
    assert calculator.interest(amount=D("100000.00"), annual_rate=D("0.0835"), days=30) == D(
        "695.83"
    )
    assert calculator.daily_interest(amount=D("100000.00"), annual_rate=D("0.0835")) == D("23.19")


def test_penalty_is_daily_rate_times_days():
    assert calculator.penalty(overdue=D("10000.00"), daily_rate=D("0.0005"), days=3) == D("15.00")


def test_financing_cost_adds_the_fee_on_the_purchase_and_on_the_sale():
    cost = calculator.financing_cost(
        amount=D("100000.00"), days=30, annual_rate=D("0.0835"), trade_fee_rate=D("0.0003")
    )
    assert (cost.interest, cost.trade_fees, cost.total) == (D("695.83"), D("60.00"), D("755.83"))
    # 755.83 / 100,000 × 365 / 30 = 9.1959…%
    assert cost.effective_annual_rate == D("0.091959")
    assert cost.effective_annual_percent == D("9.20")


def test_interest_alone_is_a_little_above_the_quoted_rate_over_a_365_day_year():
    cost = calculator.financing_cost(
        amount=D("360000.00"), days=360, annual_rate=D("0.0835"), trade_fee_rate=D(0)
    )
    assert cost.interest == D("30060.00")
    assert cost.effective_annual_percent == D("8.47")


@pytest.mark.parametrize(("amount", "days"), [(D("0"), 30), (D("1.00"), 0), (D("1.00"), 367)])
def test_out_of_range_input_is_refused(amount, days):
    with pytest.raises(ValueError):
        calculator.financing_cost(
            amount=amount, days=days, annual_rate=D("0.08"), trade_fee_rate=D(0)
        )
