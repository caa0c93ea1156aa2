"""The reference scenarios, worked by hand: what clients pay and what binds them, before and after.

The demo fee schedule: tier 2 at 8.35% a year (charged daily at ÷ 360), a trade service fee of
0.03% on the financed buy and on the closing sell, penalty interest 0.05% a day, CNY 2.00 per
withdrawal. Interest is charged day by day, each day half-up to the fen, as accrual posts it.
"""

from dataclasses import replace
from decimal import Decimal as D

from disclosures import demo_content, rules, scenarios


def by_key(rows):
    return {row.key: row for row in rows}


FEES = demo_content.fee_items()
LINES = demo_content.contract_items()


def test_a_year_of_an_annual_rate_on_the_360_day_basis_costs_365_days_of_it():
    # 8.35% ÷ 360 × 365 = 8.4660% of the amount over a calendar year.
    assert rules.cost_per_year(D("0.0835"), rules.ANNUAL_360).quantize(D("0.000001")) == D(
        "0.084660"
    )


def test_a_daily_rate_of_three_hundredths_of_a_percent_is_10_95_percent_a_year():
    # Charged on every calendar day: 0.03% × 365. (× 360 = 10.8% is the annual rate on the
    # ÷ 360 basis that charges the same day's interest: dearer than 8.35% either way.)
    assert rules.cost_per_year(D("0.0003"), rules.DAILY) == D("0.1095")
    assert D("0.0003") * rules.DAY_COUNT == D("0.108")


def test_interest_on_financing_at_tier_two_for_thirty_days():
    row = by_key(scenarios.evaluate(FEES, FEES))["financing:2:30"]
    # 100,000.00 × 8.35% ÷ 360 = 23.194… → 23.19 a day, charged each day: × 30 = 695.70.
    assert row.before.charged == D("695.70")
    # 8.35% ÷ 360 × 365 = 8.4660% a year.
    assert row.before.per_year.quantize(D("0.000001")) == D("0.084660")
    assert row.effect == rules.SAME


def test_every_tier_is_priced_for_one_thirty_and_365_days():
    keys = by_key(scenarios.evaluate(FEES, FEES))
    for tier in (1, 2, 3):
        assert {f"financing:{tier}:{d}" for d in (1, 30, 365)} <= set(keys)
    assert keys["financing:1:1"].before.charged == D("21.67")  # 7.80% ÷ 360
    assert keys["financing:2:365"].before.charged == D("8464.35")  # 23.19 × 365


def test_the_fixed_reference_set_is_all_there():
    keys = set(by_key(scenarios.evaluate(FEES + LINES, FEES + LINES)))
    assert {"buy", "sell", "withdrawal", "overdue:1", "overdue:30"} <= keys
    for code in ("withdrawal_line", "warning_line", "call_line", "liquidation_line"):
        assert f"line:{code}" in keys
    assert "limit:concentration_limit" in keys
    assert {f"limit:financing_cap_tier{t}" for t in (1, 2, 3)} <= keys


def test_a_buy_and_a_sell_and_a_withdrawal():
    rows = by_key(scenarios.evaluate(FEES, FEES))
    # 100,000.00 × 0.03% = 30.00 (over the 5.00 minimum) + 0.001% transfer fee 1.00
    assert rows["buy"].before.charged == D("31.00")
    assert rows["sell"].before.charged == D("81.00")  # + 0.05% stamp duty 50.00
    assert rows["withdrawal"].before.charged == D("2.00")


def test_a_small_order_pays_the_minimum_trade_fee():
    rows = by_key(scenarios.evaluate(FEES, FEES))
    # 10,000.00 × 0.03% = 3.00, under the 5.00 minimum; transfer fee 0.10; stamp duty 5.00
    assert rows["buy:10000.00"].before.charged == D("5.10")
    assert rows["sell:10000.00"].before.charged == D("10.10")


def test_a_higher_minimum_trade_fee_is_worse_for_small_orders():
    old = [i for i in FEES if i.code in ("trade_service_fee", "trade_service_fee_minimum")]
    new = [replace(i, value=D("8.00")) if i.kind == rules.TRADE_FEE_MINIMUM else i for i in old]
    rows = by_key(scenarios.evaluate(old, new))
    assert (rows["buy:10000.00"].effect, rows["buy:10000.00"].worse_for) == (rules.WORSE, "all")
    assert rows["buy:10000.00"].after.charged == D("8.00")
    assert rows["buy"].after.charged == D("30.00")  # a large order never meets the minimum


def test_ten_thousand_overdue_for_thirty_days():
    rows = by_key(scenarios.evaluate(FEES, FEES))
    assert rows["overdue:30"].before.charged == D("150.00")  # 10,000.00 × 0.05% = 5.00 × 30


def test_annual_to_daily_basis_is_a_rise_though_the_number_went_down():
    old = [i for i in FEES if i.code == "financing_rate_tier2"]
    new = [replace(old[0], basis=rules.DAILY, value=D("0.000300"))]
    rows = by_key(scenarios.evaluate(old, new))
    one_day, year = rows["financing:2:1"], rows["financing:2:365"]
    assert (one_day.before.charged, one_day.after.charged) == (D("23.19"), D("30.00"))
    assert (year.before.charged, year.after.charged) == (D("8464.35"), D("10950.00"))
    assert year.after.per_year == D("0.1095")
    assert {row.effect for row in rows.values()} == {rules.WORSE}


def test_a_fixed_fee_swapped_for_a_percentage_is_worse_for_large_amounts():
    old = [i for i in FEES if i.code == "withdrawal_fee"]  # CNY 2.00 each
    new = [replace(old[0], basis=rules.PER_TRADE, value=D("0.000100"))]  # 0.01%
    row = by_key(scenarios.evaluate(old, new))["withdrawal"]
    # 10,000.00 × 0.01% = 1.00: cheaper at the reference amount, dearer above CNY 20,000.
    assert (row.before.charged, row.after.charged) == (D("2.00"), D("1.00"))
    assert (row.effect, row.worse_for) == (rules.WORSE, "large")


def test_a_fee_cut_never_hides_a_rate_rise():
    old = [i for i in FEES if i.code in ("financing_rate_tier2", "trade_service_fee")]
    new = [
        replace(i, value=D("0.083600") if i.kind == rules.FINANCING_RATE else D("0.000100"))
        for i in old
    ]
    rows = by_key(scenarios.evaluate(old, new))
    # Financing with one buy and one sell would cost less (the fees fall by 2 × 0.02%), but a
    # client holding financing pays the interest every day, trading or not.
    assert rows["financing:2:365"].effect == rules.WORSE
    assert rows["buy"].effect == rules.BETTER
    assessment = scenarios.assess(
        has_prior=True, old_texts=(), new_texts=(), old_items=old, new_items=new
    )
    assert assessment.decision.days == 30


def test_a_favourable_item_never_shortens_the_notice_of_another_paid_with_it():
    fee = next(i for i in FEES if i.code == "trade_service_fee")
    buy_fee = replace(fee, code="buy_fee", kind=rules.BUY_FEE, value=D("0.000100"))
    old = [fee, buy_fee]
    new = [replace(fee, value=D("0.000100")), replace(buy_fee, value=D("0.000200"))]
    rows = by_key(scenarios.evaluate(old, new))
    assert rows["buy"].effect == rules.BETTER  # every buy pays both: 0.04% → 0.03%
    assessment = scenarios.assess(
        has_prior=True, old_texts=(), new_texts=(), old_items=old, new_items=new
    )
    assert [c.code for c in assessment.items if c.effect == rules.WORSE] == ["buy_fee"]
    assert assessment.decision.days == 30


def test_a_rise_too_small_to_show_at_the_reference_amount_is_still_worse():
    old = [i for i in FEES if i.code == "financing_rate_tier2"]
    new = [replace(old[0], value=D("0.083501"))]
    row = by_key(scenarios.evaluate(old, new))["financing:2:1"]
    assert row.before.charged == row.after.charged == D("23.19")
    assert row.effect == rules.WORSE


def test_lines_bind_sooner_when_higher_and_limits_when_lower():
    tighter = [replace(i, value=i.value + D("0.05")) if i.kind == rules.LINE else i for i in LINES]
    rows = by_key(scenarios.evaluate(LINES, tighter))
    assert rows["line:call_line"].effect == rules.WORSE
    assert rows["limit:concentration_limit"].effect == rules.SAME
    lower_cap = [
        replace(i, value=D("0.2500")) if i.code == "concentration_limit" else i for i in LINES
    ]
    assert by_key(scenarios.evaluate(LINES, lower_cap))["limit:concentration_limit"].effect == (
        rules.WORSE
    )


def test_a_new_charge_is_priced_from_nothing():
    new_charge = replace(
        FEES[-1], code="account_fee", kind=rules.OTHER_CHARGE, value=D("10.00"), name_en="Account"
    )
    row = by_key(scenarios.evaluate(FEES, [*FEES, new_charge]))["other:account_fee"]
    assert (row.before.charged, row.after.charged, row.effect) == (
        D("0.00"),
        D("10.00"),
        rules.WORSE,
    )
