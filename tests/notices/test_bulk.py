"""Notices at market speed: many written at once, delivered in batches, each exactly once."""

import email
import email.policy
from decimal import Decimal

import pytest
from aiosmtpd.controller import Controller

from notices import services
from notices.models import NoticePreference, Notification
from notices.services import NoticeRequest
from notices.sms import LocmemSmsBackend
from tests.factories import UserFactory
from tests.notices.test_smtp import free_port

pytestmark = pytest.mark.django_db


class Sessions:
    """An SMTP server that remembers which connection carried which message."""

    def __init__(self) -> None:
        self.by_peer: dict[tuple, list[str]] = {}

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.by_peer.setdefault(session.peer, []).append(str(message["Message-ID"]))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_sessions(settings):
    sessions = Sessions()
    controller = Controller(sessions, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    yield sessions
    controller.stop()


def margin_call(user, n):
    return NoticeRequest(
        recipient=user,
        key="margin_call",
        context={
            "account_number": f"MA{n:08d}",
            "ratio": "128.00%",
            "deadline": "2026-12-08 15:00",
            "deposit": "12000.00",
            "warning_line": "150%",
        },
        idempotency_key=f"margin-call:{n}",
    )


@pytest.fixture
def clients():
    return [UserFactory(phone=f"1380000{n:04d}") for n in range(6)]


def test_a_burst_of_margin_calls_is_written_in_one_go_and_each_delivered_once(
    clients, deliver, mailoutbox, django_assert_max_num_queries
):
    with django_assert_max_num_queries(12):
        rows = services.enqueue_many([margin_call(user, n) for n, user in enumerate(clients)])
    assert len(rows) == 18
    assert {row.channel for row in rows} == {"email", "sms", "inapp"}
    # After commit (here: run by hand) the workers deliver them in batches.
    deliver(services.notifications_deliver, notification_ids=[row.pk for row in rows])
    assert Notification.objects.filter(status="sent").count() == 18
    assert sorted(m.to[0] for m in mailoutbox) == sorted(u.email for u in clients)
    assert sorted(m.phone for m in LocmemSmsBackend.outbox) == sorted(u.phone for u in clients)
    # A second delivery of the same batch (a redelivered task) sends nothing again.
    assert services.notifications_deliver(notification_ids=[row.pk for row in rows]) == []
    assert len(mailoutbox) == 6 and len(LocmemSmsBackend.outbox) == 6


def test_enqueue_many_queues_the_delivery_after_commit(clients, deliver, mailoutbox):
    deliver(services.enqueue_many, [margin_call(user, n) for n, user in enumerate(clients)])
    assert Notification.objects.exclude(status="sent").count() == 0
    assert len(mailoutbox) == 6


def test_enqueuing_the_same_burst_again_writes_nothing(clients):
    first = services.enqueue_many([margin_call(user, n) for n, user in enumerate(clients)])
    again = services.enqueue_many([margin_call(user, n) for n, user in enumerate(clients)])
    assert sorted(row.pk for row in again) == sorted(row.pk for row in first)
    assert Notification.objects.count() == 18


def test_the_same_key_twice_in_one_call_is_one_notice(clients):
    rows = services.enqueue_many([margin_call(clients[0], 1), margin_call(clients[0], 1)])
    assert Notification.objects.count() == 3
    assert len({row.pk for row in rows}) == 3


def test_a_key_reused_for_another_person_is_refused_and_nothing_is_written(clients):
    services.enqueue_many([margin_call(clients[0], 1)])
    with pytest.raises(ValueError, match="already used"):
        services.enqueue_many([margin_call(clients[2], 2), margin_call(clients[1], 1)])
    assert Notification.objects.count() == 3


def test_a_bad_context_anywhere_in_the_batch_writes_nothing(clients):
    bad = NoticeRequest(
        recipient=clients[1], key="margin_call", context={"ratio": "1"}, idempotency_key="bad"
    )
    with pytest.raises(ValueError, match="lacks"):
        services.enqueue_many([margin_call(clients[0], 0), bad])
    assert Notification.objects.count() == 0


def test_turned_off_channels_are_left_out_except_for_mandatory_notices(clients):
    alice = clients[0]
    NoticePreference.objects.create(user=alice, category="general", channel="email", enabled=False)
    NoticePreference.objects.create(
        user=alice, category="margin_call", channel="sms", enabled=False
    )
    rows = services.enqueue_many(
        [
            NoticeRequest(
                recipient=alice,
                key="announcement",
                context={"title": "Holiday hours", "body": "We close at 15:00."},
                idempotency_key="holiday",
            ),
            margin_call(alice, 0),
        ]
    )
    assert sorted((row.key, row.channel) for row in rows) == [
        ("announcement", "inapp"),
        ("margin_call", "email"),
        ("margin_call", "inapp"),
        ("margin_call", "sms"),  # margin calls cannot be turned off
    ]


def test_sms_to_a_client_without_a_phone_is_recorded_as_skipped():
    user = UserFactory(phone="")
    rows = services.enqueue_many([margin_call(user, 0)])
    assert {row.channel: row.status for row in rows}["sms"] == "skipped"


def test_a_batchs_emails_share_one_smtp_session(clients, smtp_sessions, deliver):
    rows = services.enqueue_many([margin_call(user, n) for n, user in enumerate(clients)])
    emails = [row.pk for row in rows if row.channel == "email"]
    deliver(services.notifications_deliver, notification_ids=emails)
    assert len(smtp_sessions.by_peer) == 1
    [carried] = smtp_sessions.by_peer.values()
    assert sorted(carried) == sorted(
        services.email_message_id(row) for row in rows if row.channel == "email"
    )
    assert Notification.objects.filter(pk__in=emails, status="sent").count() == len(emails)


def test_a_failed_message_in_a_batch_is_retried_later_and_the_rest_go_out(
    clients, deliver, monkeypatch
):
    rows = services.enqueue_many([margin_call(user, n) for n, user in enumerate(clients)])
    sms = [row for row in rows if row.channel == "sms"]
    refused = sms[2]
    original = LocmemSmsBackend.send

    def send(self, *, phone, text, message_id):
        if message_id == str(refused.pk):
            raise ConnectionError("provider timed out")
        original(self, phone=phone, text=text, message_id=message_id)

    monkeypatch.setattr(LocmemSmsBackend, "send", send)
    deliver(services.notifications_deliver, notification_ids=[row.pk for row in sms])
    refused.refresh_from_db()
    assert refused.status == "pending" and refused.attempts == 1
    assert "provider timed out" in refused.last_error
    assert Notification.objects.filter(channel="sms", status="sent").count() == 5


def test_in_app_notices_of_a_batch_are_pushed_with_each_persons_unread_count(
    clients, deliver, monkeypatch
):
    pushed = []
    monkeypatch.setattr(services, "push_to_users", lambda events: pushed.extend(events))
    alice = clients[0]
    rows = services.enqueue_many([margin_call(alice, 1), margin_call(alice, 2)])
    inapp = [row.pk for row in rows if row.channel == "inapp"]
    deliver(services.notifications_deliver, notification_ids=inapp)
    assert [(user_id, event["id"], event["unread"]) for user_id, event in pushed] == [
        (alice.pk, inapp[0], 2),
        (alice.pk, inapp[1], 2),
    ]


def _stored(prefix):
    fields = ("recipient_id", "address", "channel", "key", "category", "language", "status",
              "last_error", "context", "sealed", "attempts", "subject", "body")  # fmt: skip
    return sorted(
        (row.idempotency_key.removeprefix(prefix), *(getattr(row, f) for f in fields))
        for row in Notification.objects.filter(idempotency_key__startswith=prefix)
    )


def test_without_returning_rows_the_same_rows_are_written_and_queued(
    clients, django_capture_on_commit_callbacks
):
    """returning=False (the risk engine's fall) writes what returning the rows writes, takes the
    recipient as values (Recipient) as well as a User, and queues the same due rows."""
    clients[5].phone = ""
    clients[5].save()
    NoticePreference.objects.create(
        user=clients[1], category="general", channel="email", enabled=False
    )

    def requests(prefix, as_values):
        made = []
        for n, user in enumerate(clients):
            recipient = (
                services.Recipient(user.pk, user.email, user.phone, user.language)
                if as_values
                else user
            )
            call = margin_call(user, n)
            made.append(NoticeRequest(**{**call.__dict__, "recipient": recipient,
                                         "idempotency_key": f"{prefix}{n}"}))  # fmt: skip
            made.append(NoticeRequest(recipient=recipient, key="welcome", context={},
                                      idempotency_key=f"{prefix}w{n}"))  # fmt: skip
        return made

    with django_capture_on_commit_callbacks() as queued:
        rows = services.enqueue_many(requests("rows:", as_values=False))
    with django_capture_on_commit_callbacks() as quiet:
        assert services.enqueue_many(requests("none:", as_values=True), returning=False) == []
    assert _stored("none:") == _stored("rows:")
    assert len(queued) == len(quiet) == 1
    skipped = [r for r in rows if r.status == Notification.Status.SKIPPED]
    assert [r.channel for r in skipped] == ["sms"]  # to the client without a phone
    # Again: nothing new is written, whichever way the recipient is given.
    before = Notification.objects.count()
    assert services.enqueue_many(requests("none:", as_values=False), returning=False) == []
    again = services.enqueue_many(requests("none:", as_values=True))
    assert Notification.objects.count() == before
    assert {r.idempotency_key for r in again} == {
        k
        for k in Notification.objects.filter(idempotency_key__startswith="none:").values_list(
            "idempotency_key", flat=True
        )
    }


def test_a_context_of_plain_values_is_stored_as_the_json_round_trip_would_store_it(clients):
    request = margin_call(clients[0], 0)
    odd = {**request.context, "n": 7, "flag": True, "none": None, "figure": "1,234.50"}
    [row, *_] = services.enqueue_many([NoticeRequest(**{**request.__dict__, "context": odd})])
    row.refresh_from_db()
    assert row.context == odd
    decimals = {**request.context, "deposit": Decimal("12000.00")}
    clean = services._clean_context(services.get_notice_type("margin_call"), decimals)
    assert clean["deposit"] == "12000.00"
