import asyncio
import datetime
import threading
from datetime import timedelta

import pytest
import time_machine
from asgiref.sync import async_to_sync
from celery.exceptions import Retry
from channels.layers import get_channel_layer
from django.core import mail
from django.db import connection
from django.utils import timezone

from audit.models import AuditEntry
from notices import services
from notices.models import Notification
from notices.sms import LocmemSmsBackend
from notices.tasks import deliver_notification
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
T0 = datetime.datetime(2026, 11, 25, 2, 0, tzinfo=datetime.UTC)


def alert(recipient, key="alert:1", event="password_changed", **kwargs):
    return services.enqueue(
        recipient=recipient,
        key="security_alert",
        context={"event": event, "when": "2026-11-25 10:00", "ip": "203.0.113.7"},
        idempotency_key=key,
        **kwargs,
    )


def test_email_goes_out_with_a_text_body_an_html_alternative_and_is_kept_as_sent(
    client_bob, deliver, settings
):
    settings.PORTAL_BASE_URL = "https://portal.wangrun.example"
    [row] = deliver(alert, client_bob, channels=["email"])
    row.refresh_from_db()
    [message] = mail.outbox
    assert message.to == ["bob@example.test"]
    assert message.subject == "Security alert for your 旺润 Wangrun account"
    assert "The password of your 旺润 Wangrun account was changed." in message.body
    assert "From IP address: 203.0.113.7" in message.body
    assert "Hello Bob Wang," in message.body
    assert "https://portal.wangrun.example/notices/preferences/" in message.body
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    assert 'href="https://portal.wangrun.example"' in html
    assert message.extra_headers["Content-Language"] == "en"
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, "")
    assert row.sent_at is not None
    assert row.subject == message.subject
    assert row.body == message.body
    assert row.html_body == html


def test_every_registered_email_names_the_platform_and_links_to_the_portal(
    client_bob, deliver, settings
):
    settings.PORTAL_BASE_URL = "https://portal.wangrun.example"
    deliver(
        services.enqueue,
        recipient=client_bob,
        key="welcome",
        context={},
        idempotency_key="w",
    )
    deliver(
        services.enqueue,
        recipient=client_bob,
        key="announcement",
        context={"title": "Holiday hours", "body": "Closed on 1 October."},
        idempotency_key="a",
    )
    deliver(alert, client_bob, channels=["email"])
    assert len(mail.outbox) == 3
    for message in mail.outbox:
        assert "旺润 Wangrun" in message.body
        assert "https://portal.wangrun.example" in message.body
        assert "旺润" in message.alternatives[0][0]


def test_email_html_declares_the_notifications_language(client_alice, client_bob, deliver):
    deliver(alert, client_alice, key="a", channels=["email"])
    deliver(alert, client_bob, key="b", channels=["email"])
    by_address = {m.to[0]: m for m in mail.outbox}
    assert '<html lang="zh-hans">' in by_address["alice@example.test"].alternatives[0][0]
    assert '<html lang="en">' in by_address["bob@example.test"].alternatives[0][0]
    assert by_address["alice@example.test"].extra_headers["Content-Language"] == "zh-hans"


@pytest.mark.time_machine(datetime.datetime(2026, 1, 15, 2, 0, tzinfo=datetime.UTC), tick=False)
def test_templates_render_in_the_notifications_language_not_the_workers(
    client_alice, client_bob, deliver, month_note
):
    from django.utils import translation

    with translation.override("en"):
        deliver(
            services.enqueue,
            recipient=client_alice,
            key="month_note",
            context={},
            idempotency_key="m:a",
            channels=["email"],
        )
    with translation.override("zh-hans"):
        deliver(
            services.enqueue,
            recipient=client_bob,
            key="month_note",
            context={},
            idempotency_key="m:b",
            channels=["email"],
        )
    by_address = {m.to[0]: m for m in mail.outbox}
    assert by_address["alice@example.test"].subject == "一月"
    assert by_address["bob@example.test"].subject == "January"


def test_text_templates_do_not_html_escape_but_the_html_part_does(client_bob, deliver):
    deliver(
        services.enqueue,
        recipient=client_bob,
        key="announcement",
        context={"title": "Q&A <new>", "body": "Fees won't change."},
        idempotency_key="a",
        channels=["email"],
    )
    [message] = mail.outbox
    assert message.subject == "旺润 Wangrun: Q&A <new>"
    assert "Fees won't change." in message.body
    assert "Q&amp;A &lt;new&gt;" in message.alternatives[0][0]


def test_sms_goes_through_the_configured_backend(client_alice, deliver):
    [row] = deliver(alert, client_alice, channels=["sms"], event="new_sign_in")
    [sms] = LocmemSmsBackend.outbox
    assert sms.phone == "13800000001"
    # Alice reads Chinese: the text opens with the registered SMS signature.
    assert sms.text.startswith("【旺润】")
    assert "新设备" in sms.text
    assert "\n" not in sms.text
    row.refresh_from_db()
    assert row.status == "sent"
    assert row.body == sms.text


def test_in_app_notice_is_stored_rendered_and_pushed_to_the_recipients_group_only(
    client_alice, client_bob, deliver, in_memory_channel_layer
):
    layer = get_channel_layer()
    alice_tab = async_to_sync(layer.new_channel)()
    bob_tab = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(f"notices.user.{client_alice.pk}", alice_tab)
    async_to_sync(layer.group_add)(f"notices.user.{client_bob.pk}", bob_tab)

    [row] = deliver(alert, client_alice, channels=["inapp"])

    row.refresh_from_db()
    assert row.status == "sent"
    assert row.subject == "旺润账户安全提醒"  # in Alice's language
    assert "203.0.113.7" in row.body
    event = async_to_sync(layer.receive)(alice_tab)
    assert event == {
        "type": "notice.push",
        "id": row.pk,
        "title": row.subject,
        "body": row.body,
        "unread": 1,
    }
    assert async_to_sync(receives_nothing)(layer, bob_tab)


async def receives_nothing(layer, channel) -> bool:
    try:
        await asyncio.wait_for(layer.receive(channel), timeout=0.2)
    except TimeoutError:
        return True
    return False


def test_a_failed_send_is_retried_with_exponential_backoff_and_then_given_up(
    client_alice, settings
):
    settings.SMS_BACKEND = "tests.notices.backends.FailingSmsBackend"
    settings.NOTICES_MAX_ATTEMPTS = 6
    settings.NOTICES_BACKOFF_SECONDS = 30
    with time_machine.travel(T0, tick=False) as traveller:
        [row] = alert(client_alice, channels=["sms"])
        waits = []
        for attempt in range(1, 7):
            result = services.notification_deliver(notification_id=row.pk)
            assert result is not None
            assert result.attempts == attempt
            assert "HTTP 503" in result.last_error
            if attempt == 6:
                break
            assert result.status == "pending"
            wait = result.next_attempt_at - timezone.now()
            waits.append(int(wait.total_seconds()))
            traveller.shift(wait - timedelta(seconds=1))
            assert services.notification_deliver(notification_id=row.pk) is None  # not due yet
            traveller.shift(timedelta(seconds=1))
    row.refresh_from_db()
    assert waits == [30, 60, 120, 240, 480]
    assert (row.status, row.attempts) == ("failed", 6)
    assert row.sent_at is None
    assert services.notification_deliver(notification_id=row.pk) is None


def test_a_retry_that_succeeds_clears_the_error(client_alice, settings):
    settings.EMAIL_BACKEND = "tests.notices.backends.FailingEmailBackend"
    with time_machine.travel(T0, tick=False) as traveller:
        [row] = alert(client_alice, channels=["email"])
        assert services.notification_deliver(notification_id=row.pk).status == "pending"
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        traveller.shift(timedelta(seconds=30))
        result = services.notification_deliver(notification_id=row.pk)
    assert (result.status, result.attempts, result.last_error) == ("sent", 2, "")
    assert len(mail.outbox) == 1


def test_a_provider_refusal_is_not_retried(client_alice, settings):
    settings.SMS_BACKEND = "tests.notices.backends.RefusingSmsBackend"
    [row] = alert(client_alice, channels=["sms"])
    result = services.notification_deliver(notification_id=row.pk)
    assert (result.status, result.attempts) == ("failed", 1)
    assert "invalid number" in result.last_error


def test_a_worker_schedules_its_own_retry_but_an_eager_call_leaves_it_to_the_sweep(
    client_alice, settings
):
    settings.SMS_BACKEND = "tests.notices.backends.FailingSmsBackend"
    [first, second] = [alert(client_alice, key=f"k{i}", channels=["sms"])[0] for i in range(2)]
    deliver_notification.apply(args=(first.pk,))  # eager: returns, no retry loop
    first.refresh_from_db()
    assert (first.status, first.attempts) == ("pending", 1)
    with pytest.raises(Retry):
        deliver_notification.run(second.pk)  # as a worker runs it
    second.refresh_from_db()
    assert (second.status, second.attempts) == ("pending", 1)


def test_a_second_claim_finds_nothing(client_alice):
    [row] = alert(client_alice, channels=["email"])
    assert services.notification_deliver(notification_id=row.pk) is not None
    assert services.notification_deliver(notification_id=row.pk) is None
    assert len(mail.outbox) == 1


def test_a_row_another_worker_is_sending_is_left_alone(client_alice):
    [row] = alert(client_alice, channels=["email"])
    Notification.objects.filter(pk=row.pk).update(status="sending", claimed_at=timezone.now())
    assert services.notification_deliver(notification_id=row.pk) is None
    assert mail.outbox == []


# SQLite serialises writers (and refuses some outright), so the race is only real on PostgreSQL.
@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_workers_racing_for_the_same_row_send_it_once(monkeypatch):
    monkeypatch.setattr(services, "_queue_delivery", lambda notification_id: None)
    alice = UserFactory(email="race@example.test", phone="13800000009")
    rows = alert(alice, channels=["email"])
    start = threading.Barrier(4)
    results, errors = [], []

    def worker():
        try:
            start.wait()
            results.append(services.notification_deliver(notification_id=rows[0].pk))
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(results) == 4
    assert sum(result is not None for result in results) == 1
    assert len(mail.outbox) == 1
    assert Notification.objects.get().attempts == 1


def test_a_broker_outage_at_commit_does_not_break_the_caller_and_the_sweep_catches_up(
    client_alice, deliver, monkeypatch
):
    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("redis is down")

    monkeypatch.setattr(deliver_notification, "delay", broker_down)
    [row] = deliver(alert, client_alice, channels=["email"])
    row.refresh_from_db()
    assert row.status == "pending"
    monkeypatch.undo()
    services.redeliver_stuck()
    row.refresh_from_db()
    assert row.status == "sent"
    assert len(mail.outbox) == 1


def test_redeliver_stuck_sends_a_pending_row_whose_task_was_lost(client_alice, settings):
    settings.NOTICES_DRAINERS = 2
    [row] = alert(client_alice, channels=["email"])  # its on-commit task never ran
    result = services.redeliver_stuck()
    assert result.drainers == 2
    row.refresh_from_db()
    assert row.status == "sent"
    assert len(mail.outbox) == 1


def test_redeliver_stuck_reclaims_a_claim_whose_lease_ran_out(client_alice, settings):
    settings.NOTICES_DRAINERS = 1
    [stale] = alert(client_alice, key="stale", channels=["email"])
    [fresh] = alert(client_alice, key="fresh", channels=["email"])
    now = timezone.now()
    Notification.objects.filter(pk=stale.pk).update(
        status="sending", attempts=1, claimed_at=now, lease_until=now - timedelta(seconds=1)
    )
    Notification.objects.filter(pk=fresh.pk).update(
        status="sending", attempts=1, claimed_at=now, lease_until=now + timedelta(seconds=10)
    )
    result = services.redeliver_stuck()
    assert (result.reclaimed, result.failed, result.drainers) == (1, 0, 1)
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert (stale.status, stale.attempts) == ("sent", 2)
    assert fresh.status == "sending"
    assert len(mail.outbox) == 1


def test_a_stuck_claim_that_used_its_last_attempt_is_marked_failed(client_alice, settings):
    settings.NOTICES_MAX_ATTEMPTS = 3
    [row] = alert(client_alice, channels=["email"])
    an_hour_ago = timezone.now() - timedelta(hours=1)
    Notification.objects.filter(pk=row.pk).update(
        status="sending", attempts=3, claimed_at=an_hour_ago, lease_until=an_hour_ago
    )
    assert services.redeliver_stuck().failed == 1
    row.refresh_from_db()
    assert row.status == "failed"
    assert "did not finish" in row.last_error
    assert mail.outbox == []


def test_redeliver_stuck_leaves_retries_that_are_not_due_yet(client_alice, settings):
    settings.SMS_BACKEND = "tests.notices.backends.FailingSmsBackend"
    [row] = alert(client_alice, channels=["sms"])
    services.notification_deliver(notification_id=row.pk)
    assert services.redeliver_stuck().drainers == 0
    with time_machine.travel(timezone.now() + timedelta(seconds=31)):
        settings.SMS_BACKEND = "notices.sms.LocmemSmsBackend"
        assert services.redeliver_stuck().drainers >= 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 2)


def test_running_the_sweep_twice_sends_each_notice_once(client_alice):
    alert(client_alice, key="a")
    alert(client_alice, key="b")
    services.redeliver_stuck()
    second = services.redeliver_stuck()
    assert second.drainers == 0
    assert len(mail.outbox) == 2
    assert len(LocmemSmsBackend.outbox) == 2
    assert set(Notification.objects.values_list("status", "attempts")) == {("sent", 1)}


def test_staff_can_requeue_a_failed_notice_for_a_fresh_set_of_attempts(
    client_alice, agent_carol, deliver
):
    [row] = alert(client_alice, channels=["email"])
    Notification.objects.filter(pk=row.pk).update(
        status="failed", attempts=6, last_error="SMTPServerDisconnected"
    )
    assert (
        deliver(services.notifications_requeue_failed, notification_ids=[row.pk], actor=agent_carol)
        == 1
    )
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 1)
    entry = AuditEntry.objects.get(action="notice.requeued")
    assert entry.actor == agent_carol
    assert entry.data["previous_error"] == "SMTPServerDisconnected"


def test_requeue_ignores_notices_that_did_not_fail(client_alice, agent_carol):
    [row] = alert(client_alice, channels=["email"])
    assert services.notifications_requeue_failed(notification_ids=[row.pk], actor=agent_carol) == 0
    assert not AuditEntry.objects.filter(action="notice.requeued").exists()


def test_a_late_failure_does_not_overwrite_the_row_after_the_sweep_reassigned_it(
    client_alice, settings, monkeypatch
):
    settings.SMS_BACKEND = "tests.notices.backends.FailingSmsBackend"
    [row] = alert(client_alice, channels=["sms"])
    reclaimed_at = timezone.now() + timedelta(minutes=6)

    def slow_send(notification, rendered):
        # While this worker hangs, the sweep hands the row to another worker.
        Notification.objects.filter(pk=row.pk).update(claimed_at=reclaimed_at, attempts=2)
        raise ConnectionResetError("provider hung up")

    monkeypatch.setattr(services, "_send", slow_send)
    result = services.notification_deliver(notification_id=row.pk)
    assert (result.status, result.claimed_at, result.attempts) == ("sending", reclaimed_at, 2)
    assert result.last_error == ""
