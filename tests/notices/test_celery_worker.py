"""Delivery through a real Celery worker consuming the Redis broker (not eager mode)."""

import datetime
import os
import time
import uuid
from contextlib import contextmanager

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core import mail
from django.utils import timezone

from notices import services, tasks
from notices.models import Notification
from notices.sms import LocmemSmsBackend
from portal.celery import app
from tests.factories import UserFactory
from tests.notices.backends import FlakySmsBackend

# The worker builds its task table when it starts: the tasks must be registered before that.
assert tasks.deliver_notification.name == "notices.tasks.deliver_notification"

pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL"),
]


@contextmanager
def real_worker():
    """A worker thread on the Redis broker, on a queue of its own so no other worker steals work."""
    queue = f"test-notices-{uuid.uuid4().hex[:8]}"
    saved = {key: app.conf[key] for key in ("task_always_eager", "broker_url", "task_routes")}
    app.close()
    app.conf.task_always_eager = False
    app.conf.broker_url = settings.CELERY_BROKER_URL
    app.conf.task_routes = {"notices.tasks.*": {"queue": queue}}
    app.amqp.flush_routes()
    app.amqp.router = app.amqp.Router()
    try:
        with start_worker(
            app, pool="solo", perform_ping_check=False, queues=[queue], shutdown_timeout=10
        ) as worker:
            yield worker
    finally:
        with app.connection_for_write() as conn:
            # The queue, and the exchange kombu declared for it under the same name.
            conn.default_channel.client.delete(
                queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}"
            )
        for key, value in saved.items():
            app.conf[key] = value
        app.amqp.flush_routes()
        app.amqp.router = app.amqp.Router()
        app.close()


def wait_until_settled(expected: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (
            Notification.objects.filter(status__in=["sent", "failed", "skipped"]).count()
            >= expected
        ):
            return
        time.sleep(0.05)
    states = list(Notification.objects.values_list("pk", "status", "attempts", "last_error"))
    raise AssertionError(f"outbox did not settle in {timeout}s: {states}")


def test_a_real_worker_delivers_every_notice_exactly_once():
    alice = UserFactory(email="alice-celery@example.test", phone="13800000011")
    bob = UserFactory(email="bob-celery@example.test", language="en", phone="13800000012")
    with real_worker():
        rows = []
        for user in (alice, bob):
            rows += services.enqueue(
                recipient=user,
                key="security_alert",
                context={"event": "password_changed"},
                idempotency_key=f"pw:{user.pk}",
            )
            rows += services.enqueue(
                recipient=user, key="welcome", context={}, idempotency_key=f"welcome:{user.pk}"
            )
        # A sweep racing the first deliveries queues duplicates; the claim must absorb them.
        services.redeliver_stuck()
        wait_until_settled(len(rows))

    assert len(rows) == 10
    states = set(Notification.objects.values_list("status", "attempts"))
    assert states == {("sent", 1)}
    # The worker is a thread of this process, so it reads the session's clock (`--at` included)
    # and a notice is sent "now" for the code under test, whatever the wall clock says.
    sent = Notification.objects.values_list("sent_at", flat=True)
    assert all(abs(at - timezone.now()) < datetime.timedelta(minutes=5) for at in sent)
    assert sorted(m.to[0] for m in mail.outbox) == [
        "alice-celery@example.test",
        "alice-celery@example.test",
        "bob-celery@example.test",
        "bob-celery@example.test",
    ]
    assert sorted(m.phone for m in LocmemSmsBackend.outbox) == ["13800000011", "13800000012"]


def test_a_real_worker_retries_a_failed_send_after_the_backoff(settings):
    settings.SMS_BACKEND = "tests.notices.backends.FlakySmsBackend"
    settings.NOTICES_BACKOFF_SECONDS = 1
    FlakySmsBackend.seen.clear()
    FlakySmsBackend.delivered.clear()
    alice = UserFactory(email="alice-retry@example.test", phone="13800000021")
    with real_worker():
        [row] = services.enqueue(
            recipient=alice,
            key="security_alert",
            context={"event": "new_sign_in"},
            idempotency_key="sign-in:1",
            channels=["sms"],
        )
        wait_until_settled(1)
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, "")
    assert FlakySmsBackend.delivered == ["13800000021"]
