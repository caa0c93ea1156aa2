"""Drills replay stress scenarios through monitoring without touching anything; the weekly and
monthly evaluations are Chinese PDFs with charts, including the volatility back-test."""

import datetime
import math
from decimal import Decimal as D

import pytest

from margin.models import MarginAccount, MarketMeasure
from monitoring import drills, evaluation
from monitoring.models import Alert, DailyBar, Evaluation, Response
from tests.margin.conftest import make_account

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(client_alice, client_bob):
    make_account(client_alice, debt="100000.00", holdings=[("300750.SZ", 100, "1500.00")])
    make_account(client_bob, debt="0.00", holdings=[("600519.SH", 100, "1500.00")])


def test_a_market_fall_drill_shows_the_alerts_and_responses_and_records_nothing(book):
    before = list(MarginAccount.objects.values_list("current_level", "cash", "debt"))
    drill = drills.run("market-10")
    fired = {(a["rule"], a["subject"]) for a in drill.alerts}
    assert ("index_drop_severe", "market") in fired
    breaker = next(r for r in drill.responses if r["kind"] == "circuit_breaker")
    assert breaker["at_once"] and breaker["clients"] == 2
    assert drill.stress["accounts"] == 2
    assert not Alert.objects.exists() and not Response.objects.exists()
    assert not MarketMeasure.objects.exists()
    assert list(MarginAccount.objects.values_list("current_level", "cash", "debt")) == before


def test_the_backtest_compares_predicted_with_realised_volatility():
    # Alternating ±1% a day: a constant 1% daily volatility, 15.49% a year.
    closes = [100.0]
    for day in range(60):
        closes.append(closes[-1] * math.exp(0.01 if day % 2 else -0.01))
    result = evaluation.backtest(closes)
    assert result["realised"][-1] == pytest.approx(0.01 * math.sqrt(240))
    assert result["predicted"][-1] == pytest.approx(0.01 * math.sqrt(240), rel=1e-6)
    assert abs(result["bias"]) < 0.01
    assert result["exceedances"] == 0


def test_too_few_closes_give_no_backtest():
    assert evaluation.backtest([100.0, 101.0])["predicted"] == []


def test_the_weekly_evaluation_is_rendered_once_in_chinese(book):
    monday = datetime.date(2026, 11, 23)
    for i in range(40):
        day = monday - datetime.timedelta(days=40 - i)
        close = D(1000) + D(i % 3) * 7
        DailyBar.objects.create(code="INDEX", day=day, close=close)
    at = datetime.datetime(2026, 11, 24, 2, 0, tzinfo=datetime.UTC)
    Alert.objects.create(
        key="limit_down:300750.SZ",
        rule="limit_down",
        subject_kind="instrument",
        subject="300750.SZ",
        level="info",
        value=D(1),
        threshold=D(1),
        last_value=D(1),
        raised_at=at,
        status="closed",
        outcome="false_alarm",
    )
    data = evaluation.context("week", monday)
    assert data["alerts_total"] == 1
    assert ("误报", 1) in data["outcomes"]
    assert data["backtest"]["predicted"]
    row = evaluation.evaluation_render(period="week", starts_on=monday)
    assert row.ends_on == datetime.date(2026, 11, 29)
    assert row.pdf.open("rb").read(4) == b"%PDF"
    assert evaluation.evaluation_render(period="week", starts_on=monday) == row
    assert Evaluation.objects.count() == 1


def test_a_month_ends_on_its_last_day():
    assert evaluation.period_end("month", datetime.date(2026, 2, 1)) == datetime.date(2026, 2, 28)
    assert evaluation.period_end("month", datetime.date(2026, 12, 1)) == datetime.date(2026, 12, 31)
