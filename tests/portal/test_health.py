import datetime

import pytest
import time_machine
from django.urls import reverse

from portal import health

pytestmark = pytest.mark.django_db


def test_healthz_answers_while_the_process_lives(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_names_every_dependency_and_is_ready(client):
    response = client.get(reverse("readyz"))
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "channel_layer", "broker"}


def test_readyz_is_503_and_names_what_is_down(client, monkeypatch):
    def refuse(*args, **kwargs):
        raise ConnectionError("refused by redis://ops:secret@10.0.0.5:6379")

    monkeypatch.setattr(health.cache, "set", refuse)
    response = client.get(reverse("readyz"))
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    # Only the kind of failure is public; hosts and users in the message go to the log.
    assert body["checks"]["cache"] == {"ok": False, "error": "ConnectionError"}
    assert "secret" not in response.content.decode()
    assert body["checks"]["database"] == {"ok": True}


@pytest.mark.services
def test_readyz_reaches_the_real_redis_broker_and_reports_it_down(settings):
    from portal.celery import app

    assert health.check_channel_layer() is None
    app.conf.task_always_eager = False
    try:
        assert health.check_broker() is None
        app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
        assert health.check_broker() is not None
    finally:
        app.conf.broker_url = settings.CELERY_BROKER_URL
        app.conf.task_always_eager = True


# --- details for operators --------------------------------------------------------------------

T0 = datetime.datetime(2026, 11, 25, 2, 0, tzinfo=datetime.UTC)


@pytest.fixture
def waiting_notice(client_alice):
    """A notice written at T0 whose delivery task the broker lost."""
    from notices import services

    with time_machine.travel(T0, tick=False):
        [row] = services.enqueue(
            recipient=client_alice,
            key="welcome",
            context={},
            idempotency_key="welcome:1",
            channels=["email"],
        )
    return row


def test_the_public_never_sees_the_outbox(client, settings, waiting_notice):
    settings.READYZ_TOKEN = "ops-token-0123456789"
    with time_machine.travel(T0 + datetime.timedelta(seconds=90), tick=False):
        anonymous = client.get(reverse("readyz")).json()
        wrong = client.get(reverse("readyz"), headers={"Authorization": "Bearer guess"}).json()
    assert "details" not in anonymous
    assert "details" not in wrong


def test_an_operator_sees_how_long_the_oldest_due_notice_has_waited(
    client, settings, waiting_notice
):
    settings.READYZ_TOKEN = "ops-token-0123456789"
    settings.NOTICES_STALLED_AFTER_SECONDS = 60
    auth = {"Authorization": "Bearer ops-token-0123456789"}
    with time_machine.travel(T0 + datetime.timedelta(seconds=45), tick=False):
        keeping_up = client.get(reverse("readyz"), headers=auth).json()["details"]["outbox"]
    with time_machine.travel(T0 + datetime.timedelta(seconds=90), tick=False):
        response = client.get(reverse("readyz"), headers=auth)
    outbox = response.json()["details"]["outbox"]
    assert keeping_up == {
        "due": 1,
        "oldest_due_seconds": 45.0,
        "sending": 0,
        "expired_leases": 0,
        "stalled": False,
    }
    assert (outbox["oldest_due_seconds"], outbox["stalled"]) == (90.0, True)
    assert response.status_code == 200  # a stalled outbox is no reason to stop serving pages


def test_without_a_token_configured_nobody_gets_details(client, settings, waiting_notice):
    settings.READYZ_TOKEN = ""
    response = client.get(reverse("readyz"), headers={"Authorization": "Bearer "})
    assert "details" not in response.json()
