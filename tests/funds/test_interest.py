"""Daily accrual: debt × the contract's rate / 360, naming fee item and version; idempotent."""

import datetime
from decimal import Decimal as D

import pytest

from funds import ledger, services
from funds.ledger import Kind
from funds.models import Charge
from tests.funds.factories import funded_account, verified_client

pytestmark = pytest.mark.django_db
THURSDAY = datetime.date(2026, 11, 26)
MONDAY = datetime.date(2026, 11, 30)


def test_one_days_interest_is_debt_times_the_annual_rate_over_360(fee_schedule):
    # 1,000,000 × 7.8% / 360 = 216.666… → 216.67
    account = funded_account(verified_client(), cash="10.00", debt="1000000.00")
    [charge] = services.interest_accrue(trading_day=THURSDAY)
    assert charge.amount == D("216.67")
    assert charge.basis_amount == D("1000000.00") and charge.annual_rate == D("0.078000")
    assert charge.fee_item.code == "financing_rate_tier1"
    assert charge.disclosure_version == fee_schedule
    assert charge.reference == f"fee_schedule v{fee_schedule.number} financing_rate_tier1"
    account.refresh_from_db()
    assert account.accrued_interest == D("216.67")
    assert ledger.balance(ledger.house_account(Kind.INTEREST_INCOME)) == D("216.67")


def test_the_leverage_tier_picks_its_rate(fee_schedule):
    funded_account(verified_client(), debt="360000.00", tier=2)
    [charge] = services.interest_accrue(trading_day=THURSDAY)
    assert charge.amount == D("83.50")  # 360,000 × 8.35% / 360


def test_running_the_accrual_twice_for_a_day_changes_nothing(fee_schedule):
    account = funded_account(verified_client(), debt="1000000.00")
    services.interest_accrue(trading_day=THURSDAY)
    assert services.interest_accrue(trading_day=THURSDAY) == []
    account.refresh_from_db()
    assert account.accrued_interest == D("216.67")
    assert Charge.objects.count() == 1


def test_mondays_run_charges_the_weekend_days_one_by_one(fee_schedule):
    funded_account(verified_client(), debt="1000000.00")
    charges = services.interest_accrue(trading_day=MONDAY)
    assert [c.day.isoformat() for c in charges] == ["2026-11-28", "2026-11-29", "2026-11-30"]


def test_overdue_debt_also_bears_the_daily_penalty_rate(fee_schedule):
    funded_account(verified_client(), debt="100000.00", rollover=datetime.date(2026, 11, 20))
    charges = {c.kind: c for c in services.interest_accrue(trading_day=THURSDAY)}
    penalty = charges[Charge.Kind.PENALTY]
    assert penalty.amount == D("50.00")  # 100,000 × 0.05% a day
    assert penalty.fee_item.code == "penalty_rate"


def test_no_rate_in_force_stops_the_run_rather_than_charging_nothing(db):
    from disclosures.selectors import FeeItemNotFound

    funded_account(verified_client(), debt="1000.00")
    with pytest.raises(FeeItemNotFound):
        services.interest_accrue(trading_day=THURSDAY)


@pytest.mark.parametrize(
    ("amount", "rate", "expected"),
    [
        ("1000000.00", "0.078000", "216.67"),
        ("0.01", "0.078000", "0.00"),
        ("4615.39", "0.078", "1.00"),
    ],
)
def test_daily_charge_rounds_half_up_to_the_fen(amount, rate, expected):
    assert services.daily_charge(D(amount), D(rate)) == D(expected)
