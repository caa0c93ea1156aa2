import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.db import transaction

import notices
from notices import registry, services
from notices.models import NoticePreference, Notification
from notices.registry import Channel, NoticeTemplateMissing, UnknownNoticeType
from notices.services import NoticeContextError

pytestmark = pytest.mark.django_db


def welcome(recipient, key="welcome:1", **kwargs):
    return services.enqueue(
        recipient=recipient, key="welcome", context={}, idempotency_key=key, **kwargs
    )


def test_unknown_template_key_fails_at_enqueue_and_writes_nothing(client_alice):
    with pytest.raises(UnknownNoticeType, match="no_such_notice"):
        services.enqueue(
            recipient=client_alice, key="no_such_notice", context={}, idempotency_key="x:1"
        )
    assert not Notification.objects.exists()


def test_unknown_key_is_a_value_error_for_callers_that_catch_those(client_alice):
    with pytest.raises(ValueError):
        notices.enqueue(recipient=client_alice, key="nope", context={}, idempotency_key="x:1")


def test_a_type_without_its_templates_fails_at_enqueue_and_writes_nothing(client_alice):
    registry.register(
        registry.NoticeType(key="untemplated", category="general", channels=(Channel.EMAIL,))
    )
    try:
        with pytest.raises(NoticeTemplateMissing, match=r"emails/untemplated-subject\.txt"):
            services.enqueue(
                recipient=client_alice, key="untemplated", context={}, idempotency_key="u:1"
            )
    finally:
        registry.unregister("untemplated")
    assert not Notification.objects.exists()


def test_context_that_is_not_json_fails_at_enqueue_and_writes_nothing(client_alice):
    with pytest.raises(NoticeContextError, match="datetime is not JSON-serialisable"):
        services.enqueue(
            recipient=client_alice,
            key="security_alert",
            context={"event": "new_sign_in", "when": datetime.datetime(2026, 11, 25, 9, 30)},
            idempotency_key="alert:1",
        )
    assert not Notification.objects.exists()


def test_a_failed_enqueue_leaves_the_callers_earlier_rows_alone(client_alice):
    with transaction.atomic():
        welcome(client_alice)
        with pytest.raises(NoticeContextError):
            services.enqueue(
                recipient=client_alice,
                key="announcement",
                context={"title": "t", "body": object()},
                idempotency_key="a:1",
            )
    assert sorted(Notification.objects.values_list("key", flat=True)) == ["welcome", "welcome"]


def test_context_without_the_keys_the_templates_need_fails_at_enqueue(client_alice):
    with pytest.raises(NoticeContextError, match="event"):
        services.enqueue(
            recipient=client_alice, key="security_alert", context={}, idempotency_key="alert:1"
        )
    assert not Notification.objects.exists()


def test_decimal_in_context_is_stored_as_a_string_never_a_float(client_alice):
    [row, *_] = services.enqueue(
        recipient=client_alice,
        key="announcement",
        context={"title": "利率调整", "body": "new rate", "rate": Decimal("0.0860")},
        idempotency_key="a:1",
        channels=[Channel.INAPP],
    )
    row.refresh_from_db()
    assert row.context["rate"] == "0.0860"


def test_a_channel_the_type_does_not_use_is_refused(client_alice):
    with pytest.raises(ValueError, match="sms"):
        welcome(client_alice, channels=[Channel.SMS])
    assert not Notification.objects.exists()


def test_enqueue_writes_one_pending_row_per_channel_with_channel_suffixed_keys(client_alice):
    rows = services.enqueue(
        recipient=client_alice,
        key="security_alert",
        context={"event": "password_changed"},
        idempotency_key="pw:alice:1",
    )
    assert [(r.channel, r.idempotency_key, r.status) for r in rows] == [
        ("email", "pw:alice:1:email", "pending"),
        ("sms", "pw:alice:1:sms", "pending"),
        ("inapp", "pw:alice:1:inapp", "pending"),
    ]
    assert [r.address for r in rows] == ["alice@example.test", "13800000001", ""]
    assert {r.category for r in rows} == {"security"}


def test_enqueuing_the_same_key_twice_creates_nothing_new(client_alice):
    first = welcome(client_alice, key="welcome:alice")
    again = welcome(client_alice, key="welcome:alice")
    assert [r.pk for r in again] == [r.pk for r in first]
    assert Notification.objects.count() == 2


@pytest.mark.parametrize("key", ["", "k" * 191])
def test_an_idempotency_key_that_is_empty_or_too_long_is_refused(client_alice, key):
    with pytest.raises(ValueError, match="idempotency key"):
        welcome(client_alice, key=key)
    assert not Notification.objects.exists()


def test_re_enqueuing_returns_the_rows_already_there_even_after_a_preference_change(
    client_alice,
):
    first = welcome(client_alice, key="welcome:alice")
    services.notice_preferences_set(user=client_alice, enabled={("general", "email"): False})
    assert [r.pk for r in welcome(client_alice, key="welcome:alice")] == [r.pk for r in first]


def test_reusing_an_idempotency_key_for_a_different_notice_is_an_error(client_alice, client_bob):
    welcome(client_alice, key="shared")
    with pytest.raises(ValueError, match="already used"):
        welcome(client_bob, key="shared")
    assert Notification.objects.filter(recipient=client_bob).count() == 0


def test_rows_are_delivered_only_after_the_callers_transaction_commits(
    client_alice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        welcome(client_alice)
        assert mail.outbox == []
        assert set(Notification.objects.values_list("status", flat=True)) == {"pending"}
    assert len(callbacks) >= 2
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}
    assert len(mail.outbox) == 1


def test_nothing_is_queued_when_the_callers_transaction_rolls_back(
    client_alice, django_capture_on_commit_callbacks
):
    class Abort(Exception):
        pass

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(Abort),
        transaction.atomic(),
    ):
        welcome(client_alice)
        raise Abort
    assert callbacks == []
    assert not Notification.objects.exists()
    assert mail.outbox == []


def test_sms_to_a_client_without_a_phone_is_recorded_as_skipped(client_bob, deliver):
    rows = deliver(
        services.enqueue,
        recipient=client_bob,
        key="security_alert",
        context={"event": "mfa_disabled"},
        idempotency_key="mfa:bob:1",
    )
    sms = Notification.objects.get(pk=next(r.pk for r in rows if r.channel == "sms"))
    assert sms.status == "skipped"
    assert "no mobile number" in sms.last_error
    assert sms.attempts == 0
    assert Notification.objects.filter(status="sent").count() == 2


def test_language_follows_the_recipient_unless_given(client_alice, client_bob):
    [alice_row, *_] = welcome(client_alice, key="w:a")
    [bob_row, *_] = welcome(client_bob, key="w:b")
    [override, *_] = welcome(client_alice, key="w:a2", language="en")
    [variant, *_] = welcome(client_alice, key="w:a3", language="zh-cn")
    [unknown, *_] = welcome(client_bob, key="w:b2", language="tlh")
    assert alice_row.language == "zh-hans"
    assert bob_row.language == "en"
    assert override.language == "en"
    assert variant.language == "zh-hans"
    assert unknown.language == "zh-hans"


def test_allauth_email_is_stored_as_rendered_and_sent_to_the_address(client_alice, deliver):
    row = deliver(
        services.enqueue_account_email,
        address="ALICE@example.test",
        subject="[旺润] Please confirm\nyour email",
        body="Click the link.",
        html="<p>Click the link.</p>",
        template="account/email/email_confirmation",
        language="en",
    )
    row.refresh_from_db()
    assert row.recipient == client_alice
    assert row.category == "security"
    assert row.subject == "[旺润] Please confirm your email"
    assert row.status == "sent"
    [message] = mail.outbox
    assert message.to == ["ALICE@example.test"]
    assert message.subject == "[旺润] Please confirm your email"
    assert message.alternatives[0][0] == "<p>Click the link.</p>"


def test_allauth_email_to_an_address_nobody_has_yet_is_still_sent(db, deliver):
    row = deliver(
        services.enqueue_account_email,
        address="stranger@example.test",
        subject="Password reset",
        body="Someone asked to reset a password.",
    )
    row.refresh_from_db()
    assert row.recipient is None
    assert row.language == "zh-hans"
    assert row.status == "sent"
    assert mail.outbox[0].to == ["stranger@example.test"]


def test_allauth_emails_cannot_be_turned_off(client_alice, deliver):
    NoticePreference.objects.create(
        user=client_alice, category="security", channel="email", enabled=False
    )
    deliver(
        services.enqueue_account_email,
        address=client_alice.email,
        subject="Your password was changed",
        body="...",
    )
    assert len(mail.outbox) == 1


def test_each_allauth_email_is_a_separate_notice(client_alice):
    for _ in range(2):
        services.enqueue_account_email(address=client_alice.email, subject="Code", body="123456")
    assert Notification.objects.filter(key="account_email").count() == 2


def test_a_prerendered_type_cannot_be_enqueued_from_templates(client_alice):
    with pytest.raises(ValueError, match="rendered by its caller"):
        services.enqueue(
            recipient=client_alice, key="account_email", context={}, idempotency_key="acc:1"
        )


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_processes_enqueuing_the_same_key_at_once_write_it_once(monkeypatch):
    import threading

    from django.db import connection

    from tests.factories import UserFactory

    monkeypatch.setattr(services, "_queue_delivery", lambda notification_id: None)
    carol = UserFactory(email="carol-race@example.test")
    start = threading.Barrier(4)
    results, errors = [], []

    def caller():
        try:
            start.wait()
            results.append([r.pk for r in welcome(carol, key="welcome:carol")])
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=caller) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Notification.objects.count() == 2
    assert all(sorted(pks) == sorted(results[0]) for pks in results)


def test_not_before_holds_a_new_notice_until_then(client_alice):
    later = datetime.datetime(2026, 12, 7, 1, 0, tzinfo=datetime.UTC)
    (row,) = welcome(client_alice, channels=["email"], not_before=later)
    row.refresh_from_db()
    assert row.next_attempt_at == later


def test_not_before_moves_an_untried_notice_enqueued_earlier_under_the_same_key(client_alice):
    (first,) = welcome(client_alice, channels=["email"])
    later = first.next_attempt_at + datetime.timedelta(hours=3)
    (again,) = welcome(client_alice, channels=["email"], not_before=later)
    again.refresh_from_db()
    assert again.pk == first.pk and again.next_attempt_at == later


def test_not_before_leaves_a_notice_already_tried_alone(client_alice):
    (first,) = welcome(client_alice, channels=["email"])
    Notification.objects.filter(pk=first.pk).update(attempts=1)
    later = first.next_attempt_at + datetime.timedelta(hours=3)
    welcome(client_alice, channels=["email"], not_before=later)
    first.refresh_from_db()
    assert first.next_attempt_at != later


def _requests(recipients, prefix="alert"):
    return [
        services.NoticeRequest(
            recipient=recipient,
            key="security_alert",
            context={"event": "password_changed"},
            idempotency_key=f"{prefix}:{recipient.pk}",
        )
        for recipient in recipients
    ]


def test_a_batch_writes_what_enqueue_would_and_delivers_after_commit(
    client_alice, client_bob, deliver
):
    services.notice_preferences_set(user=client_bob, enabled={("general", "email"): False})
    rows = deliver(services.enqueue_many, _requests([client_alice, client_bob]))
    single = services.enqueue(
        recipient=client_alice,
        key="security_alert",
        context={"event": "password_changed"},
        idempotency_key="single",
    )
    assert [(r.channel, r.idempotency_key) for r in rows[:3]] == [
        ("email", f"alert:{client_alice.pk}:email"),
        ("sms", f"alert:{client_alice.pk}:sms"),
        ("inapp", f"alert:{client_alice.pk}:inapp"),
    ]
    assert [(r.address, r.category, r.language, r.context) for r in rows[:3]] == [
        (r.address, r.category, r.language, r.context) for r in single
    ]
    assert Notification.objects.get(pk=rows[0].pk).status == "sent"
    assert len(mail.outbox) == 2  # alice and bob: a security alert cannot be turned off


def test_a_batch_again_creates_nothing_new_and_a_reused_key_is_an_error(client_alice, client_bob):
    first = services.enqueue_many(_requests([client_alice]))
    again = services.enqueue_many(_requests([client_alice, client_alice]))
    assert [r.pk for r in again] == [r.pk for r in first] * 2
    assert Notification.objects.count() == 3
    clash = _requests([client_bob])[0]
    clash = services.NoticeRequest(
        recipient=client_bob, key=clash.key, context=clash.context,
        idempotency_key=f"alert:{client_alice.pk}",
    )  # fmt: skip
    with pytest.raises(ValueError, match="already used"):
        services.enqueue_many([clash])


def test_a_bad_request_in_a_batch_writes_nothing(client_alice, client_bob):
    bad = services.NoticeRequest(
        recipient=client_bob, key="security_alert", context={}, idempotency_key="bad"
    )
    with pytest.raises(NoticeContextError):
        services.enqueue_many([*_requests([client_alice]), bad])
    assert not Notification.objects.exists()


def test_a_large_batch_is_handed_to_the_workers_in_batches(client_alice, monkeypatch, deliver):
    batches = []
    monkeypatch.setattr(services, "_queue_batch_delivery", lambda ids: batches.append(ids))
    monkeypatch.setattr(services, "_queue_delivery", lambda pk: pytest.fail("one task per row"))
    requests = [
        services.NoticeRequest(r.recipient, r.key, r.context, f"bulk:{i}")
        for i in range(40)
        for r in _requests([client_alice])
    ]
    deliver(services.enqueue_many, requests)
    pending = Notification.objects.filter(status="pending").count()
    assert pending == 3 * len(requests)
    assert [len(b) for b in batches] == [services.DELIVERY_BATCH] * (
        pending // services.DELIVERY_BATCH
    ) + ([pending % services.DELIVERY_BATCH] if pending % services.DELIVERY_BATCH else [])


def test_many_batches_are_queued_by_one_worker_task_not_by_the_caller(
    client_alice, client_bob, monkeypatch, deliver
):
    """A fall's thousands of notices: the caller publishes one task after commit, which queues
    the delivery batches; a few batches are still queued directly."""
    from notices import tasks

    fanned, batches = [], []
    monkeypatch.setattr(services, "_queue_batch_delivery", lambda ids: batches.append(ids))
    queue = tasks.queue_deliveries.delay
    monkeypatch.setattr(
        tasks.queue_deliveries, "delay", lambda ids: fanned.append(ids) or queue(ids)
    )
    few = [
        services.NoticeRequest(r.recipient, r.key, r.context, f"few:{i}")
        for i in range(10)
        for r in _requests([client_alice])
    ]
    deliver(services.enqueue_many, few)
    assert fanned == [] and len(batches) == 1
    many = [
        services.NoticeRequest(r.recipient, r.key, r.context, f"many:{i}:{r.recipient.pk}")
        for i in range(50)
        for r in _requests([client_alice, client_bob])
    ]
    deliver(services.enqueue_many, many)
    assert len(fanned) == 1 and len(fanned[0]) > services.DELIVERY_BATCH * services.FAN_OUT_BATCHES
    assert [id for batch in batches[1:] for id in batch] == fanned[0]
