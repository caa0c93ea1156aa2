"""enqueue_many: many notices in one batch, each written as enqueue writes it."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

import notices
from notices import services
from notices.models import NoticePreference, Notification
from notices.registry import UnknownNoticeType
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def welcome(user, key):
    return {"recipient": user, "key": "welcome", "context": {}, "idempotency_key": key}


def columns(rows):
    fields = ("recipient_id", "address", "channel", "key", "category", "language", "status")
    return sorted(
        (row.idempotency_key, *(getattr(row, f) for f in fields), row.context) for row in rows
    )


def test_a_batch_writes_the_rows_enqueue_would_write(client_alice, client_bob):
    NoticePreference.objects.create(
        user=client_bob, category="general", channel="inapp", enabled=False
    )
    one = [services.enqueue(**welcome(u, f"one:{u.pk}")) for u in (client_alice, client_bob)]
    many = notices.enqueue_many([welcome(u, f"many:{u.pk}") for u in (client_alice, client_bob)])
    expected = [r for rows in one for r in rows]
    strip = lambda rows: [(r[0].replace("one:", "many:"), *r[1:]) for r in rows]  # noqa: E731
    assert columns(many) == strip(columns(expected))
    assert all(row.pk for row in many)
    assert [r.channel for r in many if r.recipient_id == client_bob.pk] == ["email"]


def test_keys_already_used_return_their_rows_and_write_nothing(client_alice):
    first = notices.enqueue_many([welcome(client_alice, "w:1")])
    again = notices.enqueue_many([welcome(client_alice, "w:1"), welcome(client_alice, "w:1")])
    assert {r.pk for r in again} == {r.pk for r in first}
    assert Notification.objects.count() == len(first)


def test_a_bad_notice_fails_the_batch_and_writes_nothing(client_alice):
    with pytest.raises(UnknownNoticeType):
        notices.enqueue_many(
            [welcome(client_alice, "w:1"), {**welcome(client_alice, "w:2"), "key": "nope"}]
        )
    with pytest.raises(TypeError, match="sender"):
        notices.enqueue_many([{**welcome(client_alice, "w:3"), "sender": "x"}])
    assert not Notification.objects.exists()


def test_the_statements_do_not_grow_with_the_batch():
    if connection.vendor != "postgresql":
        # SQLite's path is bulk_create, which splits a batch by SQLite's limit on parameters.
        pytest.skip("one statement per batch is the PostgreSQL path")
    users = [UserFactory() for _ in range(30)]

    def statements(batch):
        with CaptureQueriesContext(connection) as queries:
            notices.enqueue_many(batch)
        return len(queries)

    few = statements([welcome(u, f"a:{u.pk}") for u in users[:2]])
    many = statements([welcome(u, f"b:{u.pk}") for u in users])
    assert Notification.objects.filter(idempotency_key__startswith="b:").count() >= 30
    assert many == few
