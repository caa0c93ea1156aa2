"""The pre-trade check's one-statement snapshot (``pretrade.load_snapshot``) reads exactly what
the table-by-table reading execution runs (``pretrade.load``) does, on worked accounts: a buy
and a sale that pass, and a refusal of each kind the account's own rows or the market's decide.
"""

import datetime
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from margin import holdings as margin_holdings
from margin.models import MarketMeasure, Position, Restriction, VolatilityRegime
from portal.calendars import SHANGHAI
from tests.trading.conftest import THURSDAY, instrument, trader
from trading import pretrade, services
from trading.models import Order, TradingHalt
from trading.pretrade import OrderRequest

pytestmark = pytest.mark.django_db
SECOND = datetime.timedelta(seconds=1)


def buy(quantity, price="36.00", code="600036.SH", kind="limit"):
    return OrderRequest("buy", kind, code, quantity, D(price) if price else None)


def sell(quantity, price="20.00", code="000001.SZ"):
    return OrderRequest("sell", "limit", code, quantity, D(price))


def both(account, request, at=THURSDAY):
    """The check on the snapshot, after pinning the snapshot equal to the tables' reading."""
    account = margin_holdings.account(account.pk)
    tables = pretrade.load(account, request, at=at, fresh=True)
    pretrade.load_snapshot(account, request, at=at)  # the market-wide part, kept from now on
    with CaptureQueriesContext(connection) as queries:
        snapshot = pretrade.load_snapshot(account, request, at=at)
    assert snapshot == tables
    assert len(queries) == 1  # the market-wide part is read apart (kept a second in production)
    found = pretrade.evaluate(snapshot, request)
    assert found.codes == pretrade.evaluate(tables, request).codes
    return found


@pytest.fixture
def market_read_once(settings):
    """The market-wide part kept as production keeps it, so the snapshot's own statement is
    what is counted."""
    from trading import reference

    settings.TRADING_REFERENCE_SECONDS = 3600
    reference.forget()
    yield
    reference.forget()


@pytest.fixture
def worked(documents, thursday, market_read_once):
    """A client with two positions, one bought today, an open buy and an open sale."""
    account = trader(
        cash="50000.00",
        debt="20000.00",
        holdings=[("000001.SZ", 5000, "20.00"), ("600519.SH", 300, "15.00")],
    )
    instrument("600036.SH", "36.00")
    services.order_submit(
        account_id=account.pk,
        side="buy",
        kind="limit",
        code="600036.SH",
        quantity=200,
        price=D("35.00"),
        client_token="open-buy",
        at=THURSDAY - 10 * SECOND,
    )
    services.order_submit(
        account_id=account.pk,
        side="sell",
        kind="limit",
        code="000001.SZ",
        quantity=1000,
        price=D("21.00"),
        client_token="open-sell",
        at=THURSDAY - 10 * SECOND,
    )
    bought = Order.objects.create(
        account=account,
        instrument=margin_holdings.instrument("600519.SH"),
        side="buy",
        kind="limit",
        quantity=300,
        limit_price=D("15.00"),
        filled_quantity=300,
        status="filled",
        client_token="bought-today",
        trading_day=THURSDAY.astimezone(SHANGHAI).date(),
    )
    assert bought.pk
    return account


def test_a_buy_that_passes_reads_the_same_figures(worked):
    found = both(worked, buy(100))
    assert found.ok
    assert found.buying_power == D("50000.00") + D("980000.00") - D("7000.00")


def test_a_sale_reads_what_is_held_back_and_bought_today(worked):
    assert both(worked, sell(4000)).ok
    assert both(worked, sell(5000)).codes == ["not_held"]  # 1,000 held back by the open sale
    t_plus_one = both(worked, sell(300, price="15.00", code="600519.SH"))
    assert t_plus_one.codes == ["t_plus_one"]


def test_buying_power_ratio_and_concentration_refusals(documents, thursday, market_read_once):
    poor = trader(cash="1000.00", holdings=[("000001.SZ", 100, "20.00")])
    instrument("600036.SH", "36.00")
    Position.objects.filter(account=poor).delete()
    poor.contracts.update(credit_limit=D("0.00"))
    assert both(poor, buy(100)).codes == ["buying_power"]
    spread = [(code, 1000, "20.00") for code in ("000001.SZ", "000002.SZ", "600000.SH")]
    spread += [(code, 1000, "20.00") for code in ("600001.SH", "600519.SH")]
    leveraged = trader(cash="0.00", debt="67000.00", holdings=spread)  # 100,000 / 67,000
    assert both(leveraged, buy(100)).codes == ["ratio_after"]  # 103,600 / 70,605
    concentrated = trader(cash="100000.00", holdings=[("000001.SZ", 100, "20.00")])
    assert both(concentrated, buy(1000)).codes == ["concentration"]


@pytest.mark.parametrize(
    "kind", [Restriction.Kind.REDUCE_ONLY, Restriction.Kind.FROZEN, Restriction.Kind.CONCENTRATION]
)
def test_each_restriction_refuses_the_buy_in_the_same_words(worked, kind):
    Restriction.objects.create(
        account=worked,
        kind=kind,
        reason="risk control",
        instrument=margin_holdings.instrument("600036.SH")
        if kind == Restriction.Kind.CONCENTRATION
        else None,
    )
    found = both(worked, buy(100))
    assert found.codes == ["restricted"]
    assert both(worked, sell(100)).ok  # selling is never restricted


def test_a_lifted_restriction_and_another_codes_concentration_do_not_refuse(worked):
    Restriction.objects.create(
        account=worked, kind=Restriction.Kind.REDUCE_ONLY, reason="old", lifted_at=THURSDAY
    )
    Restriction.objects.create(
        account=worked,
        kind=Restriction.Kind.CONCENTRATION,
        reason="too much",
        instrument=margin_holdings.instrument("000001.SZ"),
    )
    assert both(worked, buy(100)).ok


def test_suitability_and_gate_refusals(documents, thursday, market_read_once):
    instrument("600036.SH", "36.00")
    no_gate = trader(gate=False, cash="100000.00")
    assert both(no_gate, buy(100)).codes == ["gate"]
    low = trader(rating="C1", gate=False, cash="100000.00")
    assert both(low, buy(100)).codes == ["suitability"]
    c4 = trader(cash="100000.00")
    instrument("600100.SH", "10.00", risk_warning="st", is_st=True)
    found = both(c4, buy(100, price="10.00", code="600100.SH"))
    assert found.codes == ["suitability"]  # R5, one above C4: the special confirmation first
    assert both(c4, buy(100)).ok


def test_market_wide_refusals_read_the_same(worked):
    from trading import reference

    instrument("600200.SH", "10.00", suspension="other")
    assert both(worked, buy(100, price="10.00", code="600200.SH")).codes == ["suspended"]
    assert both(worked, buy(100, code="999999.SH")).codes == ["unknown_instrument"]
    TradingHalt.objects.create(
        instrument=margin_holdings.instrument("600036.SH"), reason="news pending"
    )
    reference.forget()
    assert both(worked, buy(100)).codes == ["halted"]
    MarketMeasure.objects.create(
        kind=MarketMeasure.Kind.CIRCUIT_BREAKER,
        reason_zh="熔断",
        reason_en="breaker",
        starts_at=THURSDAY - SECOND,
    )
    reference.forget()
    assert both(worked, buy(100)).codes == ["halted", "restricted"]


def test_a_stressed_regime_pauses_high_risk_buys_in_both_readings(worked):
    from trading import reference

    instrument("600300.SH", "10.00", is_high_risk=True)
    VolatilityRegime.objects.create(
        regime=VolatilityRegime.Regime.STRESSED,
        status=VolatilityRegime.Status.CONFIRMED,
        market_volatility=D("0.5000"),
        decided_at=THURSDAY - SECOND,
    )
    reference.forget()
    found = both(worked, buy(100, price="10.00", code="600300.SH"))
    assert "regime_pause" in found.codes


def test_the_ticket_and_submission_run_on_the_snapshot(worked):
    account = margin_holdings.account(worked.pk)
    pretrade.check(account, sell(100), at=THURSDAY)  # the market-wide part, kept from now on
    with CaptureQueriesContext(connection) as queries:
        found = pretrade.check(account, buy(100), at=THURSDAY)
    assert found.ok and len(queries) == 1
    with CaptureQueriesContext(connection) as queries:
        pretrade.check(account, sell(100), at=THURSDAY)
    assert len(queries) == 1


def test_a_halt_a_measure_or_a_regime_binds_the_very_next_check(worked):
    """The market-wide part is read in the check's own statement: nothing kept from the check
    before (the fixture keeps reference data an hour) lets a buy through."""
    account = margin_holdings.account(worked.pk)
    assert pretrade.check(account, buy(100), at=THURSDAY).ok
    halt = TradingHalt.objects.create(
        instrument=margin_holdings.instrument("600036.SH"), reason="news pending"
    )
    assert pretrade.check(account, buy(100), at=THURSDAY).codes == ["halted"]
    TradingHalt.objects.filter(pk=halt.pk).update(lifted_at=THURSDAY)
    MarketMeasure.objects.create(
        kind=MarketMeasure.Kind.CIRCUIT_BREAKER,
        reason_zh="熔断",
        reason_en="breaker",
        starts_at=THURSDAY - SECOND,
    )
    assert pretrade.check(account, buy(100), at=THURSDAY).codes == ["restricted"]
    MarketMeasure.objects.update(ended_at=THURSDAY - SECOND)
    instrument("600300.SH", "10.00", is_high_risk=True)
    high_risk = buy(100, price="10.00", code="600300.SH")
    assert "regime_pause" not in pretrade.check(account, high_risk, at=THURSDAY).codes
    VolatilityRegime.objects.create(
        regime=VolatilityRegime.Regime.STRESSED,
        status=VolatilityRegime.Status.CONFIRMED,
        market_volatility=D("0.5000"),
        decided_at=THURSDAY - SECOND,
    )
    assert "regime_pause" in pretrade.check(account, high_risk, at=THURSDAY).codes


@pytest.mark.parametrize("regime", ["stressed", "emergency"])
def test_the_statements_market_wide_part_is_what_market_reads(worked, regime):
    """``market_from`` on the statement's row equals ``market(fresh=True)``: halts of one
    instrument and of the platform, a measure on one instrument and one on all, the regime in
    force (an emergency one is the platform's freeze line), the high-risk rate and the risk
    disclosure in force."""
    from django.utils import timezone

    from trading import reference

    TradingHalt.objects.create(
        instrument=margin_holdings.instrument("600036.SH"), reason="news pending"
    )
    TradingHalt.objects.create(instrument=None, reason="platform")
    kinds = MarketMeasure.Kind
    for kind, code in [(kinds.CIRCUIT_BREAKER, None), (kinds.PAUSE_BUYS, "600519.SH")]:
        MarketMeasure.objects.create(
            kind=kind,
            instrument=margin_holdings.instrument(code) if code else None,
            reason_zh="措施",
            reason_en="measure",
            starts_at=THURSDAY - SECOND,
        )
    VolatilityRegime.objects.create(
        regime=regime,
        status=VolatilityRegime.Status.CONFIRMED,
        market_volatility=D("0.5000"),
        decided_at=THURSDAY - SECOND,
        reason="volatile",
    )
    reference.forget()
    now = timezone.now()
    row = pretrade._statement(True, with_market=True).run(
        connection, account_id=worked.pk, code="600036.SH", day=THURSDAY.date(), now=now
    )
    found = pretrade.market_from(row, now)
    expected = pretrade.market(fresh=True)
    assert found == expected
    assert len(found.halts) == 2 and len(found.measures[0]) == 2
    assert found.risk_disclosure is not None and found.high_risk_rate == expected.high_risk_rate
    assert (found.measures[1] is not None) == (regime == "emergency")


@pytest.mark.parametrize(("started_days_ago", "reads_again"), [(30, False), (0, True)])
def test_the_fee_schedule_of_a_contract_without_a_version_is_final_once_its_start_day_is_past(
    worked, settings, monkeypatch, started_days_ago, reads_again
):
    """A contract without a recorded version runs on the schedule in force on its start day:
    once that day is past the answer cannot change, so a second check well after the reference
    data's second reads nothing but its statement; a contract started today is read again."""
    from trading import reference

    today = THURSDAY.astimezone(SHANGHAI).date()
    worked.contracts.update(
        fee_schedule_version=None, starts_on=today - datetime.timedelta(days=started_days_ago)
    )
    settings.TRADING_REFERENCE_SECONDS = 1.0
    reference.forget()
    account = margin_holdings.account(worked.pk)
    clock = [1000.0]
    monkeypatch.setattr(reference.time, "monotonic", lambda: clock[0])
    first = pretrade.check(account, buy(100), at=THURSDAY)
    clock[0] += 0.5  # within the second: only the trading day and the schedule are kept
    with CaptureQueriesContext(connection) as within:
        pretrade.check(account, buy(100), at=THURSDAY)
    clock[0] += 5.0
    with CaptureQueriesContext(connection) as later:
        again = pretrade.check(account, buy(100), at=THURSDAY)
    assert again.costs == first.costs and first.costs
    assert len(within) == 1
    assert (len(later) > 1) == reads_again
