import hashlib
import json
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from audit.labels import action_label, object_type_label

GENESIS_HASH = "0" * 64


def json_default(obj: Any) -> Any:
    """How canonical_json spells what JSON lacks: Decimals as strings, moments in ISO 8601."""
    if isinstance(obj, Decimal):
        return str(obj)
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    raise TypeError(f"{type(obj).__name__} is not allowed in audit data")


def canonical_json(value: Any) -> str:
    """One byte-exact spelling of a value: sorted keys, no spaces, Decimals as strings."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=json_default
    )


class AuditChainHead(models.Model):
    """The single row that serialises appends: whoever holds its lock writes the next entry."""

    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS_HASH)

    def __str__(self) -> str:
        return f"audit chain head #{self.seq}"


class AuditEntry(models.Model):
    """One append-only link of the audit chain.

    `hash` covers this entry's canonical content and `prev_hash`, so changing or removing any entry
    breaks every hash after it. On PostgreSQL a trigger refuses UPDATE and DELETE outright.
    """

    seq = models.BigIntegerField(_("sequence number"), unique=True, editable=False)
    created_at = models.DateTimeField(_("time"), editable=False)
    # No database constraint: the trail must outlive the rows it talks about.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        verbose_name=_("actor"),
    )
    actor_repr = models.CharField(_("actor"), max_length=200)
    action = models.CharField(_("action"), max_length=100, db_index=True)
    object_type = models.CharField(_("object type"), max_length=100, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    data = models.JSONField(_("data"), default=dict)
    prev_hash = models.CharField(_("previous hash"), max_length=64, editable=False)
    hash = models.CharField(_("hash"), max_length=64, unique=True, editable=False)

    class Meta:
        ordering = ["seq"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        kind = object_type_label(self.object_type)
        return f"#{self.seq} {action_label(self.action)} · {kind} {self.object_id}".rstrip()

    def content(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "created_at": self.created_at.isoformat(),
            "actor_id": self.actor_id,
            "actor": self.actor_repr,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "data": self.data,
        }

    def compute_hash(self) -> str:
        payload = self.prev_hash + canonical_json(self.content())
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()
