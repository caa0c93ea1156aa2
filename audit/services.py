import json
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from audit.models import GENESIS_HASH, AuditChainHead, AuditEntry, canonical_json


def record(
    *,
    actor: Any,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry to the audit chain, inside the caller's transaction.

    `actor` is a user, or None / a string for the system (a sweep, the risk engine). The entry is
    only visible if the caller's transaction commits, so the trail never claims what did not happen.
    """
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
    # Round-trip through canonical JSON so what is stored is exactly what was hashed.
    clean_data = json.loads(canonical_json(data or {}))
    user = actor if getattr(actor, "pk", None) is not None else None
    actor_repr = str(actor.email if user is not None else (actor or "system"))
    # The data checked first; from here only the database can fail, and that fails the caller's
    # transaction whole: no savepoint (two statements an entry, on every audited action).
    with transaction.atomic(savepoint=False):
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
        entry = AuditEntry(
            seq=head.seq + 1,
            created_at=timezone.now(),
            actor=user,
            actor_repr=actor_repr,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            data=clean_data,
            prev_hash=head.hash,
        )
        entry.hash = entry.compute_hash()
        entry.save(force_insert=True)
        AuditChainHead.objects.filter(pk=head.pk).update(seq=entry.seq, hash=entry.hash)
    return entry


@dataclass(frozen=True)
class Entry:
    """One entry for ``record_many``: the arguments of ``record``."""

    actor: Any
    action: str
    obj: models.Model | None = None
    object_type: str = ""
    object_id: str | int = ""
    data: dict[str, Any] | None = None


@transaction.atomic
def record_many(entries: list[Entry]) -> list[AuditEntry]:
    """Append entries to the chain in the given order, with one lock of the head, one INSERT and
    one head update: the risk engine's batch of thousands of level changes, where ``record``'s
    three statements each made the audit trail most of the cost of a market-wide fall.

    Each entry links to the one before exactly as if ``record`` had appended them one by one, so
    ``verify_chain`` walks them like any others.
    """
    if not entries:
        return []
    head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
    seq, prev_hash, now = head.seq, head.hash, timezone.now()
    rows = []
    for item in entries:
        object_type, object_id = item.object_type, item.object_id
        if item.obj is not None:
            object_type = object_type or item.obj._meta.label_lower
            object_id = object_id or item.obj.pk
        user = item.actor if getattr(item.actor, "pk", None) is not None else None
        seq += 1
        entry = AuditEntry(
            seq=seq,
            created_at=now,
            actor=user,
            actor_repr=str(item.actor.email if user is not None else (item.actor or "system")),
            action=item.action,
            object_type=object_type,
            object_id=str(object_id),
            data=json.loads(canonical_json(item.data or {})),
            prev_hash=prev_hash,
        )
        entry.hash = prev_hash = entry.compute_hash()
        rows.append(entry)
    AuditEntry.objects.bulk_create(rows, batch_size=2000)
    AuditChainHead.objects.filter(pk=head.pk).update(seq=seq, hash=prev_hash)
    return rows


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    count: int
    broken_seq: int | None = None
    reason: str = ""


def verify_chain(*, batch_size: int = 2000) -> ChainReport:
    """Walk the chain in order and check every link; report the first entry that does not hold."""
    prev_hash, expected_seq, count = GENESIS_HASH, 1, 0
    for entry in AuditEntry.objects.order_by("seq").iterator(chunk_size=batch_size):
        if entry.seq != expected_seq:
            return ChainReport(False, count, expected_seq, f"entry #{expected_seq} is missing")
        if entry.prev_hash != prev_hash:
            return ChainReport(False, count, entry.seq, "does not link to the entry before it")
        if entry.compute_hash() != entry.hash:
            return ChainReport(False, count, entry.seq, "content does not match its hash")
        prev_hash, expected_seq, count = entry.hash, expected_seq + 1, count + 1
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and head.seq != count:
        return ChainReport(False, count, count + 1, f"entries after #{count} are missing")
    return ChainReport(True, count)
