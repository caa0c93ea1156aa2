"""What the margin tables hold and refuse, down to the database constraints."""

import datetime
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from margin.models import LiquidationPlan, MarginContract, MarginEvent, Restriction
from margin.rules import DEFAULT_LINES, Board, Level, Lines
from tests.margin.factories import (
    InstrumentFactory,
    MarginAccountFactory,
    MarginContractFactory,
    PositionFactory,
)

pytestmark = pytest.mark.django_db


def _refused_by_the_database(make):
    with pytest.raises(IntegrityError), transaction.atomic():
        make()


# --- instruments ----------------------------------------------------------------------------------


def test_an_instrument_with_a_bad_code_does_not_validate():
    instrument = InstrumentFactory.build(code="510300.SH")
    with pytest.raises(ValidationError) as caught:
        instrument.full_clean()
    assert "code" in caught.value.message_dict


def test_an_instrument_knows_its_board_from_its_code():
    assert InstrumentFactory.build(code="300750.SZ").board == Board.CHINEXT
    assert InstrumentFactory.build(code="688981.SH").board == Board.STAR


def test_an_instruments_limit_band_comes_from_its_previous_close_board_and_st_flag():
    st = InstrumentFactory.build(code="600001.SH", previous_close=D("3.33"), is_st=True)
    assert st.price_limits() == (D("3.16"), D("3.50"))


def test_an_instrument_is_named_in_the_readers_language():
    moutai = InstrumentFactory.build()
    assert moutai.name_for("zh-hans") == "贵州茅台"
    assert moutai.name_for("en") == "Kweichow Moutai"


def test_an_instrument_without_a_trade_today_is_priced_at_its_previous_close():
    assert InstrumentFactory.build(last_price=None).price == D("1500.00")


def test_a_price_must_be_positive():
    _refused_by_the_database(lambda: InstrumentFactory(code="000001.SZ", previous_close=D("0")))


# --- contracts ------------------------------------------------------------------------------------


def test_a_contracts_lines_default_to_the_design():
    contract = MarginContractFactory()
    assert contract.lines == DEFAULT_LINES


def test_a_contract_with_lines_out_of_order_is_refused_by_the_database():
    _refused_by_the_database(lambda: MarginContractFactory(call_line=D("1.5500")))


def test_an_account_has_at_most_one_active_contract():
    contract = MarginContractFactory()
    _refused_by_the_database(lambda: MarginContractFactory(account=contract.account))


def test_an_ended_contract_does_not_block_a_new_one():
    old = MarginContractFactory(status=MarginContract.Status.ENDED)
    new = MarginContractFactory(account=old.account)
    assert list(MarginContract.objects.filter(account=old.account).order_by("pk")) == [old, new]


def test_a_rollover_exactly_six_months_out_is_allowed():
    contract = MarginContractFactory.build(
        starts_on=datetime.date(2026, 11, 2), rollover_on=datetime.date(2027, 5, 2)
    )
    contract.clean()  # raises ValidationError when the rollover is too far out
    assert contract.rollover_on == contract.latest_rollover_on


def test_a_rollover_more_than_six_months_out_is_refused():
    contract = MarginContractFactory.build(
        starts_on=datetime.date(2026, 11, 2), rollover_on=datetime.date(2027, 5, 3)
    )
    with pytest.raises(ValidationError) as caught:
        contract.clean()
    assert "rollover_on" in caught.value.message_dict


def test_six_months_from_the_end_of_august_is_the_end_of_february():
    contract = MarginContractFactory.build(starts_on=datetime.date(2026, 8, 31))
    assert contract.latest_rollover_on == datetime.date(2027, 2, 28)


def test_a_rollover_before_the_start_is_refused_by_the_database():
    _refused_by_the_database(
        lambda: MarginContractFactory(
            starts_on=datetime.date(2026, 11, 2), rollover_on=datetime.date(2026, 11, 2)
        )
    )


def test_an_initial_margin_ratio_below_100_percent_is_refused_by_the_database():
    _refused_by_the_database(lambda: MarginContractFactory(initial_margin_ratio=D("0.9000")))


def test_daily_interest_is_debt_times_the_annual_rate_over_360():
    contract = MarginContractFactory.build(annual_rate=D("0.083500"))
    # 1,000,000 × 0.0835 / 360 = 231.944…
    assert contract.daily_interest(D("1000000.00")) == D("231.94")


def test_daily_interest_rounds_half_up_to_the_fen():
    contract = MarginContractFactory.build(annual_rate=D("0.072000"))
    # 125.00 × 0.072 / 360 = 0.025
    assert contract.daily_interest(D("125.00")) == D("0.03")


# --- accounts and positions -----------------------------------------------------------------------


def test_liabilities_are_debt_interest_and_fees():
    account = MarginAccountFactory.build(
        debt=D("1000000.00"), accrued_interest=D("231.94"), fees_owed=D("5.00")
    )
    assert account.liabilities == D("1000236.94")


def test_an_account_is_held_to_its_active_contracts_lines():
    contract = MarginContractFactory(call_line=D("1.3500"), warning_line=D("1.5500"))
    assert contract.account.lines == Lines(call=D("1.35"), warning=D("1.55"))


def test_an_account_without_an_active_contract_is_held_to_the_default_lines():
    assert MarginAccountFactory().lines == DEFAULT_LINES


def test_negative_cash_is_refused_by_the_database():
    _refused_by_the_database(lambda: MarginAccountFactory(cash=D("-0.01")))


def test_an_account_holds_one_position_per_instrument():
    position = PositionFactory()
    _refused_by_the_database(
        lambda: PositionFactory(account=position.account, instrument=position.instrument)
    )


def test_an_empty_position_is_refused_by_the_database():
    _refused_by_the_database(lambda: PositionFactory(quantity=0))


def test_a_position_is_worth_quantity_times_price():
    assert PositionFactory.build(quantity=300).market_value(D("12.34")) == D("3702.00")


# --- events, restrictions, plans ------------------------------------------------------------------


def _event(account, sequence=1, **overrides):
    values = {
        "account": account,
        "sequence": sequence,
        "from_level": Level.WARNING,
        "to_level": Level.CALL,
        "ratio": D("1.2900"),
        "assets": D("1290000.00"),
        "liabilities": D("1000000.00"),
    }
    return MarginEvent.objects.create(**(values | overrides))


def test_a_transition_is_recordable_exactly_once_per_sequence_number():
    account = MarginAccountFactory()
    _event(account)
    _refused_by_the_database(lambda: _event(account))


def test_another_account_may_use_the_same_sequence_number():
    first, second = _event(MarginAccountFactory()), _event(MarginAccountFactory())
    assert first.sequence == second.sequence and first.account_id != second.account_id


def test_an_event_must_change_the_level():
    account = MarginAccountFactory()
    _refused_by_the_database(lambda: _event(account, to_level=Level.WARNING))


def test_an_event_knows_whether_it_is_a_downgrade():
    account = MarginAccountFactory()
    assert _event(account).is_downgrade
    assert not _event(account, 2, from_level=Level.CALL, to_level=Level.WARNING).is_downgrade


def test_an_account_has_one_active_restriction_of_each_kind():
    account = MarginAccountFactory()
    Restriction.objects.create(account=account, kind=Restriction.Kind.REDUCE_ONLY, reason="call")
    Restriction.objects.create(account=account, kind=Restriction.Kind.FROZEN, reason="dispute")
    _refused_by_the_database(
        lambda: Restriction.objects.create(
            account=account, kind=Restriction.Kind.REDUCE_ONLY, reason="again"
        )
    )


def test_a_lifted_restriction_does_not_block_a_new_one():
    account = MarginAccountFactory()
    lifted = Restriction.objects.create(
        account=account, kind=Restriction.Kind.REDUCE_ONLY, reason="call"
    )
    lifted.lifted_at = lifted.imposed_at
    lifted.save()
    assert not lifted.is_active
    Restriction.objects.create(account=account, kind=Restriction.Kind.REDUCE_ONLY, reason="again")


def _plan(account, **overrides):
    values = {
        "account": account,
        "trigger": LiquidationPlan.Trigger.LIQUIDATION_LINE,
        "target_ratio": D("1.5000"),
        "expected_proceeds": D("500000.00"),
    }
    return LiquidationPlan.objects.create(**(values | overrides))


def test_a_rejected_plan_must_say_why():
    account = MarginAccountFactory()
    _refused_by_the_database(
        lambda: _plan(account, status=LiquidationPlan.Status.REJECTED, decided_at=timezone.now())
    )
    _plan(
        account,
        status=LiquidationPlan.Status.REJECTED,
        decided_at=timezone.now(),
        decision_note="client deposited at 14:02",
    )


def test_a_decided_plan_records_when():
    _refused_by_the_database(
        lambda: _plan(MarginAccountFactory(), status=LiquidationPlan.Status.APPROVED)
    )


def test_an_account_has_at_most_one_open_plan():
    account = MarginAccountFactory()
    _plan(account)
    _refused_by_the_database(lambda: _plan(account))


def test_a_plan_lists_what_to_sell():
    position = PositionFactory()
    plan = _plan(position.account)
    item = plan.items.create(
        instrument=position.instrument,
        quantity=100,
        reference_price=D("1500.00"),
        expected_proceeds=D("150000.00"),
    )
    assert list(plan.items.all()) == [item]
