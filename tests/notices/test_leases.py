"""Leases on claims, drainers for a lost backlog, and the idempotency keys a resend carries."""

import datetime
import threading
import time
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection

from notices import drainers, leases, services
from notices.models import Notification
from notices.sms import LocmemSmsBackend, SmsBackend
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
T0 = datetime.datetime(2026, 11, 25, 2, 0, tzinfo=datetime.UTC)


def alert(recipient, key="alert:1", channels=("email",)):
    return services.enqueue(
        recipient=recipient,
        key="security_alert",
        context={"event": "password_changed", "when": "2026-11-25 10:00"},
        idempotency_key=key,
        channels=list(channels),
    )


# --- a dead worker's claim --------------------------------------------------------------------


def test_a_claim_carries_a_lease_of_fifteen_seconds(client_alice, settings):
    settings.NOTICES_LEASE_SECONDS = 15
    with time_machine.travel(T0, tick=False):
        [row] = alert(client_alice)
        assert leases.claim(notification_id=row.pk)
    row.refresh_from_db()
    assert (row.status, row.claimed_at) == ("sending", T0)
    assert row.lease_until == T0 + timedelta(seconds=15)


def test_a_dead_workers_row_goes_out_again_within_thirty_seconds(client_alice, settings):
    """Lease 15 s, sweep every 10 s: the first sweep after the lease runs out takes the row back,
    so the worst case is 15 + 10 = 25 s after the worker last renewed."""
    settings.NOTICES_LEASE_SECONDS = 15
    settings.NOTICES_SWEEP_SECONDS = 10
    with time_machine.travel(T0, tick=False) as clock:
        [row] = alert(client_alice)
        assert leases.claim(notification_id=row.pk)  # ... and the worker is killed right here
        clock.shift(timedelta(seconds=10))
        assert services.redeliver_stuck().reclaimed == 0  # a live worker could still be sending
        clock.shift(timedelta(seconds=10))  # the next sweep, 20 s after the claim
        assert services.redeliver_stuck().reclaimed == 1
    row.refresh_from_db()
    assert (row.status, row.attempts, row.lease_until) == ("sent", 2, None)
    assert len(mail.outbox) == 1


def test_a_late_renewal_from_a_worker_that_lost_its_claim_changes_nothing(client_alice):
    with time_machine.travel(T0, tick=False) as clock:
        [row] = alert(client_alice, channels=["sms"])
        assert leases.claim(notification_id=row.pk)
        first_claim = Notification.objects.get(pk=row.pk).claimed_at
        clock.shift(timedelta(seconds=30))
        services.redeliver_stuck()  # reclaimed and sent by another worker
        assert not leases.renew(notification_id=row.pk, claimed_at=first_claim)
    row.refresh_from_db()
    assert row.status == "sent"


class SlowSmsBackend(SmsBackend):
    """Takes longer than a whole lease; a sweep elsewhere runs while it is sending."""

    sweeps: list = []

    def send(self, *, phone: str, text: str, message_id: str) -> None:
        time.sleep(3)
        result = []
        sweeper = threading.Thread(target=lambda: result.append(_sweep_and_close()))
        sweeper.start()
        sweeper.join()
        SlowSmsBackend.sweeps.extend(result)
        LocmemSmsBackend().send(phone=phone, text=text, message_id=message_id)


def _sweep_and_close():
    try:
        return services.redeliver_stuck()
    finally:
        connection.close()


# Another connection must see the claim and the renewals: real commits, so PostgreSQL.
@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_live_worker_keeps_its_claim_through_a_send_longer_than_the_lease(settings):
    settings.NOTICES_LEASE_SECONDS = 1.5  # renewed every 0.5 s; the send takes 3 s
    settings.SMS_BACKEND = "tests.notices.test_leases.SlowSmsBackend"
    SlowSmsBackend.sweeps.clear()
    alice = UserFactory(email="slow@example.test", phone="13800000031")
    [row] = alert(alice, channels=["sms"])
    services.notification_deliver(notification_id=row.pk)
    [sweep] = SlowSmsBackend.sweeps
    assert sweep.reclaimed == 0
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 1)
    assert len(LocmemSmsBackend.outbox) == 1


# --- drainers ---------------------------------------------------------------------------------


def test_a_backlog_whose_tasks_were_lost_is_drained_by_the_sweep(client_alice, client_bob):
    for n in range(15):  # none of their on-commit tasks ran: a broker that lost its queue
        alert(client_alice, key=f"a{n}")
        alert(client_bob, key=f"b{n}")
    services.redeliver_stuck()
    assert set(Notification.objects.values_list("status", "attempts")) == {("sent", 1)}
    assert len(mail.outbox) == 30


def test_the_sweep_keeps_the_configured_number_of_drainers_and_no_more(
    client_alice, settings, monkeypatch
):
    settings.NOTICES_DRAINERS = 3
    settings.NOTICES_SWEEP_SECONDS = 10
    # Slots expire by the cache's clock: an in-process cache, so the test's clock is the one.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    started = []
    monkeypatch.setattr(services, "_queue_drainer", lambda slot, token: started.append(slot))
    with time_machine.travel(T0, tick=False) as clock:
        alert(client_alice)
        assert services.redeliver_stuck().drainers == 3
        # Their tasks are still waiting in the queue: the next sweeps add none.
        clock.shift(timedelta(seconds=10))
        assert services.redeliver_stuck().drainers == 0
        # Lost with a worker: their slots expire and the sweep starts new ones.
        clock.shift(timedelta(seconds=25))
        assert services.redeliver_stuck().drainers == 3
    assert started == [0, 1, 2, 0, 1, 2]


def test_a_drainer_hands_its_slot_on_while_rows_remain_and_frees_it_when_none_do(
    client_alice, settings, monkeypatch
):
    handed_on = []
    monkeypatch.setattr(services, "_queue_drainer", lambda slot, token: handed_on.append(token))
    alert(client_alice)
    token = drainers.reserve(0)
    settings.NOTICES_SWEEP_SECONDS = 0  # its turn is over before it starts
    assert services.outbox_drain(slot=0, token=token).more
    assert handed_on == [token]
    settings.NOTICES_SWEEP_SECONDS = 10
    result = services.outbox_drain(slot=0, token=token)
    assert (result.delivered, result.more) == (1, False)
    assert drainers.reserve(0) is not None  # the slot is free again


def test_a_drainer_whose_slot_was_given_to_another_stops_at_once(client_alice):
    alert(client_alice)
    stale = drainers.reserve(0)
    drainers.release(0, stale)
    drainers.reserve(0)  # the sweep gave the slot to a new drainer
    assert services.outbox_drain(slot=0, token=stale).delivered == 0
    assert Notification.objects.get().status == "pending"


def test_drainers_take_the_longest_waiting_rows_first(client_alice, client_bob):
    with time_machine.travel(T0, tick=False) as clock:
        [older] = alert(client_bob, key="older")
        clock.shift(timedelta(seconds=5))
        [newer] = alert(client_alice, key="newer")
        clock.shift(timedelta(seconds=5))
        assert leases.claim_next_due() == older.pk
        assert leases.claim_next_due() == newer.pk
        assert leases.claim_next_due() is None


# --- idempotency keys -------------------------------------------------------------------------


def test_an_email_carries_the_same_message_id_on_every_attempt(client_alice, settings):
    settings.DEFAULT_FROM_EMAIL = "旺润客户服务 <service@wangrun.example>"
    with time_machine.travel(T0, tick=False) as clock:
        [row] = alert(client_alice)
        services.notification_deliver(notification_id=row.pk)
        # The relay took it but the worker died before the row was marked: sent again.
        Notification.objects.filter(pk=row.pk).update(status="pending")
        clock.shift(timedelta(seconds=1))
        services.notification_deliver(notification_id=row.pk)
    first, second = mail.outbox
    assert first.extra_headers["Message-ID"] == f"<notice-{row.pk}@wangrun.example>"
    assert second.extra_headers["Message-ID"] == first.extra_headers["Message-ID"]
    assert first.message()["Message-ID"] == f"<notice-{row.pk}@wangrun.example>"


def test_an_sms_names_the_notice_as_its_client_message_id(client_alice):
    [row] = alert(client_alice, channels=["sms"])
    services.notification_deliver(notification_id=row.pk)
    [sms] = LocmemSmsBackend.outbox
    assert sms.message_id == str(row.pk)


def test_the_sweep_warns_when_a_due_row_has_waited_over_a_minute(client_alice, settings, caplog):
    settings.NOTICES_DRAINERS = 0  # no worker takes it: the outbox is stalled
    with time_machine.travel(T0, tick=False) as clock:
        alert(client_alice)
        clock.shift(timedelta(seconds=30))
        services.redeliver_stuck()
        assert "Outbox stalled" not in caplog.text
        clock.shift(timedelta(seconds=40))
        services.redeliver_stuck()
    assert "Outbox stalled: 1 due, the oldest waiting 70 s" in caplog.text
