import datetime
import hashlib
import json
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any, NamedTuple

from django.db import connection, models, transaction
from django.utils import timezone

from audit.models import GENESIS_HASH, AuditChainHead, AuditEntry, canonical_json, json_default


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
def record_many(entries: list[Entry]) -> list["Appended"]:
    """Append entries to the chain in the given order, with one lock of the head, one INSERT and
    one head update: the risk engine's batch of thousands of level changes, where ``record``'s
    three statements each made the audit trail most of the cost of a market-wide fall.

    Each entry links to the one before exactly as if ``record`` had appended them one by one, so
    ``verify_chain`` walks them like any others. On PostgreSQL each entry's canonical content is
    spelled once, in text (what ``AuditEntry.compute_hash`` hashes, spelled directly), and the
    batch goes in as one JSON document, without a model instance per row; what it returns is
    each entry's number, links and content as written (``Appended``).
    """
    if not entries:
        return []
    # Each entry's content spelled before the chain's head is locked, all but its number and
    # moment: the risk engine records a fall's batches on two connections at once, and only what
    # follows the lock is done one batch at a time (margin.transitions).
    spelled: dict[str, str] = {}  # of thousands of entries a handful of actions, types, actors
    parts = []
    for item in entries:
        object_type, object_id = item.object_type, item.object_id
        if item.obj is not None:
            object_type = object_type or item.obj._meta.label_lower
            object_id = object_id or item.obj.pk
        object_id = str(object_id)
        actor = item.actor
        user = actor if getattr(actor, "pk", None) is not None else None
        actor_repr = str(actor.email if user is not None else (actor or "system"))
        actor_id = None if user is None else user.pk
        data = _canonical(item.data or {})
        # canonical_json(entry.content()) spelled directly: the keys in sorted order, each value
        # as json.dumps writes it, data already canonical (tests/audit compare the two); the
        # moment goes between the two halves and the number at the end.
        before = (
            f'{{"action":{spelled.get(item.action) or _spell(spelled, item.action)},'
            f'"actor":{spelled.get(actor_repr) or _spell(spelled, actor_repr)},'
            f'"actor_id":{_json_int(actor_id)},"created_at":'
        )
        after = (
            f',"data":{data},"object_id":{_text(object_id)},'
            f'"object_type":{spelled.get(object_type) or _spell(spelled, object_type)},"seq":'
        )
        parts.append((before, after, actor_id, actor_repr, item.action, object_type, object_id,
                      data))  # fmt: skip
    head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
    seq, prev_hash, now = head.seq, head.hash, timezone.now()
    created_at = _text(now.isoformat())
    rows, documents = [], []
    sha256 = hashlib.sha256
    for before, after, actor_id, actor_repr, action, object_type, object_id, data in parts:
        seq += 1
        content = f"{before}{created_at}{after}{int(seq)}}}"
        digest = sha256((prev_hash + content).encode("utf-8")).hexdigest()
        rows.append(
            Appended(seq, now, actor_id, actor_repr, action, object_type, object_id,
                     data, prev_hash, digest)
        )  # fmt: skip
        # The row as stored: the content, the links; "data" is the same canonical text.
        documents.append(f'{content[:-1]},"prev_hash":"{prev_hash}","hash":"{digest}"}}')
        prev_hash = digest
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_INSERT_SQL, ["[" + ",".join(documents) + "]"])
    else:
        AuditEntry.objects.bulk_create([row.entry() for row in rows], batch_size=2000)
    AuditChainHead.objects.filter(pk=head.pk).update(seq=seq, hash=prev_hash)
    return rows


def _spell(spelled: dict[str, str], value: str) -> str:
    spelled[value] = _text(value)
    return spelled[value]


def _json_int(value: int | None) -> str:
    return "null" if value is None else json.dumps(value)


# canonical_json with its encoder made once (json.dumps makes one a call when given options).
_canonical = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=json_default
).encode


class Appended(NamedTuple):
    """One entry ``record_many`` appended: its fields as stored, ``data`` as canonical JSON."""

    seq: int
    created_at: datetime.datetime
    actor_id: int | None
    actor_repr: str
    action: str
    object_type: str
    object_id: str
    data: str
    prev_hash: str
    hash: str

    def entry(self) -> AuditEntry:
        """The entry as a model instance (unsaved: no id)."""
        return AuditEntry(**{**self._asdict(), "data": json.loads(self.data)})


# json.dumps(value, ensure_ascii=False) of a str, without making an encoder a call.
_text = encode_basestring


# One INSERT of the batch as one JSON document of the rows (as notices.services does it).
_INSERT_SQL = f"""
    INSERT INTO {AuditEntry._meta.db_table}
        (seq, created_at, actor_id, actor_repr, action, object_type, object_id, data, prev_hash,
         hash)
    SELECT seq, created_at, actor_id, actor, action, object_type, object_id, data, prev_hash, hash
    FROM jsonb_to_recordset(%s::jsonb) AS v(seq bigint, created_at timestamptz, actor_id bigint,
        actor text, action text, object_type text, object_id text, data jsonb, prev_hash text,
        hash text)
"""  # noqa: S608 - the table's name from its model, the values are one parameter


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
