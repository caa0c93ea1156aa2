"""What the risk warning, the confirmation and the receipt say about the client's own figures, in
whole sentences and in both languages: how far prices can fall (a fall reaches the line, the line
is already reached, no fall reaches it), and whether the client has a contract."""

from datetime import date
from decimal import Decimal

import pytest
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.html import strip_tags

from education import figures
from margin.models import Instrument, MarginAccount, MarginContract, Position
from tests.education import factories

pytestmark = pytest.mark.django_db


def account_with(user, *, cash: str, debt: str, price: str = "1000.00", tier: int = 1):
    account = MarginAccount.objects.create(
        client=user, number=f"MA-W-{user.pk}", cash=Decimal(cash), debt=Decimal(debt)
    )
    contract = MarginContract.objects.create(
        account=account,
        number=f"MC-W-{user.pk}",
        annual_rate=Decimal("0.078000"),
        leverage_tier=tier,
        credit_limit=Decimal("1000000.00"),
        starts_on=date(2026, 6, 1),
        rollover_on=date(2026, 12, 1),
    )
    stock, _ = Instrument.objects.get_or_create(
        code="600519.SH",
        defaults={
            "name_zh": "贵州茅台",
            "name_en": "Kweichow Moutai",
            "previous_close": Decimal(price),
            "last_price": Decimal(price),
        },
    )
    Position.objects.create(account=account, instrument=stock, quantity=100, cost=Decimal("1"))
    return contract


def sentences(user, language: str) -> str:
    shown = figures.client_figures(user).as_dict()
    with translation.override(language):
        text = render_to_string("education/_fall_sentences.html", {"figures": shown})
    return strip_tags(text).strip()


def test_a_fall_that_reaches_the_lines_is_said_with_its_size(gate_world):
    user = factories.client()
    # ¥100,000 of shares, ¥50,000 owed, no cash: 1 − 1.3 × 50,000 / 100,000 = 35%.
    account_with(user, cash="0.00", debt="50000.00", price="1000.00")
    assert sentences(user, "en") == (
        "If all your positions fall 35% together, you reach the margin call line (130%). "
        "If they fall 40%, you reach the forced liquidation line (120%), where your shares are "
        "sold at whatever price the market gives."
    )
    assert sentences(user, "zh-hans") == (
        "如果您的全部持仓一起下跌 35%，将触及追保线（130%）。"
        "如果下跌 40%，将触及强制平仓线（120%），届时您的股票将按市场可成交的价格卖出。"
    )


def test_a_line_already_reached_is_said_so_not_as_a_fall_of_zero(gate_world):
    user = factories.client()
    # ¥100,000 of shares against ¥90,000 owed: 111%, below both lines.
    account_with(user, cash="0.00", debt="90000.00", price="1000.00")
    en = sentences(user, "en")
    assert en == (
        "Your maintenance ratio is already at or below the margin call line (130%). "
        "Your maintenance ratio is already at or below the forced liquidation line (120%): your "
        "shares may be sold at whatever price the market gives."
    )
    zh = sentences(user, "zh-hans")
    assert zh == (
        "您的维持担保比例已处于或低于追保线（130%）。"
        "您的维持担保比例已处于或低于强制平仓线（120%），您的股票可能按市场可成交的价格被卖出。"
    )
    assert " 0%" not in en + zh and "—" not in en + zh


def test_no_fall_reaches_a_line_when_cash_alone_covers_it(gate_world):
    user = factories.client()
    # ¥200,000 of cash against ¥50,000 owed: the ratio stays above 400% whatever prices do.
    account_with(user, cash="200000.00", debt="50000.00")
    assert sentences(user, "en") == (
        "No fall in prices brings you to the margin call line (130%): your cash alone covers "
        "what you owe. No fall in prices brings you to the forced liquidation line (120%)."
    )
    assert sentences(user, "zh-hans") == (
        "任何价格下跌都不会使您触及追保线（130%）：仅您的现金就足以覆盖您的负债。"
        "任何价格下跌都不会使您触及强制平仓线（120%）。"
    )


def test_a_client_who_owes_nothing_reads_the_worked_example_not_a_dash(gate_world):
    user = factories.client()
    account_with(user, cash="10000.00", debt="0.00")
    shown = figures.client_figures(user)
    assert not shown.example_own  # nothing owed: the example at the tier's cap instead
    assert (shown.fall_to_call, shown.call_reach) == ("56.66%", "fall")


def test_evidence_stored_before_the_cases_were_recorded_still_reads_as_a_sentence():
    old = {"fall_to_call": "—", "fall_to_liquidation": "—", "call_line": "130%"}
    old["liquidation_line"] = "120%"
    with translation.override("en"):
        text = strip_tags(render_to_string("education/_fall_sentences.html", {"figures": old}))
    assert text.strip().startswith("No fall in prices brings you to the margin call line (130%)")


def test_the_tier_2_warning_names_the_clients_own_contract(client, gate_world):
    user = factories.client(language="en")
    factories.pass_quiz(user)
    contract = account_with(user, cash="0.00", debt="50000.00")
    client.force_login(user)
    client.cookies["django_language"] = "en"  # as her sign-in would have set it
    page = " ".join(client.get("/education/warning/?tier=2").content.decode().split())
    assert f"Your margin contract {contract.number} at tier 2" in page
    assert "no margin contract" not in page


def test_a_confirmation_made_before_the_contract_speaks_in_the_past(client, gate_world):
    user = factories.client(language="en")
    factories.pass_quiz(user)
    confirmation = factories.confirm(user, factories.read_warning(user, language="en"))
    account_with(user, cash="0.00", debt="50000.00")  # financing opened afterwards
    client.force_login(user)
    client.cookies["django_language"] = "en"
    page = " ".join(
        client.get(f"/education/confirmations/{confirmation.pk}/").content.decode().split()
    )
    assert (
        "When you confirmed, you had no margin contract yet: these were the terms then in force "
        "that a new contract would carry."
    ) in page
    assert "You have no margin contract yet" not in page
