"""The risk board and working alerts, responses, thresholds and event files in the admin."""

import datetime
from decimal import Decimal as D

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from monitoring import alerts, thresholds
from monitoring.models import (
    Alert,
    BookSnapshot,
    ExternalEvent,
    Response,
    Threshold,
    ThresholdChange,
)
from monitoring.surveillance import Pass, Signal
from tests.margin.conftest import make_account
from tests.monitoring.conftest import _staff

pytestmark = pytest.mark.django_db
MORNING = datetime.datetime(2026, 11, 26, 2, 30, tzinfo=datetime.UTC)


@pytest.fixture
def book(client_alice, settings):
    settings.MONITORING_RESPONSES_AT_ONCE = []
    make_account(client_alice, holdings=[("300750.SZ", 100, "200.00")])
    for minutes, financing in ((0, 0.35), (5, 0.4)):  # two points make a sparkline
        BookSnapshot.objects.create(
            at=MORNING + datetime.timedelta(minutes=minutes),
            values={
                "accounts": 1,
                "levels": {"safe": 1, "watch": 0, "warning": 0, "call": 0, "liquidation": 0},
                "at_call_share": 0,
                "financing_share": financing,
                "top_instruments": [["300750.SZ", 1.0]],
                "sectors": {"电池": 1.0},
            },
        )
    signal = Signal("abnormal_deviation_3d", "instrument", "300750.SZ", "warning", D(3000), D(3000))
    return alerts.signals_apply(Pass([signal], {"abnormal_deviation_3d"}), at=MORNING)[0]


def test_a_risk_officer_works_an_alert_from_the_board(client, book, erin):
    client.force_login(erin)
    page = client.get(reverse("admin:monitoring_board")).content.decode()
    assert "300750.SZ" in page and "abnormal_deviation_3d" in page and "<svg" in page
    work = reverse("admin:monitoring_alert_work", args=[book.pk])
    client.post(work, {"action": "acknowledge", "note": ""})
    assert Alert.objects.get().status == "acknowledged"
    response = Response.objects.get(alert=book)
    decide = reverse("admin:monitoring_response_decide", args=[response.pk])
    client.post(decide, {"action": "confirm", "note": "flag confirmed on the SZSE site"})
    assert Response.objects.get().status == "active"
    client.post(work, {"action": "close", "outcome": "acted_on", "note": "buys paused"})
    assert Alert.objects.get().outcome == "acted_on"


@pytest.mark.parametrize("role", ["agent", "kyc_reviewer"])
def test_other_staff_cannot_see_the_board_or_work_alerts(client, book, role):
    client.force_login(_staff(role))
    assert client.get(reverse("admin:monitoring_board")).status_code == 403
    work = reverse("admin:monitoring_alert_work", args=[book.pk])
    assert client.post(work, {"action": "acknowledge"}).status_code == 403


def test_compliance_reads_the_board_but_cannot_work_it(client, book):
    client.force_login(_staff("compliance"))
    assert client.get(reverse("admin:monitoring_board")).status_code == 200
    work = reverse("admin:monitoring_alert_work", args=[book.pk])
    assert client.post(work, {"action": "acknowledge"}).status_code == 403


def test_a_threshold_change_is_proposed_in_admin_and_approved_by_another(client, book, erin, ivan):
    row = Threshold.objects.get(rule="volume_spike")
    client.force_login(erin)
    url = reverse("admin:monitoring_threshold_propose", args=[row.pk])
    client.post(url, {"value": "8", "level": "warning", "enabled": "on", "reason": "too noisy"})
    change = ThresholdChange.objects.get()
    changelist = reverse("admin:monitoring_thresholdchange_changelist")
    client.post(changelist, {"action": "approve", "_selected_action": [change.pk]})
    assert ThresholdChange.objects.get().status == "proposed"  # not by the proposer
    client.force_login(ivan)
    client.post(changelist, {"action": "approve", "_selected_action": [change.pk]})
    assert Threshold.objects.get(pk=row.pk).value == D(8)


def test_an_event_file_is_imported_in_admin(client, book, erin):
    client.force_login(erin)
    upload = SimpleUploadedFile(
        "events.csv",
        b"time,instrument,severity,source,text\n"
        b"2026-11-26T10:00:00,300750.SZ,critical,Caixin,Inquiry letter\n",
    )
    client.post(reverse("admin:monitoring_externalevent_import"), {"file": upload})
    assert ExternalEvent.objects.get().alert.level == "critical"


def test_the_board_says_when_a_partition_of_the_book_is_stale(client, erin):
    from django.core.cache import cache

    from monitoring import live

    at = datetime.datetime(2026, 11, 26, 2, 0, tzinfo=datetime.UTC)
    coverage = {"partitions": 3, "reported": 3, "missing": [], "stale": [2], "oldest_at": None}
    values = {
        "accounts": 7,
        "levels": {"safe": 7},
        "at_call_share": 0,
        "financing_share": 0.5,
        "top_instruments": [],
        "sectors": {},
        "partitions": coverage,
    }
    cache.set(live.LATEST_KEY, {"at": at, "values": values}, 60)
    try:
        client.force_login(erin)
        page = client.get(reverse("admin:monitoring_board")).content.decode()
    finally:
        cache.delete(live.LATEST_KEY)
    assert "Engine partitions reported: 3 of 3." in page
    assert "Stale (their accounts are counted as last reported): 2." in page
    assert "7 accounts" in page


@pytest.fixture
def carla(db):
    """A compliance officer."""
    return _staff("compliance", email="carla@example.test")


def test_compliance_confirms_a_severe_threshold_against_the_rule_text_with_a_second_officer(
    client, carla, erin
):
    row = Threshold.objects.get(rule="severe_deviation_10d_up", scope="all")
    assert row.source and row.source_confirmed_at is None
    client.force_login(carla)
    listing = client.get(reverse("admin:monitoring_threshold_changelist")).content.decode()
    assert row.source in listing and "Not confirmed" in listing
    url = reverse("admin:monitoring_threshold_propose", args=[row.pk])
    source = "SSE Trading Rules (checked text, version and article as printed)"
    client.post(
        url,
        {
            "value": "10000",
            "level": "critical",
            "enabled": "on",
            "reason": "checked against the exchange's current text",
            "source": source,
            "confirms_source": "on",
        },
    )
    change = ThresholdChange.objects.get()
    assert (change.proposed_by, change.source, change.confirms_source) == (carla, source, True)
    with pytest.raises(thresholds.ThresholdError, match="Four-eyes"):
        thresholds.threshold_change_decide(officer=carla, change_id=change.pk, approve=True)
    thresholds.threshold_change_decide(officer=erin, change_id=change.pk, approve=True)
    row.refresh_from_db()
    assert row.source == source and row.source_confirmed_at is not None


def test_a_confirmation_must_name_the_rule_text(erin):
    row = Threshold.objects.get(rule="volume_spike", scope="all")
    Threshold.objects.filter(pk=row.pk).update(source="")
    row.refresh_from_db()
    with pytest.raises(thresholds.ThresholdError, match="Name the rule text"):
        thresholds.threshold_change_propose(
            officer=erin,
            threshold=row,
            value=D("5"),
            level="warning",
            enabled=True,
            reason="checked",
            confirms_source=True,
        )
