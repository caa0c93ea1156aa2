"""The outbox: notices are written inside the caller's transaction and delivered after it commits.

Usage from another app's service::

    from notices import services as notices

    notices.enqueue(recipient=user, key="security_alert", context={"event": "password_changed"},
                    idempotency_key=f"password-changed:{user.pk}:{changed_at.isoformat()}")

Delivery is at least once to the provider, and once to the person: a row is claimed (pending →
sending) by one conditional UPDATE before anything is sent, so a duplicate task or a second sweep
finds nothing to do; and when a worker dies after the provider took a message but before the row
was marked sent, the resend carries the same idempotency key (the SMS client message id, the
email Message-ID) and the provider drops the copy. Claims are leases (notices.leases); drainers
(notices.drainers) empty a backlog whose tasks the broker lost.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from email.utils import parseaddr
from typing import TYPE_CHECKING, Any, NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import IntegrityError, connection, transaction
from django.urls import get_urlconf, reverse
from django.utils import timezone, translation

from audit import services as audit
from notices import drainers, leases, rendering, sealing, selectors
from notices.models import NoticePreference, Notification
from notices.push import push_to_user, push_to_users
from notices.registry import (
    MANDATORY_CATEGORIES,
    Category,
    Channel,
    NoticeType,
    get_notice_type,
)
from notices.sms import SmsBackend, get_sms_backend, sms_text

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)
Status = Notification.Status

ACCOUNT_EMAIL_KEY = "account_email"
ANNOUNCEMENT_KEY = "announcement"
_MAX_BACKOFF = timedelta(hours=6)
_MAX_IDEMPOTENCY_KEY = 190  # the column holds 200, with room for ":<channel>"


class NoticeContextError(ValueError):
    """The context cannot be stored as JSON, or lacks a key the templates need."""


# --- enqueue ---------------------------------------------------------------------------------


@transaction.atomic
def enqueue(
    *,
    recipient: User | Recipient,
    key: str,
    context: Mapping[str, Any],
    idempotency_key: str,
    channels: Iterable[str] | None = None,
    language: str | None = None,
    not_before: datetime | None = None,
) -> list[Notification]:
    """Write one notification per channel for `recipient`, to be delivered after commit.

    Everything is checked before anything is written: an unknown key, a channel the type does not
    use, a missing template or a context that is not JSON raises ValueError and writes nothing.
    Channels the recipient turned off are left out, except for mandatory categories (security,
    margin calls). Enqueuing the same `idempotency_key` again writes nothing and returns the rows
    already there. SMS to a recipient without a phone number is recorded as skipped. Context keys
    the type declares secret are sealed, never stored in the clear (notices.sealing).

    `not_before` holds delivery until then (e.g. the next service opening for staff); it also
    moves a pending row enqueued earlier under the same key that has not been tried yet.
    """
    notice_type = get_notice_type(key)
    if notice_type.prerendered:
        raise ValueError(f"Notice {key!r} is rendered by its caller; use its own enqueue function.")
    wanted = _requested_channels(notice_type, channels)
    notice_type.check_templates(wanted)
    clean_context, secrets = sealing.split_secrets(
        _clean_context(notice_type, context), notice_type.secret_context
    )
    if not idempotency_key or len(idempotency_key) > _MAX_IDEMPOTENCY_KEY:
        raise ValueError(f"An idempotency key of 1 to {_MAX_IDEMPOTENCY_KEY} characters is needed.")
    lang = _resolve_language(language, recipient)

    # Look first, so re-enqueuing (sweeps do it all the time) does not hit the unique index and
    # fill the database log with constraint errors; _save_once still covers a concurrent insert.
    existing = {
        row.idempotency_key: row
        for row in Notification.objects.filter(
            idempotency_key__in=[f"{idempotency_key}:{channel}" for channel in wanted]
        )
    }
    enabled = _enabled_channels(recipient, notice_type, wanted)
    rows: list[Notification] = []
    for channel in wanted:
        found = existing.get(f"{idempotency_key}:{channel}")
        if found is not None:
            rows.append(_check_same_notice(found, key=key, recipient_id=recipient.pk))
            continue
        if channel not in enabled:
            continue
        address, skip_reason = _address_for(recipient, channel)
        row = Notification(
            **_recipient(recipient),
            address=address,
            channel=channel,
            key=key,
            category=notice_type.category,
            context=clean_context,
            sealed=sealing.seal(secrets),
            language=lang,
            idempotency_key=f"{idempotency_key}:{channel}",
            status=Status.SKIPPED if skip_reason else Status.PENDING,
            last_error=skip_reason,
        )
        rows.append(_save_once(row))
    if not_before is not None:
        Notification.objects.filter(
            pk__in=[row.pk for row in rows], status=Status.PENDING, attempts=0
        ).update(next_attempt_at=not_before)
    return rows


@transaction.atomic
def enqueue_account_email(
    *,
    address: str,
    subject: str,
    body: str,
    html: str = "",
    template: str = "",
    language: str | None = None,
) -> Notification:
    """Store an email allauth has already rendered (confirmation, password reset, ...) and send it.

    These are security notices: no preference can stop them. The address may belong to nobody yet
    (sign-up, or a reset request for an unknown address), so the recipient is only filled in when
    a user has that address. They carry links and codes that open the account, so the message is
    sealed for the worker and the row shows only what kind of email it was (notices.sealing).
    """
    recipient = get_user_model().objects.filter(email__iexact=address).first()
    lang = _resolve_language(language, recipient)
    row = Notification(
        recipient=recipient,
        address=address,
        channel=Channel.EMAIL,
        key=ACCOUNT_EMAIL_KEY,
        category=get_notice_type(ACCOUNT_EMAIL_KEY).category,
        context={"template": template},
        language=lang,
        # Each allauth mail is distinct (fresh codes and links), so a random key is right here.
        idempotency_key=f"{ACCOUNT_EMAIL_KEY}:{uuid.uuid4()}:{Channel.EMAIL}",
        subject=_one_line(subject)[:255],
        body=sealing.account_email_summary(template, lang),
        sealed=sealing.seal({"subject": _one_line(subject), "body": body, "html": html}),
    )
    return _save_once(row)


class Recipient(NamedTuple):
    """What a notice reads of its recipient, for callers holding it as values rather than as a
    User (the risk engine's thousands of clients in a fall): ``enqueue_many`` takes either."""

    pk: int
    email: str
    phone: str
    language: str


@dataclass(frozen=True)
class NoticeRequest:
    """One notice for ``enqueue_many``: the arguments ``enqueue`` takes, as a value."""

    recipient: User | Recipient
    key: str
    context: Mapping[str, Any]
    idempotency_key: str
    channels: Iterable[str] | None = None
    language: str | None = None
    not_before: datetime | None = None


# Rows per delivery task from a bulk enqueue: a worker sends them over one SMTP session.
DELIVERY_BATCH = 50
# More due rows than this many batches are handed to one worker task that queues their batches
# (notices.tasks.queue_deliveries): the ~360 tasks of a market-wide fall's notices, published one
# by one after commit, cost the risk engine's step a second.
FAN_OUT_BATCHES = 4


class _New(NamedTuple):
    """A row ``enqueue_many`` writes, as values: its request's part and its channel's."""

    request: NoticeRequest
    category: str
    context: dict[str, Any]
    sealed: str
    language: str
    channel: str
    idempotency_key: str
    address: str
    status: str
    last_error: str


@transaction.atomic
def enqueue_many(
    requests: Iterable[NoticeRequest | Mapping[str, Any]], *, returning: bool = True
) -> list[Notification]:
    """``enqueue`` for many notices at once: the same checks, rules and idempotency, in a few
    statements instead of a few per notice (a market-wide drop writes thousands of margin calls;
    an SLA sweep after an outage, thousands of warnings; a market measure told to every holder).
    Each request is a ``NoticeRequest`` or a mapping of its fields (``enqueue``'s arguments).

    Everything is checked before anything is written. Rows already holding a key are returned
    as they are; the new ones are inserted together and handed to the workers in batches of
    ``DELIVERY_BATCH`` (notices.tasks.deliver_notifications) after commit, through one task
    that queues the batches when there are many (``FAN_OUT_BATCHES``).

    ``returning=False`` writes the same and returns nothing (``[]``): no model instance is made
    per row, which cost the risk engine's fall more CPU than the insert (on PostgreSQL the new
    rows go in as one JSON document of the requests, each with its channels' rows).
    """
    prepared = []
    wanted_of: dict[tuple[str, tuple[str, ...] | None], list[str]] = {}
    languages: dict[str, str] = {}
    for given in requests:
        request = given if isinstance(given, NoticeRequest) else NoticeRequest(**given)
        notice_type = get_notice_type(request.key)
        if notice_type.prerendered:
            raise ValueError(f"Notice {request.key!r} is rendered by its caller.")
        asked = None if request.channels is None else tuple(request.channels)
        wanted = wanted_of.get((request.key, asked))
        if wanted is None:  # checked once per type and channels a call
            wanted = [str(c) for c in _requested_channels(notice_type, asked)]
            notice_type.check_templates(wanted)
            wanted_of[(request.key, asked)] = wanted
        clean = _clean_context(notice_type, request.context)
        secrets: dict[str, Any] = {}
        if notice_type.secret_context:
            clean, secrets = sealing.split_secrets(clean, notice_type.secret_context)
        if not request.idempotency_key or len(request.idempotency_key) > _MAX_IDEMPOTENCY_KEY:
            raise ValueError(
                f"An idempotency key of 1 to {_MAX_IDEMPOTENCY_KEY} characters is needed."
            )
        candidate = (
            request.language or getattr(request.recipient, "language", "") or settings.LANGUAGE_CODE
        )
        lang = languages.get(candidate)
        if lang is None:
            lang = languages[candidate] = _resolve_language(candidate, None)
        prepared.append((request, notice_type, wanted, clean, secrets, lang))
    keys = [f"{r.idempotency_key}:{channel}" for r, _, wanted, *_ in prepared for channel in wanted]
    # One array parameter (portal.lookups): a fall's ~18,000 keys as an IN list cost a second of
    # CPU in compiling and splitting a placeholder per key. Values, not rows: a fall finds none.
    existing: dict[str, tuple[str, int | None, int | None]] = {
        idempotency_key: (key, recipient_id, pk)
        for idempotency_key, key, recipient_id, pk in Notification.objects.filter(
            idempotency_key__any=set(keys)  # a set: the ORM walks a list's every element
        ).values_list("idempotency_key", "key", "recipient_id", "pk")
    }
    turned_off = _channels_turned_off(
        {(r.recipient.pk, t.category) for r, t, *_ in prepared if not t.mandatory}
    )
    found_keys: list[str] = []  # rows already there, or new, in the order enqueue returns them
    new: list[_New] = []
    for request, notice_type, wanted, clean, secrets, lang in prepared:
        sealed = sealing.seal(secrets)
        recipient = request.recipient
        off = turned_off.get((recipient.pk, notice_type.category), ()) if turned_off else ()
        untried: list[int] = []
        for channel in wanted:
            key = f"{request.idempotency_key}:{channel}"
            found = existing.get(key)
            if found is not None:
                if found[0] != request.key or found[1] != recipient.pk:
                    raise ValueError(
                        f"Idempotency key {key!r} was already used for another notice."
                    )
                found_keys.append(key)
                if found[2] is not None:
                    untried.append(found[2])
                continue
            if channel in off:
                continue
            address, skip_reason = _address_for(recipient, channel)
            new.append(
                _New(request, notice_type.category, clean, sealed, lang, channel, key, address,
                     Status.SKIPPED if skip_reason else Status.PENDING, skip_reason)
            )  # fmt: skip
            existing[key] = (request.key, recipient.pk, None)  # the same key twice: one notice
            found_keys.append(key)
        if request.not_before is not None and untried:
            Notification.objects.filter(pk__in=untried, status=Status.PENDING, attempts=0).update(
                next_attempt_at=request.not_before
            )
    if not new:
        return _rows_of(found_keys, {}) if returning else []
    now = timezone.now()
    try:
        # A savepoint: a concurrent enqueue of one of these keys must not spoil the caller's
        # transaction; then each row goes in on its own, as enqueue does it.
        with transaction.atomic():
            ids, due = _insert(new, now)
    except IntegrityError:
        saved = {row.idempotency_key: _save_once(row) for row in _instances(new, now, {})}
        return _rows_of(found_keys, saved) if returning else []
    if due:
        _on_commit(_queue_due, due, robust=True)
    if not returning:
        return []
    return _rows_of(found_keys, {row.idempotency_key: row for row in _instances(new, now, ids)})


def _rows_of(keys: list[str], made: dict[str, Notification]) -> list[Notification]:
    """The rows of these keys in this order: those just made, the others read."""
    read = [key for key in keys if key not in made]
    if read:
        made = {**made, **{row.idempotency_key: row for row in
                           Notification.objects.filter(idempotency_key__any=read)}}  # fmt: skip
    return [made[key] for key in keys]


def _instances(new: list[_New], now: datetime, ids: dict[str, int]) -> list[Notification]:
    """The new rows as model instances (saved ones when ``ids`` names their keys)."""
    rows = []
    for n in new:
        recipient = n.request.recipient
        row = Notification(
            address=n.address,
            channel=n.channel,
            key=n.request.key,
            category=n.category,
            context=n.context,
            sealed=n.sealed,
            language=n.language,
            idempotency_key=n.idempotency_key,
            status=n.status,
            last_error=n.last_error,
            next_attempt_at=n.request.not_before or now,
            created_at=now,
        )
        for name, value in _recipient(recipient).items():
            setattr(row, name, value)
        pk = ids.get(n.idempotency_key)
        if pk is not None:
            row.pk = pk
            row._state.adding, row._state.db = False, connection.alias
        rows.append(row)
    return rows


# One INSERT of the batch as one JSON document: bulk_create's per-value preparation, and even
# column arrays (quoted element by element in Python), cost more CPU than the rest of a bulk
# enqueue together. The document holds each request once (its context, language, seal) with
# its channels' rows; RETURNING names each key, so nothing relies on the order of the rows, and
# tells which are due now.
_INSERT_SQL = f"""
    INSERT INTO {Notification._meta.db_table}
        (recipient_id, key, category, context, language, sealed, next_attempt_at, channel,
         idempotency_key, address, status, last_error, created_at, attempts, subject, body,
         html_body)
    SELECT (r->>0)::bigint, r->>1, r->>2, r->3, r->>4, r->>5,
        COALESCE((r->>6)::timestamptz, %s), c->>0, c->>1, c->>2, c->>3, c->>4, %s, 0, '', '', ''
    FROM jsonb_array_elements(%s::jsonb) AS r, jsonb_array_elements(r->7) AS c
    RETURNING id, idempotency_key, status = %s AND next_attempt_at <= %s
"""  # noqa: S608 - names from this module, the values are parameters

_document = json.JSONEncoder(ensure_ascii=False).encode


def _insert(new: list[_New], now: datetime) -> tuple[dict[str, int], list[int]]:
    """Insert the new rows: (their ids by key, the ids of those due now, in order);
    IntegrityError on a taken key. On PostgreSQL without an instance per row."""
    if connection.vendor != "postgresql":
        rows = Notification.objects.bulk_create(_instances(new, now, {}))
        due = [r.pk for r in rows if r.status == Status.PENDING and r.next_attempt_at <= now]
        return {row.idempotency_key: row.pk for row in rows}, due
    requests: list[list[Any]] = []
    last = None
    for n in new:
        if n.request is not last:
            last = n.request
            at = last.not_before
            requests.append([n.request.recipient.pk, last.key, n.category, n.context, n.language,
                             n.sealed, None if at is None else _json_instant(at), []])  # fmt: skip
        requests[-1][7].append((n.channel, n.idempotency_key, n.address, n.status, n.last_error))
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_SQL, [now, now, _document(requests), Status.PENDING, now])
        returned = cursor.fetchall()
    return {key: pk for pk, key, _ in returned}, [pk for pk, _, is_due in returned if is_due]


def _json_instant(value: Any) -> str:
    if isinstance(value, datetime):  # aware, UTC: stored as the same instant
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} in a notice row")


def _channels_turned_off(pairs: set[tuple[int, str]]) -> dict[tuple[int, str], set[str]]:
    """(user id, category) → the channels that user turned off for that category: one query."""
    if not pairs:
        return {}
    off: dict[tuple[int, str], set[str]] = {}
    rows = NoticePreference.objects.filter(
        user_id__in={user_id for user_id, _ in pairs},
        category__in={category for _, category in pairs},
        enabled=False,
    ).values_list("user_id", "category", "channel")
    for user_id, category, channel in rows:
        off.setdefault((user_id, category), set()).add(channel)
    return off


def _requested_channels(notice_type: NoticeType, channels: Iterable[str] | None) -> list[str]:
    if channels is None:
        return list(notice_type.channels)
    wanted = [str(c) for c in channels]
    unknown = [c for c in wanted if c not in notice_type.channels]
    if unknown or not wanted:
        raise ValueError(
            f"Notice {notice_type.key!r} is sent on {list(notice_type.channels)}, not {wanted}."
        )
    return list(dict.fromkeys(wanted))


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable; pass a string instead")


# Values JSON gives back as they were: a context of only these, under string keys, is its own
# round trip (a fall's thousands of margin notices hold nothing else).
_AS_THEY_ARE = frozenset({str, int, bool, type(None)})
_context_json = json.JSONEncoder(default=_json_default, allow_nan=False).encode


def _clean_context(notice_type: NoticeType, context: Mapping[str, Any]) -> dict[str, Any]:
    """Round-trip through JSON, so what is stored is what will be rendered (Decimal → str)."""
    if not isinstance(context, Mapping):
        raise NoticeContextError("The notice context must be a mapping.")
    if (
        type(context) is dict
        and all(type(k) is str for k in context)
        and _AS_THEY_ARE.issuperset(map(type, context.values()))
    ):
        clean = dict(context)
    else:
        try:
            clean = json.loads(_context_json(dict(context)))
        except (TypeError, ValueError) as exc:
            raise NoticeContextError(f"Notice {notice_type.key!r}: bad context: {exc}") from None
    missing = [k for k in notice_type.required_context if k not in clean]
    if missing:
        raise NoticeContextError(f"Notice {notice_type.key!r}: context lacks {missing}.")
    return clean


def _resolve_language(language: str | None, recipient: User | Recipient | None) -> str:
    candidate = language or getattr(recipient, "language", "") or settings.LANGUAGE_CODE
    try:
        return translation.get_supported_language_variant(candidate)
    except LookupError:
        return settings.LANGUAGE_CODE


def _recipient(recipient: User | Recipient) -> dict[str, Any]:
    """A row's recipient: the user, or its id when given as values (``Recipient``)."""
    if isinstance(recipient, Recipient):
        return {"recipient_id": recipient.pk}
    return {"recipient": recipient}


def _enabled_channels(
    recipient: User | Recipient, notice_type: NoticeType, wanted: list[str]
) -> list[str]:
    if notice_type.mandatory:
        return wanted
    off = set(
        NoticePreference.objects.filter(
            user_id=recipient.pk, category=notice_type.category, enabled=False
        ).values_list("channel", flat=True)
    )
    return [c for c in wanted if c not in off]


def _address_for(recipient: User | Recipient, channel: str) -> tuple[str, str]:
    """The address to snapshot, and a reason to skip when there is none."""
    if channel == Channel.EMAIL:
        return recipient.email, "" if recipient.email else "The recipient has no email address."
    if channel == Channel.SMS:
        return recipient.phone, "" if recipient.phone else "The recipient has no mobile number."
    return "", ""


def _save_once(row: Notification) -> Notification:
    """Insert `row`, or return the row already holding its idempotency key."""
    try:
        # A savepoint, so a concurrent duplicate leaves the caller's transaction usable.
        with transaction.atomic():
            row.save(force_insert=True)
    except IntegrityError:
        existing = (
            Notification.objects.filter(idempotency_key=row.idempotency_key)
            .select_related("recipient")
            .first()
        )
        if existing is None:
            raise
        return _check_same_notice(existing, key=row.key, recipient_id=row.recipient_id)
    if row.status == Status.PENDING:
        # robust: a broker outage must not break the caller's request; the sweep catches up.
        _on_commit(_queue_delivery, row.pk, robust=True)
    return row


def _check_same_notice(row: Notification, *, key: str, recipient_id: int | None) -> Notification:
    if row.key != key or row.recipient_id != recipient_id:
        raise ValueError(
            f"Idempotency key {row.idempotency_key!r} was already used for another notice."
        )
    return row


def _on_commit(func: Callable[..., None], *args: Any, robust: bool = False) -> None:
    """transaction.on_commit with arguments. Not functools.partial: Django's error log for a
    failing robust callback reads its __qualname__, which a partial does not have."""

    def callback() -> None:
        func(*args)

    callback.__qualname__ = func.__qualname__
    transaction.on_commit(callback, robust=robust)


def _queue_delivery(notification_id: int) -> None:
    from notices.tasks import deliver_notification  # tasks imports this module

    deliver_notification.delay(notification_id)


def _queue_due(notification_ids: list[int]) -> None:
    if len(notification_ids) > DELIVERY_BATCH * FAN_OUT_BATCHES:
        from notices.tasks import queue_deliveries

        queue_deliveries.delay(notification_ids)
    else:
        notifications_queue_batches(notification_ids=notification_ids)


def notifications_queue_batches(*, notification_ids: Iterable[int]) -> None:
    """Hand these rows to the workers ``DELIVERY_BATCH`` at a time (deliver_notifications). A
    batch lost on the way is still pending: the sweep's drainers send it when it is due."""
    ids = list(notification_ids)
    for start in range(0, len(ids), DELIVERY_BATCH):
        _queue_batch_delivery(ids[start : start + DELIVERY_BATCH])


def _queue_batch_delivery(notification_ids: list[int]) -> None:
    from notices.tasks import deliver_notifications

    deliver_notifications.delay(notification_ids)


def _queue_drainer(slot: int, token: str) -> None:
    from notices.tasks import drain_outbox

    drain_outbox.delay(slot, token)


# --- delivery --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    html: str = ""


def notification_deliver(*, notification_id: int) -> Notification | None:
    """Claim one due notification, send it and record the outcome.

    Returns None when there was nothing to do: another worker got there first, it was already
    sent, or its next attempt is not due yet. Deliberately not one transaction: the claim must be
    committed before the (slow, external) send, and the outcome recorded after it.
    """
    if not leases.claim(notification_id=notification_id):
        return None
    return _deliver_claimed(notification_id)


def notifications_deliver(*, notification_ids: Iterable[int]) -> list[Notification]:
    """``notification_deliver`` for a batch: claim those of the rows that are due, send them (the
    emails over one SMTP session, not one each), record the outcomes and push the in-app ones in
    one go. Rows another worker holds, or already sent, are left alone."""
    return _deliver_batch(leases.claim_many(notification_ids=notification_ids))


def _deliver_batch(claimed: list[int]) -> list[Notification]:
    if not claimed:
        return []
    notifications = list(
        Notification.objects.select_related("recipient").filter(pk__in=claimed).order_by("pk")
    )
    done: list[tuple[Notification, Rendered]] = []
    outcomes: list[Notification] = []
    with leases.kept_all(notifications), _Senders() as senders:
        for notification in notifications:
            try:
                rendered = _render(notification)
                senders.send(notification, rendered)
            except Exception as exc:
                outcomes.append(_record_failure(notification, exc))
            else:
                done.append((notification, rendered))
    outcomes.extend(_record_successes(done))
    return outcomes


class _Senders:
    """One SMTP connection and one SMS client for a batch, opened on first use."""

    def __init__(self) -> None:
        self._mail: BaseEmailBackend | None = None
        self._sms: SmsBackend | None = None

    def __enter__(self) -> _Senders:
        return self

    def __exit__(self, *exc: object) -> None:
        self._close_mail()
        if self._sms is not None:
            self._sms.close()

    def _close_mail(self) -> None:
        if self._mail is not None:
            try:
                self._mail.close()
            except Exception:  # already broken; nothing to keep
                logger.debug("Closing the SMTP session failed", exc_info=True)
            self._mail = None

    def send(self, notification: Notification, rendered: Rendered) -> None:
        if notification.channel == Channel.EMAIL:
            if self._mail is None:
                self._mail = get_connection()
                self._mail.open()
            try:
                _send(notification, rendered, mail=self._mail)
            except Exception:
                # The session may be what broke: the next message starts a new one.
                self._close_mail()
                raise
        elif notification.channel == Channel.SMS:
            if self._sms is None:
                self._sms = get_sms_backend()
            _send(notification, rendered, sms=self._sms)
        else:
            _send(notification, rendered)


def _deliver_claimed(notification_id: int) -> Notification:
    notification = Notification.objects.select_related("recipient").get(pk=notification_id)
    try:
        rendered = _render(notification)
        with leases.kept(notification):
            _send(notification, rendered)
    except Exception as exc:
        return _record_failure(notification, exc)
    return _record_success(notification, rendered)


def _render(notification: Notification, *, withhold: bool = False) -> Rendered:
    """The message to send, its secrets unsealed; with `withhold`, the copy the row keeps."""
    notice_type = get_notice_type(notification.key)
    if notice_type.prerendered:
        message = {} if withhold else sealing.unseal(notification.sealed)
        if not message:
            return Rendered(notification.subject, notification.body, notification.html_body)
        return Rendered(message["subject"][:255], message["body"], message.get("html", ""))
    key = notification.key
    with translation.override(notification.language):
        if withhold:
            secrets = sealing.withheld_context(notice_type.secret_context)
        else:
            secrets = sealing.unseal(notification.sealed)
        context = {**notification.context, **secrets, **_standard_context(notification)}
        # Per (template, language) once, then per recipient only their values (notices.rendering).
        if notification.channel == Channel.SMS:
            return Rendered("", sms_text(rendering.render(f"sms/{key}.txt", context)))
        subject = _one_line(rendering.render(f"emails/{key}-subject.txt", context))[:255]
        if notification.channel == Channel.INAPP:
            return Rendered(subject, _tidy(rendering.render(f"inapp/{key}.txt", context)))
        return Rendered(
            subject,
            _tidy(rendering.render(f"emails/{key}-body.txt", context)) + "\n",
            rendering.render(f"emails/{key}-body.html", context).strip(),
        )


def _standard_context(notification: Notification) -> dict[str, Any]:
    """Names every notice template can use, whatever the caller passed."""
    recipient = notification.recipient
    return {
        "recipient_name": recipient.display_name if recipient is not None else "",
        **_portal_urls(settings.PORTAL_BASE_URL, get_urlconf() or settings.ROOT_URLCONF),
    }


@functools.lru_cache(maxsize=8)
def _portal_urls(base_url: str, urlconf: str | None) -> dict[str, str]:
    # The same for every notice: worked out once per base URL, not twice a message.
    base = base_url.rstrip("/")
    return {
        "portal_url": base,
        "notices_url": base + reverse("notices:list", urlconf=urlconf),
        "preferences_url": base + reverse("notices:preferences", urlconf=urlconf),
    }


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _tidy(text: str) -> str:
    """Template tags leave stray blank lines; keep at most one between paragraphs."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))


def email_message_id(notification: Notification) -> str:
    """The Message-ID of the notice's email: the same on every attempt, so the relay (and the
    reader's mail client) can drop a resend of a message it already took."""
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "wangrun.invalid"
    return f"<notice-{notification.pk}@{domain}>"


def _send(
    notification: Notification,
    rendered: Rendered,
    *,
    mail: BaseEmailBackend | None = None,
    sms: SmsBackend | None = None,
) -> None:
    """Hand one message to its provider; `mail` and `sms` are open clients to reuse."""
    if notification.channel == Channel.EMAIL:
        message = EmailMultiAlternatives(
            connection=mail,
            subject=rendered.subject,
            body=rendered.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[notification.address],
            headers={
                "Message-ID": email_message_id(notification),
                "Content-Language": notification.language,
                "X-Wangrun-Notice-Id": str(notification.pk),
            },
        )
        if rendered.html:
            message.attach_alternative(rendered.html, "text/html")
        # Stored files a notice carries (education's receipt): {path, filename, mimetype}.
        for attachment in notification.context.get("_attachments", []):
            with default_storage.open(attachment["path"], "rb") as handle:
                message.attach(attachment["filename"], handle.read(), attachment["mimetype"])
        message.send()
    elif notification.channel == Channel.SMS:
        # The notice's id is the provider's client message id: a resend is recognised as one.
        backend = sms or get_sms_backend()
        try:
            backend.send(
                phone=notification.address, text=rendered.body, message_id=str(notification.pk)
            )
        finally:
            if sms is None:  # a client of its own for this one message
                backend.close()
    # In-app: storing the rendered text is the delivery; the live push follows.


def _success_fields(notification: Notification, rendered: Rendered, now: datetime) -> dict:
    # A message with a secret is kept as its withheld copy, and the sealed secret is dropped.
    kept = _render(notification, withhold=True) if notification.sealed else rendered
    return {
        "status": Status.SENT,
        "sent_at": now,
        "subject": kept.subject,
        "body": kept.body,
        "html_body": kept.html,
        "last_error": "",
        "lease_until": None,
        "sealed": "",
    }


def _record_successes(done: list[tuple[Notification, Rendered]]) -> list[Notification]:
    """``_record_success`` for a batch: one UPDATE for the batch, one push of the in-app ones with
    their recipients' unread counts read in one query."""
    if not done:
        return []
    now = timezone.now()
    for notification, rendered in done:
        for name, value in _success_fields(notification, rendered, now).items():
            setattr(notification, name, value)
    with transaction.atomic():
        # By pk alone, as _record_success: whoever holds the claim now, the message went out.
        _mark_sent([n for n, _ in done], now)
        inapp = [n for n, _ in done if n.channel == Channel.INAPP and n.recipient_id is not None]
        if inapp:
            _on_commit(_push_notices, inapp)
    return [notification for notification, _ in done]


# The texts differ per row, the rest is the same: one statement joining the batch's arrays.
# (Django's bulk_update builds a CASE WHEN per row and field, and building it cost more CPU
# than sending the messages.)
_MARK_SENT_SQL = f"""
    UPDATE {Notification._meta.db_table} AS n
    SET status = %s, sent_at = %s, last_error = '', lease_until = NULL, sealed = '',
        subject = v.subject, body = v.body, html_body = v.html_body
    FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[])
        AS v(id, subject, body, html_body)
    WHERE n.id = v.id
"""  # noqa: S608 - the table name is the model's own, the values are parameters


def _mark_sent(notifications: list[Notification], now: datetime) -> None:
    if connection.vendor != "postgresql":
        Notification.objects.bulk_update(
            notifications,
            [
                "status",
                "sent_at",
                "subject",
                "body",
                "html_body",
                "last_error",
                "lease_until",
                "sealed",
            ],
        )
        return
    with connection.cursor() as cursor:
        cursor.execute(
            _MARK_SENT_SQL,
            [
                Status.SENT,
                now,
                [n.pk for n in notifications],
                [n.subject for n in notifications],
                [n.body for n in notifications],
                [n.html_body for n in notifications],
            ],
        )


def _push_notices(notifications: list[Notification]) -> None:
    recipients = {n.recipient_id for n in notifications if n.recipient_id is not None}
    unread = selectors.unread_counts(user_ids=recipients)
    push_to_users(
        [
            (
                n.recipient_id,
                {
                    "type": "notice.push",
                    "id": n.pk,
                    "title": n.subject,
                    "body": n.body,
                    "unread": unread.get(n.recipient_id, 0),
                },
            )
            for n in notifications
            if n.recipient_id is not None
        ]
    )


def _record_success(notification: Notification, rendered: Rendered) -> Notification:
    fields = _success_fields(notification, rendered, timezone.now())
    # Whoever holds the claim now: the message went out, so no other worker should send it again.
    Notification.objects.filter(pk=notification.pk).update(**fields)
    for name, value in fields.items():
        setattr(notification, name, value)
    if notification.channel == Channel.INAPP and notification.recipient_id is not None:
        _on_commit(_push_notice, notification)
    return notification


def _record_failure(notification: Notification, exc: Exception) -> Notification:
    now = timezone.now()
    error = f"{type(exc).__name__}: {exc}"[:2000]
    permanent = bool(getattr(exc, "permanent", False))
    if permanent or notification.attempts >= settings.NOTICES_MAX_ATTEMPTS:
        fields: dict[str, Any] = {"status": Status.FAILED, "last_error": error, "lease_until": None}
    else:
        fields = {
            "status": Status.PENDING,
            "last_error": error,
            "next_attempt_at": now + backoff_delay(attempts=notification.attempts),
            "lease_until": None,
        }
    # Only while the claim is still ours: if the sweep gave the row to another worker after our
    # claim went stale, that worker's outcome is the one to keep.
    mine = Notification.objects.filter(
        pk=notification.pk, status=Status.SENDING, claimed_at=notification.claimed_at
    ).update(**fields)
    if not mine:
        notification.refresh_from_db()
        return notification
    for name, value in fields.items():
        setattr(notification, name, value)
    logger.warning(
        "Notice %s (%s by %s) attempt %s failed, now %s: %s",
        notification.pk,
        notification.key,
        notification.channel,
        notification.attempts,
        notification.status,
        error,
    )
    return notification


def backoff_delay(*, attempts: int) -> timedelta:
    """Wait before the next try after `attempts` failed tries: base, 2×base, 4×base, ... capped."""
    delay = timedelta(seconds=settings.NOTICES_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0))
    return min(delay, _MAX_BACKOFF)


def _push_notice(notification: Notification) -> None:
    user_id = notification.recipient_id
    assert user_id is not None
    push_to_user(
        user_id,
        {
            "type": "notice.push",
            "id": notification.pk,
            "title": notification.subject,
            "body": notification.body,
            "unread": selectors.unread_count(user_id=user_id),
        },
    )


def _push_unread(user_id: int) -> None:
    push_to_user(
        user_id, {"type": "notice.unread", "unread": selectors.unread_count(user_id=user_id)}
    )


# --- sweeps and staff actions ----------------------------------------------------------------


@dataclass(frozen=True)
class SweepResult:
    reclaimed: int
    failed: int
    drainers: int


def redeliver_stuck() -> SweepResult:
    """Hand back rows whose worker stopped renewing its lease, and, while any row is due, make
    sure the drainers are at work (notices.drainers). Celery beat runs it every
    NOTICES_SWEEP_SECONDS.

    Safe to run twice or concurrently: a drainer is started only for a free slot, and every
    delivery claims its row with a conditional update, so a duplicate finds nothing to do.
    """
    now = timezone.now()
    expired = leases.expired(now)
    note = "Delivery did not finish (worker lost?)."
    failed = expired.filter(attempts__gte=settings.NOTICES_MAX_ATTEMPTS).update(
        status=Status.FAILED, lease_until=None, last_error=note
    )
    reclaimed = expired.update(
        status=Status.PENDING, next_attempt_at=now, lease_until=None, last_error=note
    )
    started = 0
    if Notification.objects.filter(status=Status.PENDING, next_attempt_at__lte=now).exists():
        for slot in range(settings.NOTICES_DRAINERS):
            token = drainers.reserve(slot)
            if token is not None:
                _queue_drainer(slot, token)
                started += 1
    if reclaimed or failed or started:
        logger.info(
            "Outbox sweep: %s reclaimed, %s failed, %s drainers started", reclaimed, failed, started
        )
    health = selectors.outbox_health(now=now)
    if health.stalled:
        logger.warning(
            "Outbox stalled: %s due, the oldest waiting %.0f s (workers, beat and broker?)",
            health.due,
            health.oldest_due_seconds,
        )
    return SweepResult(reclaimed=reclaimed, failed=failed, drainers=started)


@dataclass(frozen=True)
class DrainResult:
    delivered: int
    more: bool


def notifications_drain(
    *, seconds: float, keep_going: Callable[[], bool] = lambda: True
) -> DrainResult:
    """Deliver due rows, longest-waiting first, until none is due, `seconds` have passed or
    `keep_going` says stop. `more` tells whether rows may still be due."""
    deadline = time.monotonic() + seconds
    delivered = 0
    while time.monotonic() < deadline and keep_going():
        # A batch at a time, over one SMTP session (a backlog after an outage is thousands).
        claimed = leases.claim_due(limit=DELIVERY_BATCH)
        if not claimed:
            return DrainResult(delivered=delivered, more=False)
        delivered += len(_deliver_batch(claimed))
    return DrainResult(delivered=delivered, more=True)


def outbox_drain(*, slot: int, token: str) -> DrainResult:
    """One drainer's turn: work one sweep period, then hand the slot on while rows remain."""
    try:
        result = notifications_drain(
            seconds=settings.NOTICES_SWEEP_SECONDS, keep_going=lambda: drainers.holds(slot, token)
        )
    except Exception:
        # The database went away under it: free the slot, so the first sweep after the outage
        # starts a drainer at once rather than when the slot expires.
        drainers.release(slot, token)
        raise
    if result.more and drainers.holds(slot, token):
        _queue_drainer(slot, token)
    else:
        drainers.release(slot, token)
    return result


@transaction.atomic
def notifications_requeue_failed(*, notification_ids: Iterable[int], actor: User) -> int:
    """Give failed notifications a fresh set of attempts (staff action, audited); count them."""
    now = timezone.now()
    rows = list(
        Notification.objects.select_for_update().filter(
            pk__in=list(notification_ids), status=Status.FAILED
        )
    )
    for row in rows:
        audit.record(
            actor=actor,
            action="notice.requeued",
            obj=row,
            data={"key": row.key, "channel": row.channel, "previous_error": row.last_error},
        )
        Notification.objects.filter(pk=row.pk).update(
            status=Status.PENDING,
            attempts=0,
            next_attempt_at=now,
            claimed_at=None,
            lease_until=None,
        )
        _on_commit(_queue_delivery, row.pk, robust=True)
    return len(rows)


@transaction.atomic
def announcement_send(
    *, sender: User, recipient: User, title: str, body: str, idempotency_key: str
) -> list[Notification]:
    """Staff send a one-off announcement to one client, in-app and by email (audited)."""
    title, body = title.strip(), body.strip()
    if not title or not body:
        raise NoticeContextError("An announcement needs a title and a body.")
    channels = get_notice_type(ANNOUNCEMENT_KEY).channels
    keys = [f"{idempotency_key}:{channel}" for channel in channels]
    before = Notification.objects.filter(idempotency_key__in=keys).count()
    rows = enqueue(
        recipient=recipient,
        key=ANNOUNCEMENT_KEY,
        context={"title": title, "body": body},
        idempotency_key=idempotency_key,
    )
    if before == 0 and rows:
        audit.record(
            actor=sender,
            action="notice.announcement_sent",
            obj=recipient,
            data={"title": title, "channels": [r.channel for r in rows]},
        )
    return rows


# --- the recipient's side --------------------------------------------------------------------


@transaction.atomic
def notification_mark_read(*, user: User, notification_id: int) -> Notification:
    """Mark one of the user's own in-app notices read. Anyone else's raises DoesNotExist."""
    notification = Notification.objects.select_for_update().get(
        pk=notification_id, recipient=user, channel=Channel.INAPP, status=Status.SENT
    )
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
        _on_commit(_push_unread, user.pk)
    return notification


@transaction.atomic
def notifications_mark_all_read(*, user: User) -> int:
    """Mark all of the user's unread in-app notices read; returns how many changed."""
    changed = Notification.objects.filter(
        recipient=user, channel=Channel.INAPP, status=Status.SENT, read_at__isnull=True
    ).update(read_at=timezone.now())
    if changed:
        _on_commit(_push_unread, user.pk)
    return changed


@transaction.atomic
def notice_preferences_set(*, user: User, enabled: Mapping[tuple[str, str], bool]) -> None:
    """Store the user's channel choices per (category, channel). Mandatory categories are ignored:
    they are always on, whatever a form sends."""
    for (category, channel), on in enabled.items():
        if category not in Category.values or channel not in Channel.values:
            raise ValueError(f"Unknown notice preference {category}/{channel}.")
        if category in MANDATORY_CATEGORIES:
            continue
        NoticePreference.objects.update_or_create(
            user=user, category=category, channel=channel, defaults={"enabled": on}
        )
