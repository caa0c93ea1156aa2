"""Book signals across all clients: concentration, levels, financing against collateral, the
accounts nearest their call line; and the daily ones, fund flows and margin calls."""

import datetime
from decimal import Decimal as D

import pytest

from margin.engine import RiskEngine
from margin.rules import DEFAULT_LINES
from monitoring import book, thresholds


def engine():
    """Three accounts over three symbols at ¥10.00: 600000 (banks), 600001 (banks), 000001
    (brokers). Account 1 holds ¥6,000 of 600000 on ¥4,000 debt (150%), account 2 ¥2,000 of
    600001 and ¥2,000 of 000001 on ¥3,000 debt (133.33%: at call), account 3 has no debt."""
    return RiskEngine(
        account_ids=[1, 2, 3],
        cash_fen=[0, 0, 100_000],
        liabilities_fen=[400_000, 300_000, 0],
        severity=[2, 3, 0],
        event_sequence=[0, 0, 0],
        lines=[DEFAULT_LINES],
        lines_index=[0, 0, 0],
        symbols=["600000.SH", "600001.SH", "000001.SZ"],
        prices_fen=[1000, 1000, 1000],
        holder_rows=[0, 1, 1],
        symbol_rows=[0, 1, 2],
        quantities=[600, 200, 200],
    )


SECTORS = {"600000.SH": "banks", "600001.SH": "banks", "000001.SZ": "brokers"}


def test_concentration_levels_financing_and_the_nearest_accounts():
    view = book.book_signals(engine().book(), sector_of=SECTORS, thresholds=thresholds.defaults())
    values = view.values
    assert values["collateral_yuan"] == 10_000.0
    assert values["top_instruments"][0] == ["600000.SH", 0.6]
    assert values["sectors"] == {"banks": 0.8, "brokers": 0.2}
    assert values["levels"]["call"] == 1 and values["at_call_share"] == pytest.approx(1 / 3)
    assert values["financing_share"] == pytest.approx(7_000 / 11_000)
    fired = {(s.rule, s.subject): s for s in view.result.signals}
    assert fired[("concentration_instrument", "600000.SH")].value == D("0.6000")
    assert ("concentration_instrument", "000001.SZ") in fired  # 20% ≥ 15%
    assert fired[("concentration_sector", "banks")].value == D("0.8000")
    assert ("concentration_sector", "brokers") not in fired  # 20% < 35%
    assert fired[("accounts_at_call", "platform")].inputs == {"at_call": 1, "accounts": 3}
    assert fired[("financing_collateral", "platform")].value == D("0.6364")
    assert [row["account_id"] for row in view.nearest] == [2, 1]  # 133% then 150%, no 3
    assert view.nearest[0]["call_line"] == "1.3000"


def test_below_every_book_threshold_nothing_fires():
    table = thresholds.defaults()
    for rule in ("concentration_instrument", "concentration_sector"):
        table.rows[(rule, "all")] = thresholds.Rule(D("0.81"), "warning")
    table.rows[("accounts_at_call", "all")] = thresholds.Rule(D("0.34"), "warning")
    table.rows[("financing_collateral", "all")] = thresholds.Rule(D("0.64"), "warning")
    view = book.book_signals(engine().book(), sector_of=SECTORS, thresholds=table)
    assert view.result.signals == []


@pytest.mark.django_db
def test_a_net_outflow_three_times_the_20_day_average_raises_a_signal(client_alice):
    from funds import ledger
    from funds import services as funds
    from funds.ledger import Kind
    from funds.models import JournalEntry
    from tests.funds.factories import funded_account

    account = funded_account(client_alice, cash="0.00")
    today = datetime.date(2026, 11, 26)
    for i in range(20):  # ¥1,000 in every day for 20 days
        day = today - datetime.timedelta(days=20 - i)
        funds.deposit_credit(
            margin_account=account, amount=D("1000.00"), value_date=day, bank_reference=f"B{i}"
        )

    def withdraw(amount):
        ledger.entry_post(
            kind=JournalEntry.Kind.WITHDRAWAL,
            description="test withdrawal",
            value_date=today,
            lines=[
                (ledger.client_account(account, Kind.CLIENT_CASH), D(amount)),
                (ledger.house_account(Kind.WITHDRAWALS_PAYABLE), -D(amount)),
            ],
        )

    withdraw("2999.00")
    values, result = book.daily_signals(day=today, thresholds=thresholds.defaults())
    assert values["net_flow_yuan"] == "-2999.00" and not result.signals
    withdraw("1.00")
    values, result = book.daily_signals(day=today, thresholds=thresholds.defaults())
    (signal,) = result.signals
    assert (signal.rule, signal.value) == ("net_outflow", D("3.0000"))
    assert values["net_flow_average_20d_yuan"] == "1000.00"
