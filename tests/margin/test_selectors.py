"""Building the risk engine from the tables, by partition, and restarting it without repeats."""

import datetime
from decimal import Decimal as D

import pytest

from margin.engine import partition_of
from margin.rules import Level
from margin.selectors import load_from_db
from margin.services import margin_transitions_record
from tests.margin.factories import (
    InstrumentFactory,
    MarginAccountFactory,
    MarginContractFactory,
    PositionFactory,
)

pytestmark = pytest.mark.django_db

AT = datetime.datetime(2026, 11, 25, 6, 31, tzinfo=datetime.UTC)


@pytest.fixture
def moutai():
    return InstrumentFactory(code="600519.SH", last_price=D("1500.00"))


@pytest.fixture
def pingan():
    return InstrumentFactory(
        code="000001.SZ",
        name_zh="平安银行",
        name_en="Ping An Bank",
        previous_close=D("12.00"),
        last_price=None,
    )


def _warning_account(moutai):
    """100 Moutai (150,000) owing 100,000: exactly on the warning line, recorded as WARNING."""
    account = MarginAccountFactory(debt=D("99990.00"), accrued_interest=D("10.00"))
    account.current_level = Level.WARNING
    account.save()
    PositionFactory(account=account, instrument=moutai, quantity=100)
    return account


def test_the_engine_is_loaded_with_balances_positions_and_prices(moutai, pingan):
    account = MarginAccountFactory(cash=D("30000.00"), debt=D("100000.00"), fees_owed=D("0.50"))
    PositionFactory(account=account, instrument=moutai, quantity=100)
    PositionFactory(account=account, instrument=pingan, quantity=1000)
    engine = load_from_db()
    snapshot = engine.snapshot(account.pk)
    # Ping An has not traded today: priced at its previous close.
    assert snapshot.market_value == D("162000.00")
    assert snapshot.liabilities == D("100000.50")
    assert snapshot.ratio == D("1.9200")  # 192,000 / 100,000.50 = 1.919990…


def test_an_account_without_an_active_contract_is_held_to_the_default_lines(moutai):
    _warning_account(moutai)
    assert not load_from_db().revalue_all().transitions


def test_a_strict_contract_puts_the_account_in_call_at_load(moutai):
    account = _warning_account(moutai)
    MarginContractFactory(account=account, call_line=D("1.5000"), warning_line=D("1.6000"))
    [transition] = load_from_db().revalue_all().transitions
    assert (transition.from_level, transition.to_level) == (Level.WARNING, Level.CALL)


@pytest.mark.parametrize("partitions", [1, 2, 3])
def test_partitions_split_accounts_by_id_with_none_left_out_or_shared(moutai, partitions):
    accounts = [MarginAccountFactory() for _ in range(7)]
    for account in accounts:
        PositionFactory(account=account, instrument=moutai)
    seen = []
    for partition in range(partitions):
        engine = load_from_db(partition=partition, partitions=partitions)
        for account in accounts:
            try:
                engine.snapshot(account.pk)
            except KeyError:
                continue
            assert partition_of(account.pk, partitions) == partition
            seen.append(account.pk)
    assert sorted(seen) == sorted(a.pk for a in accounts)


@pytest.mark.parametrize(("partition", "partitions"), [(1, 1), (-1, 2), (0, 0)])
def test_a_partition_outside_the_range_is_refused(partition, partitions):
    with pytest.raises(ValueError):
        load_from_db(partition=partition, partitions=partitions)


# --- exactly once across restarts -----------------------------------------------------------------


def test_a_recorded_transition_is_not_repeated_after_a_restart(moutai):
    account = _warning_account(moutai)
    engine = load_from_db()
    result = engine.tick({"600519.SH": D("1250.00")})
    assert len(margin_transitions_record(engine=engine, result=result, occurred_at=AT)) == 1
    moutai.last_price = D("1250.00")  # as the feed keeps it
    moutai.save()
    restarted = load_from_db()  # the process dies and comes back
    assert not restarted.revalue_all().transitions
    assert restarted.snapshot(account.pk).level == Level.CALL
    assert account.events.count() == 1


def test_a_transition_lost_in_a_crash_is_found_again_with_the_same_number(moutai):
    account = _warning_account(moutai)
    load_from_db().tick({"600519.SH": D("1250.00")})  # seen, then the process dies
    restarted = load_from_db()
    result = restarted.tick({"600519.SH": D("1250.00")})
    [event] = margin_transitions_record(engine=restarted, result=result, occurred_at=AT)
    assert (event.sequence, event.to_level) == (1, Level.CALL)
    assert account.events.count() == 1


def test_two_engines_that_saw_the_same_transition_record_it_once(moutai):
    account = _warning_account(moutai)
    first, second = load_from_db(), load_from_db()
    first_result = first.tick({"600519.SH": D("1250.00")})
    second_result = second.tick({"600519.SH": D("1250.00")})
    assert len(margin_transitions_record(engine=first, result=first_result, occurred_at=AT)) == 1
    assert margin_transitions_record(engine=second, result=second_result, occurred_at=AT) == []
    assert account.events.count() == 1


def test_an_engine_that_fell_behind_is_resynced_and_records_the_next_step(moutai):
    account = _warning_account(moutai)
    ahead, behind = load_from_db(), load_from_db()
    ahead_result = ahead.tick({"600519.SH": D("1250.00")})
    margin_transitions_record(engine=ahead, result=ahead_result, occurred_at=AT)
    # The engine that fell behind sees the fall to 1.10 as WARNING → LIQUIDATION, number 1,
    # which the database refuses (it is at CALL, number 1); resynced, it records CALL → LIQ.
    result = behind.tick({"600519.SH": D("1100.00")})
    [event] = margin_transitions_record(engine=behind, result=result, occurred_at=AT)
    assert behind.snapshot(account.pk).level == Level.LIQUIDATION
    assert (event.sequence, event.from_level, event.to_level) == (
        2,
        Level.CALL,
        Level.LIQUIDATION,
    )


# --- rates come from the published fee schedule ---------------------------------------------------


@pytest.mark.django_db
def test_the_financing_rate_is_the_fee_schedule_in_force():
    from decimal import Decimal

    from margin import selectors as margin_selectors
    from tests.disclosures.factories import fees, in_force

    in_force(items=fees(tier2="0.086000"))
    assert margin_selectors.financing_rate(leverage_tier=2) == Decimal("0.086000")
    assert margin_selectors.financing_rate(leverage_tier=1) == Decimal("0.078000")
    with pytest.raises(ValueError, match="tier 9"):
        margin_selectors.financing_rate(leverage_tier=9)
