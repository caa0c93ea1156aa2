"""Responses applied as a set: a crash flags many stocks in one tick, and pausing margin buys of
each, telling every holder, takes a fixed number of statements however many there are."""

import datetime
from decimal import Decimal as D

import pytest
import time_machine
from django.db import connection

from audit.models import AuditEntry
from margin import restrictions
from margin.models import MarketMeasure
from monitoring import alerts
from monitoring.models import Alert, Response
from monitoring.surveillance import Pass, Signal
from notices.models import Notification
from tests.factories import UserFactory
from tests.margin.conftest import make_account

pytestmark = pytest.mark.django_db
MORNING = datetime.datetime(2026, 11, 26, 2, 30, tzinfo=datetime.UTC)  # 10:30 in Beijing


def code(i):
    return f"{600100 + i:06d}.SH"


def abnormal(codes):
    signals = [
        Signal("abnormal_deviation_3d", "instrument", c, "warning", D(2100), D(2000), {"i": i})
        for i, c in enumerate(codes)
    ]
    return Pass(signals, {"abnormal_deviation_3d"})


def holders(n_codes, language="zh-hans"):
    """Two clients holding each instrument (one of them in English), one client holding two."""
    accounts = []
    for i in range(n_codes):
        for who in range(2):
            client = UserFactory(language="en" if who else language)
            accounts.append(make_account(client, holdings=[(code(i), 100, "10.00")]))
    return accounts


@time_machine.travel(MORNING, tick=False)
def test_many_flagged_stocks_pause_buys_for_each_and_tell_every_holder_once():
    accounts = holders(6)
    alerts.signals_apply(abnormal([code(i) for i in range(6)]), at=MORNING)
    responses = Response.objects.order_by("instrument_code")
    assert [r.instrument_code for r in responses] == [code(i) for i in range(6)]
    assert {(r.status, r.needs_confirmation, r.clients_told) for r in responses} == {
        ("active", False, 2)
    }
    assert {r.review_at for r in responses} == {MORNING + datetime.timedelta(hours=24)}
    for response in responses:
        measure = MarketMeasure.objects.get(pk=response.measure_id)
        assert (measure.kind, measure.instrument.code) == ("pause_buys", response.instrument_code)
        assert measure.source == f"monitoring.response:{response.pk}"
    # Each holder is refused buys of their own stock, in plain words.
    for account in accounts:
        held = account.positions.get().instrument.code
        assert f"Margin buys of {held} are paused" in restrictions.buy_refusal(account, held)
    told = Notification.objects.filter(key="monitoring_measure", channel="email")
    assert told.count() == 12
    chinese = told.filter(recipient__language="zh-hans").first()
    english = told.filter(recipient__language="en").first()
    assert "异常波动" in chinese.context["reason"]
    assert "abnormal-fluctuation" in english.context["reason"]
    # One audit entry for the responses and one for the measures, each listing all six.
    (applied,) = AuditEntry.objects.filter(action="monitoring.responses_applied")
    assert sorted(r["instrument"] for r in applied.data["responses"]) == [code(i) for i in range(6)]
    (imposed,) = AuditEntry.objects.filter(action="margin.market_measures_imposed")
    assert len(imposed.data["measures"]) == 6


def _statements(n):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        alerts.signals_apply(abnormal([code(i) for i in range(n)]), at=MORNING)
    return len(queries)


@time_machine.travel(MORNING, tick=False)
def test_the_statements_do_not_grow_with_the_number_of_responses():
    if connection.vendor != "postgresql":
        # SQLite's path is bulk_create, which splits a batch by SQLite's limit on parameters.
        pytest.skip("one statement per batch is the PostgreSQL path")
    holders(12)
    few = []
    for _ in range(2):  # the first also starts the audit chain
        few.append(_statements(3))
        Response.objects.all().delete()
        Alert.objects.all().delete()
    many = _statements(12)
    assert Response.objects.filter(status="active").count() == 12
    assert Notification.objects.filter(key="monitoring_measure").count() > 12
    assert many == few[-1]


@time_machine.travel(MORNING, tick=False)
def test_a_live_response_is_not_proposed_twice_and_an_unknown_stock_waits_for_an_officer():
    holders(2)
    alerts.signals_apply(abnormal([code(0)]), at=MORNING)
    alerts.signals_apply(Pass(abnormal([code(0), code(1), "999999.SH"]).signals, set()), at=MORNING)
    # code(0)'s alert is still open (deduplicated): only code(1) and the unknown stock are new.
    assert Response.objects.filter(instrument_code=code(0)).count() == 1
    assert Response.objects.get(instrument_code=code(1)).status == "active"
    unknown = Response.objects.get(instrument_code="999999.SH")
    assert (unknown.status, unknown.needs_confirmation) == ("proposed", True)
    assert unknown.decision_note == "Name a known instrument."
    assert unknown.starts_at is None and unknown.measure_id is None
