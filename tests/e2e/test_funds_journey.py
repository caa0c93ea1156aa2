"""A client deposits (matched by the custodian statement), sees the cash, asks to withdraw too
much, is told the most she may withdraw, withdraws that, and downloads a statement."""

import io
import re
from datetime import datetime
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot
from tests.factories import PASSWORD

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.journey,
    # The deposit, the withdrawal and the statement of their month: all in November 2026, the
    # clock ticking (a live server and a browser wait on it).
    pytest.mark.time_machine(datetime(2026, 11, 26, 10, tzinfo=ZoneInfo("Asia/Shanghai"))),
]


@pytest.fixture
def alice(live_portal):
    from tests.disclosures.factories import ensure_roles
    from tests.funds.factories import bank_account, funded_account, verified_client

    ensure_roles()
    user = verified_client("林岚", email="alice-funds@example.test", full_name="林岚")
    # Assets 150,000 of shares; debt 60,000: after a 100,000 deposit, 70,000 may be withdrawn.
    account = funded_account(user, debt="60000.00", holdings=[("600519.SH", 100, "1500.00")])
    bank_account(user)
    return user, account


def test_deposit_withdraw_the_most_allowed_and_download_a_statement(page, alice, tmp_path):
    from funds import custodian, services
    from tests.disclosures.factories import staff

    user, account = alice
    page.goto("/accounts/login/")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.goto("/funds/")
    reference = page.locator("[data-testid=funds-reference]").inner_text()
    assert re.fullmatch(r"WR[A-Z0-9]{8}", reference)
    expect(page.locator("[data-testid=funds-deposit]")).to_contain_text("121909876510888")
    expect(page.locator("[data-testid=funds-cash]")).to_have_text("¥0.00")
    screenshot(page, "funds-01-deposit-instructions")

    header = "value_date,bank_reference,type,amount,counterparty_name,counterparty_account,memo"
    custodian.custodian_statement_import(
        data="\n".join(
            [
                header,
                "2026-11-26,OPEN,OPENING,0.00,,,",
                f"2026-11-26,CMB001,CREDIT,100000.00,林岚,6222020200112233445,入金 {reference}",
                "2026-11-26,CLOSE,CLOSING,100000.00,,,",
            ]
        ).encode()
    )
    page.reload()
    expect(page.locator("[data-testid=funds-cash]")).to_have_text("¥100,000.00")
    expect(page.locator("[data-testid=funds-largest]")).to_have_text("¥70,000.00")
    expect(page.locator("[data-testid=funds-ledger]")).to_contain_text("入金 CMB001")

    page.fill("input[name=amount]", "90000")
    page.locator("[data-testid=funds-withdraw-form] button").click()
    expect(page.locator(".messages")).to_contain_text("¥70,000.00")
    expect(page.locator(".messages")).to_contain_text("300%")
    screenshot(page, "funds-02-refused")

    page.fill("input[name=amount]", "70000.00")
    page.locator("[data-testid=funds-withdraw-form] button").click()
    expect(page.locator("[data-testid=funds-cash]")).to_have_text("¥30,000.00")
    withdrawal = account.withdrawals.get(amount=D("70000.00"))
    assert withdrawal.status == "awaiting_approval"  # above 50,000: two staff approve
    services.withdrawal_approve(withdrawal_id=withdrawal.pk, staff=staff("risk_officer"))
    services.withdrawal_approve(withdrawal_id=withdrawal.pk, staff=staff("compliance"))
    page.reload()
    expect(page.locator("[data-testid=funds-withdrawals]")).to_contain_text("已支付")
    screenshot(page, "funds-03-withdrawn")

    page.fill("input[name=start]", "2026-11-01")
    page.fill("input[name=end]", "2026-11-26")  # a statement ends by today (its clock, above)
    page.locator("[data-testid=funds-statement-form] button").click()
    link = page.locator("[data-testid=funds-statements] a")
    expect(link).to_have_count(1)
    with page.expect_download() as download:
        link.click()
    path = tmp_path / "statement.pdf"
    download.value.save_as(path)
    from pypdf import PdfReader

    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(path.read_bytes())).pages)
    assert "入金 CMB001" in text and f"WD{withdrawal.pk}" in text
    assert "100,000.00" in text and "70,000.00" in text
    screenshot(page, "funds-04-statement")
    assert page.console_errors == []
