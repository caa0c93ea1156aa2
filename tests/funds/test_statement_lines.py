"""What a client reads in their ledger and statement: one line per entry as the ledger holds it,
cash and what they owe in separate columns, each change with its direction, and money owed as a
negative balance next to their cash."""

import datetime
from decimal import Decimal as D

import pytest

from funds import selectors
from margin import services as margin
from tests.funds.factories import funded_account, verified_client
from tests.funds.test_liquidation import approved_plan

pytestmark = pytest.mark.django_db


def test_a_forced_sale_is_one_line_with_its_cash_and_its_repayment(fee_schedule):
    account = funded_account(
        verified_client(), cash="1000.00", debt="100000.00", holdings=[("600036.SH", 3000, "42.10")]
    )
    plan = approved_plan(account, "600036.SH", 1000)
    margin.liquidation_plan_execute(plan_id=plan.pk)

    sale = [m for m in selectors.movements(account) if m.kind == "trade"]
    assert len(sale) == 1  # proceeds, three selling costs and the repayment: one entry, one line
    # 42,100 of proceeds − 34.10 of costs repay 43,065.90 (with the 1,000 of cash).
    assert (sale[0].cash, sale[0].owed) == (D("-1000.00"), D("43065.90"))


def test_the_ledger_page_shows_debt_as_owed_and_signs_before_the_currency(client, fee_schedule):
    user = verified_client()
    account = funded_account(user, cash="8000.00", debt="262000.00")
    client.force_login(user)
    page = " ".join(client.get("/funds/").content.decode().split())
    assert "-¥262,000.00" in page  # the debt, as a balance against the client
    assert "¥8,000.00" in page and "¥-" not in page
    opening = selectors.movements(account)[-1]
    assert (opening.cash, opening.owed) == (D("8000.00"), D("-262000.00"))
    assert "+¥8,000.00" in page and "-¥262,000.00" in page


def test_a_statement_period_keeps_one_line_per_entry(fee_schedule):
    from funds import services

    account = funded_account(verified_client(), cash="0.00", debt="60000.00")
    for day in (25, 26, 27):
        services.interest_accrue(trading_day=datetime.date(2026, 11, day))
    lines = selectors.movements(
        account, start=datetime.date(2026, 11, 25), end=datetime.date(2026, 11, 27)
    )
    assert [m.value_date.day for m in lines] == [27, 26, 25]
    assert all(m.cash is None and m.owed == D("-13.00") for m in lines)  # 60,000 × 7.8% / 360


def test_the_withdrawal_fee_cites_the_fee_schedule_by_name_not_by_code(client, fee_schedule):
    user = verified_client(language="en")
    funded_account(user, cash="50000.00")
    client.force_login(user)
    client.cookies["django_language"] = "en"
    page = " ".join(client.get("/funds/").content.decode().split())
    assert (
        "Each withdrawal is charged a fee of ¥2.00 on top of the amount (Fee schedule v1 ·" in page
    )
    assert "withdrawal_fee" not in page and "fee_schedule" not in page
