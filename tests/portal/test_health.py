import pytest
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
