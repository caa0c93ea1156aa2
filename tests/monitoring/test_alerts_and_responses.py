"""Alerts a risk officer works, and responses that act through the pre-trade check."""

import datetime
from decimal import Decimal as D

import pytest
import time_machine
from django.core.exceptions import PermissionDenied

from audit.models import AuditEntry
from margin import restrictions, selectors
from margin.models import MarketMeasure, VolatilityRegime
from monitoring import alerts, responses, thresholds
from monitoring.models import Alert, Response, Threshold
from monitoring.surveillance import Pass, Signal
from notices.models import Notification

pytestmark = pytest.mark.django_db
# Thursday 2026-11-26 10:30 in Beijing.
MORNING = datetime.datetime(2026, 11, 26, 2, 30, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _instrument():
    from tests.margin.factories import InstrumentFactory

    InstrumentFactory(code="300750.SZ", previous_close=D("268.00"), last_price=D("268.00"))


def abnormal(code="300750.SZ", value=3000):
    return Signal(
        "abnormal_deviation_3d",
        "instrument",
        code,
        "warning",
        D(value),
        D(3000),
        {"today_bp": 1000, "previous_days_bp": value - 1000},
    )


def evaluated(*signals, rules=("abnormal_deviation_3d",)):
    return Pass(list(signals), set(rules))


# --- raising, dedup, ending ----------------------------------------------------------------------


def test_a_signal_over_its_threshold_raises_one_alert_with_its_rule_inputs_and_value():
    raised = alerts.signals_apply(evaluated(abnormal()), at=MORNING)
    assert len(raised) == 1
    alert = raised[0]
    assert (alert.rule, alert.subject, alert.level, alert.value) == (
        "abnormal_deviation_3d",
        "300750.SZ",
        "warning",
        D(3000),
    )
    assert alert.inputs == {"today_bp": 1000, "previous_days_bp": 2000}
    assert alert.ack_due_at == MORNING + datetime.timedelta(minutes=30)
    entry = AuditEntry.objects.get(action="monitoring.alerts_raised")
    assert entry.data["alerts"][0]["inputs"] == {"today_bp": 1000, "previous_days_bp": 2000}


def test_the_same_condition_refreshes_its_alert_while_it_lasts_and_then_ends():
    alerts.signals_apply(evaluated(abnormal()), at=MORNING)
    later = MORNING + datetime.timedelta(minutes=1)
    assert alerts.signals_apply(evaluated(abnormal(value=3200)), at=later) == []
    alert = Alert.objects.get()
    assert (alert.value, alert.last_value, alert.last_seen_at) == (D(3000), D(3200), later)
    gone = MORNING + datetime.timedelta(minutes=2)
    alerts.signals_apply(evaluated(), at=gone)
    alert.refresh_from_db()
    assert alert.condition_ended_at == gone
    assert alert.status == Alert.Status.OPEN  # an officer still has to close it


def test_after_closing_the_condition_coming_back_raises_a_new_alert(erin):
    alert = alerts.signals_apply(evaluated(abnormal()), at=MORNING)[0]
    alerts.alert_close(alert_id=alert.pk, officer=erin, outcome="false_alarm", note="bad print")
    assert len(alerts.signals_apply(evaluated(abnormal()), at=MORNING)) == 1
    assert Alert.objects.count() == 2


def test_a_rule_not_evaluated_does_not_end_its_alerts():
    alerts.signals_apply(evaluated(abnormal()), at=MORNING)
    alerts.signals_apply(Pass([], {"volume_spike"}), at=MORNING)
    assert Alert.objects.get().condition_ended_at is None


# --- working an alert ----------------------------------------------------------------------------


def test_an_officer_acknowledges_and_closes_with_a_note_and_an_outcome(erin):
    alert = alerts.signals_apply(evaluated(abnormal()), at=MORNING)[0]
    alerts.alert_acknowledge(alert_id=alert.pk, officer=erin)
    with pytest.raises(alerts.AlertError, match="closing note"):
        alerts.alert_close(alert_id=alert.pk, officer=erin, outcome="dismissed", note=" ")
    closed = alerts.alert_close(
        alert_id=alert.pk, officer=erin, outcome="dismissed", note="index rebalancing"
    )
    assert (closed.status, closed.outcome, closed.closed_by) == ("closed", "dismissed", erin)


def test_acted_on_needs_the_action_linked(erin, settings):
    settings.MONITORING_RESPONSES_AT_ONCE = []
    alert = alerts.signals_apply(evaluated(abnormal()), at=MORNING)[0]
    with pytest.raises(alerts.AlertError, match="Link the action"):
        alerts.alert_close(alert_id=alert.pk, officer=erin, outcome="acted_on", note="paused")
    response = alert.responses.get()
    responses.response_confirm(response_id=response.pk, officer=erin)
    alerts.alert_close(alert_id=alert.pk, officer=erin, outcome="acted_on", note="paused")


def test_a_client_cannot_work_alerts(client_alice):
    alert = alerts.signals_apply(evaluated(abnormal()), at=MORNING)[0]
    with pytest.raises(PermissionDenied):
        alerts.alert_acknowledge(alert_id=alert.pk, officer=client_alice)


def test_an_unacknowledged_alert_is_escalated_once_and_officers_are_told(erin, ivan):
    alert = alerts.signals_apply(evaluated(abnormal()), at=MORNING)[0]
    assert alerts.alerts_escalate(now=MORNING + datetime.timedelta(minutes=29)) == 0
    due = MORNING + datetime.timedelta(minutes=30)
    assert alerts.alerts_escalate(now=due) == 1
    assert alerts.alerts_escalate(now=due) == 0  # running the sweep twice escalates once
    alert.refresh_from_db()
    assert (alert.level, alert.escalations) == ("critical", 1)
    assert alert.ack_due_at == due + datetime.timedelta(minutes=5)
    told = Notification.objects.filter(key="monitoring_alert", channel="email")
    assert {n.recipient for n in told} == {erin, ivan}


def test_an_acknowledged_alert_is_not_escalated(erin):
    alert = alerts.signals_apply(evaluated(abnormal()), at=MORNING)[0]
    alerts.alert_acknowledge(alert_id=alert.pk, officer=erin)
    assert alerts.alerts_escalate(now=MORNING + datetime.timedelta(hours=2)) == 0


# --- responses that act --------------------------------------------------------------------------


@time_machine.travel(MORNING, tick=False)
def test_an_abnormal_fluctuation_pauses_margin_buys_of_that_stock_at_once(holder):
    alerts.signals_apply(evaluated(abnormal()), at=MORNING)
    response = Response.objects.get()
    assert (response.kind, response.status, response.needs_confirmation) == (
        "pause_buys",
        "active",
        False,
    )
    assert response.review_at == MORNING + datetime.timedelta(hours=24)
    refusal = restrictions.buy_refusal(holder, "300750.SZ")
    assert "Margin buys of 300750.SZ are paused" in refusal
    assert restrictions.buy_refusal(holder, "600519.SH") is None
    permissions = restrictions.account_permissions(holder)
    assert permissions.may_withdraw and permissions.may_sell and permissions.may_finance
    told = Notification.objects.get(
        key="monitoring_measure", recipient=holder.client, channel="email"
    )
    assert "异常波动" in told.context["reason"]  # in the client's language (Chinese by default)
    assert response.alert.responses.get() == response


@time_machine.travel(MORNING, tick=False)
def test_the_circuit_breaker_stops_buys_and_financing_then_ends_on_time(holder):
    signal = Signal("index_drop_severe", "market", "market", "critical", D(520), D(500), {})
    alerts.signals_apply(Pass([signal], {"index_drop_severe"}), at=MORNING)
    response = Response.objects.get(kind="circuit_breaker")
    assert response.ends_at == MORNING + datetime.timedelta(minutes=30)
    assert "circuit breaker" in restrictions.buy_refusal(holder, "600519.SH")
    assert restrictions.financing_refusal(holder.client)
    assert restrictions.account_permissions(holder).may_withdraw
    with time_machine.travel(MORNING + datetime.timedelta(minutes=31), tick=False):
        assert restrictions.buy_refusal(holder, "600519.SH") is None  # expired by its end time
        assert responses.responses_sweep() == 1
    response.refresh_from_db()
    assert response.status == "ended"
    assert MarketMeasure.objects.get().ended_at is not None
    assert Notification.objects.filter(
        key="monitoring_measure", recipient=holder.client, context__ended=True
    ).exists()


def test_shortened_hours_wait_for_an_officer_then_refuse_buys_outside_them(holder, erin):
    signal = Signal("index_drop", "market", "market", "warning", D(320), D(300), {})
    with time_machine.travel(MORNING, tick=False):
        alerts.signals_apply(Pass([signal], {"index_drop"}), at=MORNING)
        hours = Response.objects.get(kind="short_hours")
        assert hours.status == "proposed"
        assert restrictions.buy_refusal(holder, "600519.SH") is None  # not before confirmation
        responses.response_confirm(response_id=hours.pk, officer=erin, note="index −3.2%")
    at_14_45 = datetime.datetime(2026, 11, 26, 6, 45, tzinfo=datetime.UTC)
    with time_machine.travel(at_14_45, tick=False):
        assert "only from 09:45 to 14:30" in restrictions.buy_refusal(holder, "600519.SH")
    with time_machine.travel(at_14_45 - datetime.timedelta(minutes=16), tick=False):
        assert restrictions.buy_refusal(holder, "600519.SH") is None


def test_lower_caps_is_confirmed_by_an_officer_through_the_regime(holder, erin):
    signal = Signal("financing_collateral", "book", "platform", "warning", D("0.52"), D("0.5"), {})
    alerts.signals_apply(Pass([signal], {"financing_collateral"}), at=MORNING)
    lower = Response.objects.get(kind="lower_caps")
    assert selectors.leverage_cap() == D("1.00")
    responses.response_confirm(response_id=lower.pk, officer=erin)
    lower.refresh_from_db()
    regime = VolatilityRegime.objects.get(pk=lower.regime_id)
    assert (regime.regime, regime.status, regime.decided_by) == ("elevated", "confirmed", erin)
    assert selectors.leverage_cap() == D("0.80")
    assert Notification.objects.filter(key="monitoring_measure", recipient=holder.client).exists()


def test_the_emergency_freeze_needs_a_second_officer(holder, erin, ivan):
    from margin import services

    freeze = responses.response_propose(kind="emergency_freeze", officer=erin)
    responses.response_confirm(response_id=freeze.pk, officer=erin)
    freeze.refresh_from_db()
    assert freeze.status == "awaiting"
    assert restrictions.account_permissions(holder).may_finance  # not yet
    services.volatility_regime_decide(regime_id=freeze.regime_id, officer=ivan, confirm=True)
    assert responses.responses_sweep() == 1
    freeze.refresh_from_db()
    assert freeze.status == "active"
    permissions = restrictions.account_permissions(holder)
    # The freeze line stops new business; the client's own money stays withdrawable within the
    # usual lines (tests/margin/test_freeze.py).
    assert not permissions.may_finance and not permissions.may_buy("600519.SH")
    assert permissions.may_withdraw and permissions.may_sell


def test_one_live_response_per_kind_and_instrument(holder):
    alerts.signals_apply(evaluated(abnormal()), at=MORNING)
    assert responses.response_propose(kind="pause_buys", instrument_code="300750.SZ") is None


# --- thresholds are data, changed with four-eyes -------------------------------------------------


def test_a_threshold_change_needs_a_second_officer_and_is_audited(erin, ivan):
    row = Threshold.objects.get(rule="volume_spike", scope="all")
    change = thresholds.threshold_change_propose(
        officer=erin, threshold=row, value=D("6"), level="warning", enabled=True, reason="noisy"
    )
    with pytest.raises(thresholds.ThresholdError, match="Four-eyes"):
        thresholds.threshold_change_decide(officer=erin, change_id=change.pk, approve=True)
    assert thresholds.load().value("volume_spike") == D("5")
    thresholds.threshold_change_decide(officer=ivan, change_id=change.pk, approve=True)
    assert thresholds.load().value("volume_spike") == D("6")
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {
        "monitoring.threshold_change_proposed",
        "monitoring.threshold_change_approved",
    } <= actions


def test_the_default_thresholds_are_the_exchange_figures():
    table = thresholds.load()
    assert table.value("abnormal_deviation_3d", "main") == D(2000)
    assert table.value("abnormal_deviation_3d", "st") == D(1200)
    assert table.value("abnormal_deviation_3d", "growth") == D(3000)
    assert table.value("severe_deviation_10d_down") == D(5000)
    assert table.value("severe_deviation_30d_up") == D(20000)


def test_a_response_past_its_review_time_asks_an_officer_to_review_it_once(holder):
    alerts.signals_apply(evaluated(abnormal()), at=MORNING)
    pause = Response.objects.get()
    assert responses.responses_sweep(now=MORNING + datetime.timedelta(hours=23)) == 0
    later = MORNING + datetime.timedelta(hours=24, minutes=5)
    assert responses.responses_sweep(now=later) == 1
    assert responses.responses_sweep(now=later) == 0  # one review alert while it is open
    review = Alert.objects.get(rule="response_review")
    assert review.inputs["response"] == pause.pk and review.value == D(5)


def test_an_at_once_response_that_cannot_apply_waits_for_an_officer(settings):
    signal = abnormal(code="688981.SH")  # not an instrument the platform knows
    alerts.signals_apply(evaluated(signal), at=MORNING)
    response = Response.objects.get()
    assert (response.status, response.needs_confirmation) == ("proposed", True)
    assert "known instrument" in response.decision_note
    assert not MarketMeasure.objects.exists()


@time_machine.travel(MORNING, tick=False)
def test_the_client_reads_the_measures_in_force_on_the_margin_page(client, holder):
    from django.urls import reverse

    alerts.signals_apply(evaluated(abnormal()), at=MORNING)
    breaker = Signal("index_drop_severe", "market", "market", "critical", D(520), D(500), {})
    alerts.signals_apply(Pass([breaker], {"index_drop_severe"}), at=MORNING)
    client.force_login(holder.client)
    page = client.get(reverse("margin:index"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "circuit breaker is on" in page
    assert "Margin buys of 300750.SZ are paused" in page
