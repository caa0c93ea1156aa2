import datetime
from decimal import Decimal as D

import pytest

from funds import ledger, services, tasks
from funds.ledger import Kind
from funds.models import Charge
from notices.models import Notification
from tests.disclosures.factories import staff
from tests.funds.factories import funded_account, verified_client

pytestmark = pytest.mark.django_db


def test_the_reserve_is_its_own_ledger_account_of_company_money():
    services.risk_reserve_fund(amount=D("5000.00"), actor="test")
    assert ledger.balance(ledger.house_account(Kind.RISK_RESERVE)) == D("5000.00")
    # Company money never sits with client money.
    assert ledger.balance(ledger.house_account(Kind.CUSTODIAN)) == D("0.00")


def test_a_reserve_below_its_share_of_financing_alerts_risk_and_compliance():
    erin = staff("risk_officer", email="erin@example.test")
    funded_account(verified_client(), debt="200000.00")
    services.risk_reserve_fund(amount=D("9999.99"), actor="test")  # 5% of 200,000 is 10,000
    check = services.risk_reserve_check(day=datetime.date(2026, 11, 26))
    assert check.short and check.required == D("10000.00")
    assert Notification.objects.filter(recipient=erin, key="funds_reserve_low").exists()


def test_a_reserve_at_its_share_is_not_short():
    funded_account(verified_client(), debt="200000.00")
    services.risk_reserve_fund(amount=D("10000.00"), actor="test")
    assert not services.risk_reserve_check(day=datetime.date(2026, 11, 26)).short


def test_the_daily_close_accrues_on_trading_days_and_is_harmless_twice(fee_schedule, time_machine):
    time_machine.move_to(datetime.datetime(2026, 11, 26, 15, 30, tzinfo=datetime.UTC))
    funded_account(verified_client(), debt="360000.00")
    tasks.daily_close()
    tasks.daily_close()
    assert list(Charge.objects.values_list("amount", flat=True)) == [D("78.00")]
