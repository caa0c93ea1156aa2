"""The numbers: suitability against product risk, the typed sentence, and the client's figures."""

from datetime import date
from decimal import Decimal

import pytest

from education import figures, rules
from education.rules import Suitability
from tests.education import factories


@pytest.mark.parametrize(
    ("rating", "risk", "expected"),
    [
        ("C1", "R1", Suitability.MATCH),
        ("C1", "R2", Suitability.BLOCKED),  # C1 never above R1, not even with insistence
        ("C2", "R3", Suitability.ONE_ABOVE),
        ("C2", "R4", Suitability.BLOCKED),
        ("C3", "R4", Suitability.ONE_ABOVE),
        ("C4", "R4", Suitability.MATCH),
        ("C4", "R5", Suitability.ONE_ABOVE),
        ("C5", "R5", Suitability.MATCH),
        (None, "R1", Suitability.BLOCKED),
    ],
)
def test_products_match_the_rating_or_one_level_above_with_insistence(rating, risk, expected):
    assert rules.suitability(rating, risk) is expected


def test_the_sentence_ignores_whitespace_and_width():
    shown = rules.sentence_for("zh-hans")
    fullwidth_commas = shown.replace("，", "，  ").replace("。", " 。")
    assert rules.sentence_matches(fullwidth_commas, shown)
    assert rules.sentence_matches(shown.replace(",", "，"), shown)
    halfwidth = shown.replace("，", ",")
    assert rules.sentence_matches(halfwidth, shown)  # NFKC folds ， to ,
    assert not rules.sentence_matches(shown[:-3], shown)
    assert not rules.sentence_matches("", shown)


def test_the_english_sentence_ignores_case_and_fullwidth_letters():
    shown = rules.sentence_for("en")
    assert rules.sentence_matches(shown.upper(), shown)
    assert rules.sentence_matches("Ｉ have read" + shown[len("I have read") :], shown)


def test_percent_formatting():
    assert figures.percent(Decimal("0.0835")) == "8.35%"
    assert figures.percent(Decimal("1.3000")) == "130%"


def test_a_client_without_a_contract_sees_the_terms_in_force(gate_world):
    user = factories.client()
    tier1 = figures.client_figures(user)
    assert tier1.source == "defaults"
    assert (tier1.call_line, tier1.liquidation_line, tier1.warning_line) == ("130%", "120%", "150%")
    assert tier1.withdrawal_line == "300%"
    assert tier1.annual_rate == "7.8%"
    assert tier1.call_deadline_days == 2
    # ¥100,000 own + ¥50,000 borrowed (tier 1 cap 50%): 300% → 240% after a 20% fall.
    assert (tier1.ratio_before, tier1.ratio_after) == ("300%", "240%")
    assert tier1.fall_to_call == "56.66%"  # 1 − 1.3 × 50,000 / 150,000
    tier3 = figures.client_figures(user, tier=3)
    assert tier3.annual_rate == "8.9%"
    # ¥100,000 + ¥100,000: 200% → 160%; the call line after a 35% fall, liquidation after 40%.
    assert (tier3.ratio_before, tier3.ratio_after) == ("200%", "160%")
    assert (tier3.fall_to_call, tier3.fall_to_liquidation) == ("35%", "40%")


def test_a_client_with_a_contract_sees_its_own_lines_rate_and_account(gate_world):
    from margin.models import Instrument, MarginAccount, MarginContract, Position

    user = factories.client()
    account = MarginAccount.objects.create(
        client=user, number="MA-EDU-1", cash=Decimal("10000.00"), debt=Decimal("100000.00")
    )
    MarginContract.objects.create(
        account=account,
        number="MC-EDU-1",
        annual_rate=Decimal("0.083500"),
        leverage_tier=2,
        call_line=Decimal("1.3500"),
        warning_line=Decimal("1.5500"),
        credit_limit=Decimal("100000.00"),
        starts_on=date(2026, 6, 1),
        rollover_on=date(2026, 12, 1),
    )
    stock = Instrument.objects.create(
        code="600519.SH",
        name_zh="贵州茅台",
        name_en="Kweichow Moutai",
        previous_close=Decimal("1500.00"),
        last_price=Decimal("1400.00"),
    )
    Position.objects.create(
        account=account, instrument=stock, quantity=150, cost=Decimal("225000.00")
    )
    mine = figures.client_figures(user)
    assert mine.source == "contract" and mine.contract_number == "MC-EDU-1"
    assert (mine.annual_rate, mine.call_line, mine.warning_line) == ("8.35%", "135%", "155%")
    assert mine.leverage_tier == 2 and mine.example_own
    # (10,000 + 210,000) / 100,000 = 220%; after 20%: (10,000 + 168,000) / 100,000 = 178%.
    assert (mine.ratio_before, mine.ratio_after) == ("220%", "178%")


def test_a_higher_tier_on_an_existing_contract_keeps_its_lines_and_takes_the_tiers_rate(
    gate_world,
):
    from margin.models import MarginAccount, MarginContract

    user = factories.client()
    account = MarginAccount.objects.create(client=user, number="MA-EDU-2", debt=Decimal("1.00"))
    MarginContract.objects.create(
        account=account,
        number="MC-EDU-2",
        annual_rate=Decimal("0.078000"),
        leverage_tier=1,
        call_line=Decimal("1.3500"),
        warning_line=Decimal("1.5500"),
        credit_limit=Decimal("100000.00"),
        starts_on=date(2026, 6, 1),
        rollover_on=date(2026, 12, 1),
    )
    tier2 = figures.client_figures(user, tier=2)
    assert (tier2.source, tier2.contract_number, tier2.leverage_tier) == ("tier", "MC-EDU-2", 2)
    assert (tier2.call_line, tier2.warning_line, tier2.annual_rate) == ("135%", "155%", "8.35%")
