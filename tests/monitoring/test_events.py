"""External events from a third party's file become alerts linked to the book they touch."""

import json
from decimal import Decimal as D

import pytest
from django.core.management import CommandError, call_command

from monitoring import events
from monitoring.models import Alert, ExternalEvent
from tests.margin.conftest import make_account

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(client_alice):
    account = make_account(client_alice, holdings=[("300750.SZ", 100, "200.00")])
    account.positions.first().instrument.__class__.objects.filter(code="300750.SZ").update(
        sector="电池"
    )
    return account


def test_a_json_file_raises_one_alert_per_event_with_the_book_affected(book):
    data = json.dumps(
        [
            {
                "time": "2026-11-26T10:05:00",
                "instrument": "300750.SZ",
                "severity": "high",
                "source": "Caixin",
                "text": "Regulator opens an inquiry into the company's accounts",
            },
            {
                "time": "2026-11-26T10:06:00",
                "market": "",
                "severity": "medium",
                "source": "NBS",
                "text": "PMI below 50 for the third month",
            },
        ]
    ).encode()
    created = events.events_import(data=data, name="events.json", actor="test")
    assert len(created) == 2
    alert = Alert.objects.get(subject="300750.SZ")
    assert (alert.rule, alert.level, alert.source) == ("external_event", "critical", "event")
    assert alert.inputs["book"] == {"accounts": 1, "value_yuan": "20000.00", "share": "1.0000"}
    assert Alert.objects.get(subject="market").level == "warning"
    # The same file again imports nothing new.
    assert events.events_import(data=data, name="events.json", actor="test") == []
    assert ExternalEvent.objects.count() == 2


def test_a_csv_file_with_one_bad_row_imports_nothing(book, tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(
        "time,scope,subject,severity,source,text\n"
        "2026-11-26T10:00:00,sector,电池,warning,Weibo,Battery makers trending after fire\n"
        "yesterday,instrument,999999.SH,urgent,,\n",
        encoding="utf-8",
    )
    with pytest.raises(CommandError) as error:
        call_command("import_market_events", str(path))
    message = str(error.value)
    assert "Event 2" in message and "ISO 8601" in message
    assert not ExternalEvent.objects.exists() and not Alert.objects.exists()
    path.write_text(
        path.read_text(encoding="utf-8").splitlines()[0]
        + "\n"
        + path.read_text(encoding="utf-8").splitlines()[1]
        + "\n",
        encoding="utf-8",
    )
    call_command("import_market_events", str(path))
    event = ExternalEvent.objects.get()
    assert (event.scope, event.subject, event.alert.subject_kind) == ("sector", "电池", "sector")
    assert D(event.book["share"]) == 1
