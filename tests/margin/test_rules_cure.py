"""The cure during a call, the withdrawable excess and the concentration limit."""

from decimal import Decimal as D

import pytest

from margin.rules import (
    Cure,
    Lines,
    concentration_breaches,
    cure,
    maintenance_ratio,
    withdrawable_cash,
)

# --- cure: deposit ¥X or sell positions worth ¥Y to restore ≥ 150% --------------------------------


def test_cure_for_an_account_at_125_percent():
    result = cure(assets=D("1250000"), liabilities=D("1000000"), market_value=D("1250000"))
    # deposit: 1.5·L − A; sell: (1.5·L − A) / 0.5
    assert result == Cure(deposit=D("250000.00"), sell=D("500000.00"))


def test_selling_the_amount_shown_and_repaying_restores_exactly_150_percent():
    result = cure(assets=D("1250000"), liabilities=D("1000000"), market_value=D("1250000"))
    after = maintenance_ratio(
        assets=D("1250000") - result.sell, liabilities=D("1000000") - result.sell
    )
    assert after == D("1.5000")


def _exact_ratio(assets, liabilities):
    return assets / liabilities


def test_amounts_are_rounded_up_to_the_fen_so_they_are_always_enough():
    assets, owed = D("1234567.89"), D("987654.33")
    result = cure(assets=assets, liabilities=owed, market_value=assets)
    assert result.deposit == D("246913.61")  # 246,913.605 rounded up
    assert _exact_ratio(assets + result.deposit, owed) >= D("1.5")
    assert _exact_ratio(assets + result.deposit - D("0.01"), owed) < D("1.5")
    assert _exact_ratio(assets - result.sell, owed - result.sell) >= D("1.5")
    sold_one_fen_less = result.sell - D("0.01")
    assert _exact_ratio(assets - sold_one_fen_less, owed - sold_one_fen_less) < D("1.5")


def test_selling_costs_raise_the_amount_to_sell():
    assets, owed, cost = D("1250000"), D("1000000"), D("0.001")
    result = cure(assets=assets, liabilities=owed, market_value=assets, sell_cost_rate=cost)
    # (1.5·L − A) / (1.5·(1 − c) − 1) = 250,000 / 0.4985
    assert result.sell == D("501504.52")
    repaid = result.sell * (1 - cost)
    assert _exact_ratio(assets - result.sell, owed - repaid) >= D("1.5")
    assert result.deposit == D("250000.00")


def test_an_insolvent_account_cannot_cure_by_selling():
    result = cure(assets=D("900000"), liabilities=D("1000000"), market_value=D("900000"))
    assert result == Cure(deposit=D("600000.00"), sell=None)


def test_a_cure_limited_by_what_the_account_holds():
    # Mostly cash: selling every position is not enough, a deposit is.
    result = cure(assets=D("1250000"), liabilities=D("1000000"), market_value=D("100000"))
    assert result.sell is None
    assert result.deposit == D("250000.00")


def test_an_account_already_at_the_target_needs_nothing():
    assert cure(assets=D("1500000"), liabilities=D("1000000"), market_value=D("1")) == Cure(
        deposit=D("0.00"), sell=D("0.00")
    )


def test_no_debt_needs_no_cure():
    assert cure(assets=D("0"), liabilities=D("0"), market_value=D("0")) == Cure(
        deposit=D("0.00"), sell=D("0.00")
    )


def test_cure_targets_the_contracts_own_warning_line():
    result = cure(
        assets=D("1250000"),
        liabilities=D("1000000"),
        market_value=D("1250000"),
        lines=Lines(warning=D("1.60")),
    )
    assert result.deposit == D("350000.00")
    assert result.sell == D("583333.34")  # 350,000 / 0.6 = 583,333.33… rounded up


# --- withdrawable excess above the 300% line ------------------------------------------------------


def test_excess_above_300_percent_may_be_withdrawn():
    amount = withdrawable_cash(cash=D("500000"), assets=D("3300000"), liabilities=D("1000000"))
    assert amount == D("300000.00")
    assert maintenance_ratio(assets=D("3300000") - amount, liabilities=D("1000000")) == D("3.0000")


def test_only_cash_can_be_withdrawn():
    assert withdrawable_cash(cash=D("100000"), assets=D("3600000"), liabilities=D("1000000")) == D(
        "100000.00"
    )


def test_nothing_may_be_withdrawn_at_or_below_300_percent():
    assert withdrawable_cash(cash=D("500000"), assets=D("3000000"), liabilities=D("1000000")) == D(
        "0.00"
    )
    assert withdrawable_cash(cash=D("500000"), assets=D("2000000"), liabilities=D("1000000")) == D(
        "0.00"
    )


def test_withdrawable_rounds_down_to_the_fen():
    # 3.0001 × 100,000.01 = 300,010.030001, so the excess over 300,020.00 is 9.969999 → 9.96
    amount = withdrawable_cash(
        cash=D("100"),
        assets=D("300020.00"),
        liabilities=D("100000.01"),
        lines=Lines(withdrawal=D("3.0001")),
    )
    assert amount == D("9.96")


def test_without_debt_all_cash_may_be_withdrawn():
    assert withdrawable_cash(cash=D("12.34"), assets=D("99999"), liabilities=D("0")) == D("12.34")


# --- concentration: at most 30% of assets in one position -----------------------------------------


def test_a_position_of_exactly_30_percent_is_within_the_limit():
    assert concentration_breaches(values={"600519.SH": D("300000")}, assets=D("1000000")) == []


def test_a_position_one_fen_over_30_percent_breaches_it():
    values = {"600519.SH": D("300000.01"), "000001.SZ": D("100000")}
    assert concentration_breaches(values=values, assets=D("1000000")) == ["600519.SH"]


def test_concentration_limit_is_data():
    values = {"600519.SH": D("250000")}
    assert concentration_breaches(values=values, assets=D("1000000"), limit=D("0.20")) == [
        "600519.SH"
    ]


def test_an_empty_account_breaches_nothing():
    assert concentration_breaches(values={}, assets=D("0")) == []


@pytest.mark.parametrize("limit", [D("0"), D("1.01")])
def test_a_concentration_limit_outside_0_to_1_is_refused(limit):
    with pytest.raises(ValueError):
        concentration_breaches(values={}, assets=D("1"), limit=limit)


# --- the amount to sell, after the fee schedule's selling costs -----------------------------------
#
# The demo schedule: trade service fee 0.03% (at least ¥5 an order), stamp duty 0.05%, transfer
# fee 0.001%; each rounded half-up to the fen as it is charged (margin.liquidation.SellCosts).


def _demo_costs():
    from margin.liquidation import SellCosts

    return SellCosts(
        commission_rate=D("0.0003"),
        commission_minimum=D("5.00"),
        stamp_duty_rate=D("0.0005"),
        transfer_fee_rate=D("0.00001"),
    )


def _after_the_sale(assets, owed, sell, costs):
    net = sell - costs.of(sell).total
    return (assets - sell) / (owed - net)


def test_at_140_percent_the_client_is_told_to_sell_20048_69_not_20000():
    costs = _demo_costs()
    assets, owed = D("140000.00"), D("100000.00")
    result = cure(assets=assets, liabilities=owed, market_value=assets, sell_costs=costs)
    # 10,000 ÷ (1.5 × (1 − 0.00081) − 1) = 10,000 ÷ 0.498785 = 20,048.717…; the costs as
    # charged are rounded to the fen (of 20,048.69: 6.01 + 10.02 + 0.20 = 16.23, not the
    # rate's 16.2394), and (140,000 − 20,048.69) ÷ (100,000 − 20,032.46) is 150% exactly.
    assert result.sell == D("20048.69")
    assert _after_the_sale(assets, owed, result.sell, costs) >= D("1.5")
    assert _after_the_sale(assets, owed, result.sell - D("0.01"), costs) < D("1.5")
    # Without the costs, 20,000 would leave the account under the line.
    assert _after_the_sale(assets, owed, D("20000.00"), costs) < D("1.5")


def test_a_small_sale_pays_the_minimum_fee_and_every_cost_as_charged():
    costs = _demo_costs()
    assets, owed = D("1400.00"), D("1000.00")
    result = cure(assets=assets, liabilities=owed, market_value=assets, sell_costs=costs)
    # The ¥5 minimum: (100 + 1.5 × 5) ÷ (1.5 × (1 − 0.00051) − 1) = 215.33; its costs as
    # charged: 5.00 + 0.11 (stamp duty 0.1077) + 0.00 = 5.11, and (1,400 − 215.33) ÷
    # (1,000 − 210.22) is 150% exactly. A fen less is under the line.
    assert result.sell == D("215.33")
    assert costs.of(result.sell).total == D("5.11")
    assert _after_the_sale(assets, owed, result.sell, costs) == D("1.5")
    assert _after_the_sale(assets, owed, D("215.32"), costs) < D("1.5")
    assert result.deposit == D("100.00")


def test_a_cure_asked_again_with_the_same_values_is_searched_once(monkeypatch):
    """A fall asks the cure of one account for its call, its notice and its status: the
    fen-by-fen search runs once; equal values spelled differently, or another schedule object
    with the same rates, are the same question; other rates are not."""
    from margin import rules

    searched = []
    original = rules._cure
    monkeypatch.setattr(rules, "_cure", lambda *a: searched.append(a) or original(*a))
    rules._CURES.clear()
    asked = dict(assets=D("141234.56"), liabilities=D("100000"), market_value=D("141234.56"))
    first = cure(**asked, sell_costs=_demo_costs())
    again = cure(
        assets=D("141234.560"),
        liabilities=D("100000.00"),
        market_value=D("141234.56"),
        lines=Lines(warning=D("1.5")),
        sell_costs=_demo_costs(),
    )
    assert again == first and len(searched) == 1
    assert cure(**asked) != first and len(searched) == 2  # no selling costs
    assert original(*searched[0]) == first


class _DecimalOnlyCosts:
    """A schedule that says its costs only in Decimals (no ``total_fen``): the cure searches the
    least sale as it always did, a fen at a time in Decimals."""

    def __init__(self, costs):
        self.costs = costs
        self.commission_rate = costs.commission_rate
        self.commission_minimum = costs.commission_minimum
        self.stamp_duty_rate = costs.stamp_duty_rate
        self.transfer_fee_rate = costs.transfer_fee_rate
        self.rate = costs.rate

    def of(self, value):
        return self.costs.of(value)


def test_the_search_in_whole_fen_finds_the_amount_the_decimal_search_finds():
    """The least sale searched in whole fen with the costs in integers (as a fall asks it of
    thousands of accounts) is, to the fen, the one the Decimal search finds: 3,000 accounts
    between the liquidation line and the warning line, small and large, with a minimum fee that
    binds and one that does not."""
    import random

    from margin import rules
    from margin.liquidation import SellCosts

    schedules = [
        _demo_costs(),
        SellCosts(
            commission_rate=D("0.00025"),
            commission_minimum=D("0.00"),
            stamp_duty_rate=D("0.001"),
            transfer_fee_rate=D("0.00002"),
        ),
        SellCosts(commission_rate=D("0.003"), commission_minimum=D("20.00")),
    ]
    draw = random.Random(20261206)
    for i in range(3000):
        costs = schedules[i % len(schedules)]
        owed = D(draw.randrange(10_000, 2_000_000_000)).scaleb(-2)
        assets = (owed * D(draw.randrange(10_500, 14_999)) / 10_000).quantize(D("0.01"))
        cash = (assets * D(draw.randrange(0, 30)) / 100).quantize(D("0.01"))
        asked = dict(assets=assets, liabilities=owed, market_value=assets - cash)
        rules._CURES.clear()
        in_fen = cure(**asked, sell_costs=costs)
        rules._CURES.clear()
        in_decimals = cure(**asked, sell_costs=_DecimalOnlyCosts(costs))
        assert in_fen == in_decimals, asked
        assert in_fen.sell is None or in_fen.sell.as_tuple().exponent == -2
