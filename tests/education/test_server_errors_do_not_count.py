"""A confirmation the server failed to store is not a try: the client is never locked out by it."""

import pytest
from django.db import OperationalError
from django.test import Client
from django.urls import reverse

from education import rules, services
from education.models import GateConfirmation
from tests.education import factories
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def post_confirmation(client, reading, password=PASSWORD):
    return client.post(
        reverse("education:confirm", args=[reading.token]),
        {
            "version_id": reading.version_id,
            "typed": rules.sentence_for(reading.language),
            "password": password,
        },
    )


@pytest.mark.parametrize(
    ("error", "status"),
    [
        # An outage-shaped error is answered 503 "temporarily unavailable" (portal.middleware).
        (OperationalError("database is locked"), 503),
        (RuntimeError("a bug"), 500),
    ],
)
def test_attempts_answered_with_a_server_error_do_not_count_against_the_limit(
    gate_world, monkeypatch, error, status
):
    user = factories.client()
    factories.pass_quiz(user)
    reading = factories.read_warning(user)
    client = Client(raise_request_exception=False)
    client.force_login(user)
    real_create = GateConfirmation.objects.create

    def failing(**kwargs):
        raise error

    monkeypatch.setattr(GateConfirmation.objects, "create", failing)
    for _ in range(services.REAUTH_ATTEMPTS + 2):
        assert post_confirmation(client, reading).status_code == status
    monkeypatch.setattr(GateConfirmation.objects, "create", real_create)

    response = post_confirmation(client, reading)
    assert response.status_code == 302
    assert GateConfirmation.objects.filter(user=user).count() == 1


def test_wrong_passwords_still_count(gate_world, one_rate_window):
    user = factories.client()
    factories.pass_quiz(user)
    reading = factories.read_warning(user)
    client = Client()
    client.force_login(user)
    for _ in range(services.REAUTH_ATTEMPTS):
        assert "不正确" in post_confirmation(client, reading, password="guess").content.decode()
    refused = post_confirmation(client, reading)
    assert refused.status_code == 200 and "尝试次数过多" in refused.content.decode()
    assert not GateConfirmation.objects.filter(user=user).exists()
