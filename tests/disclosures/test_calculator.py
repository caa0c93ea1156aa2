"""The calculator quotes what the ledger charges: daily interest at rate ÷ 360, each day rounded."""

from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from disclosures import calculator
from funds.services import daily_charge


def test_thirty_days_at_tier_2_is_thirty_daily_charges_not_one_rounding_of_the_period():
    # One day: 100,000 × 8.35% ÷ 360 = 23.1944… → 23.19; 30 days are charged 30 × 23.19.
    # Rounding the whole period once would quote 695.83, 13 fen more than the ledger charges.
    cost = calculator.financing_cost(amount=D("100000.00"), days=30, annual_rate=D("0.0835"))
    assert cost.daily_interest == D("23.19")
    assert cost.interest == cost.total == D("695.70")
    assert cost.interest == sum(
        (daily_charge(D("100000.00"), D("0.0835")) for _ in range(30)), D(0)
    )


def test_penalty_is_charged_daily_at_the_daily_rate():
    assert calculator.penalty(overdue=D("10000.00"), daily_rate=D("0.0005"), days=3) == D("15.00")
    # 3,333.33 × 0.05% = 1.666… → 1.67 a day, 5.01 for three days (not 5.00)
    assert calculator.penalty(overdue=D("3333.33"), daily_rate=D("0.0005"), days=3) == D("5.01")


def test_the_trade_service_fee_is_shown_per_trade_and_never_added_to_the_cost_of_financing():
    cost = calculator.financing_cost(
        amount=D("100000.00"), days=30, annual_rate=D("0.0835"), trade_fee_rate=D("0.0003")
    )
    assert cost.total == cost.interest == D("695.70")
    assert cost.trade_fee_per_trade == D("30.00")


def test_the_simple_effective_rate_is_interest_over_amount_times_365_over_days():
    cost = calculator.financing_cost(amount=D("100000.00"), days=30, annual_rate=D("0.0835"))
    # 695.70 ÷ 100,000 × 365 ÷ 30 = 0.0846435
    assert cost.simple_annual_rate == D("0.084644")
    assert cost.simple_annual_percent == "8.46%"


def test_the_compounded_effective_rate_repeats_the_period_for_a_365_day_year():
    cost = calculator.financing_cost(amount=D("100000.00"), days=30, annual_rate=D("0.0835"))
    # (1 + 0.006957)^(365 ÷ 30) − 1 = 0.0880099…
    assert cost.compounded_annual_rate == D("0.088010")
    assert cost.compounded_annual_percent == "8.80%"


def test_over_a_whole_year_simple_and_compounded_agree():
    cost = calculator.financing_cost(amount=D("360000.00"), days=365, annual_rate=D("0.0835"))
    assert cost.interest == D("30477.50")  # 83.50 a day × 365
    assert cost.simple_annual_rate == cost.compounded_annual_rate == D("0.084660")


@pytest.mark.parametrize(
    ("amount", "days"), [(D("0"), 30), (D("1.00"), 0), (D("1.00"), 367), (D("1.001"), 3)]
)
def test_out_of_range_input_is_refused(amount, days):
    with pytest.raises(ValueError):
        calculator.financing_cost(amount=amount, days=days, annual_rate=D("0.08"))


@settings(max_examples=300, deadline=None)
@given(
    amount=st.integers(min_value=1, max_value=10_000_000_000).map(lambda fen: D(fen) / 100),
    rate=st.integers(min_value=1, max_value=250_000).map(lambda r: D(r) / 1_000_000),
    days=st.integers(min_value=1, max_value=calculator.MAX_DAYS),
)
def test_the_quote_is_the_sum_of_the_daily_charges_for_any_amount_rate_and_period(
    amount, rate, days
):
    quote = calculator.financing_cost(amount=amount, days=days, annual_rate=rate).total
    charges = [daily_charge(amount, rate) for _ in range(days)]
    assert quote == sum(charges, D("0.00"))
