"""Disclosed documents, their immutable versions, the fee items they carry, and client evidence.

A version is written as a draft, reviewed, approved by a second compliance officer and scheduled;
scheduling is publication. From then on its text, summary, items, hash and effective time never
change: `DocumentVersion.save()` refuses, and database triggers (migration 0002) refuse the same
through any other path. Acknowledgements are append-only evidence.
"""

import hashlib
import json
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from disclosures import rules
from disclosures.kinds import (  # the choices live in kinds; imported from here too
    Basis,
    DocumentKind,
    ItemKind,
    VersionStatus,
    WorseWhen,  # noqa: F401
)
from portal.append_only import AppendOnly, AppendOnlyError

# Raised when something tries to change or delete a published version or its items.
ImmutableVersionError = AppendOnlyError


PUBLISHED_STATUSES = (VersionStatus.SCHEDULED, VersionStatus.IN_FORCE, VersionStatus.SUPERSEDED)
# What may still change on a published version: its place in the life cycle, nothing else.
_LIFECYCLE_FIELDS = frozenset({"status", "in_force_at", "superseded_at"})


def _is_zh(language: str) -> bool:
    return (language or "").lower().startswith("zh")


class Document(models.Model):
    """One disclosed document (the terms, the fee schedule, ...); its content lives in versions."""

    kind = models.CharField(_("kind"), max_length=20, choices=DocumentKind.choices, unique=True)
    title_zh = models.CharField(_("title (Chinese)"), max_length=100)
    title_en = models.CharField(_("title (English)"), max_length=100)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["order", "kind"]
        # Not the identity documents of KYC (证件): a disclosure is a published text (文件).
        verbose_name = pgettext_lazy("disclosure", "document")
        verbose_name_plural = pgettext_lazy("disclosure", "documents")

    def __str__(self) -> str:
        return self.title_zh

    def title_for(self, language: str) -> str:
        return self.title_zh if _is_zh(language) else self.title_en


class DocumentVersion(models.Model):
    """One version of a document in both languages; the Chinese text is the binding one."""

    CONTENT_FIELDS = (
        "document_id",
        "number",
        "base_id",
        "text_zh",
        "text_en",
        "summary_zh",
        "summary_en",
        "content_hash",
        "published_at",
        "effective_at",
    )

    document = models.ForeignKey(
        Document,
        on_delete=models.PROTECT,
        related_name="versions",
        verbose_name=pgettext_lazy("disclosure", "document"),
    )
    number = models.PositiveIntegerField(_("version"))
    # The version this one was drafted from and is compared against: the latest version in force
    # or scheduled when it was drafted (or rebased). Published versions form a chain through it.
    base = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="successors",
        verbose_name=_("drafted from"),
    )
    status = models.CharField(
        _("status"), max_length=12, choices=VersionStatus.choices, default=VersionStatus.DRAFT
    )
    text_zh = models.TextField(_("text (Chinese, binding)"))
    text_en = models.TextField(_("text (English)"))
    summary_zh = models.TextField(_("what changed, in plain words (Chinese)"), blank=True)
    summary_en = models.TextField(_("what changed, in plain words (English)"), blank=True)
    content_hash = models.CharField(_("content hash (SHA-256)"), max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("drafted by"),
    )
    created_at = models.DateTimeField(_("drafted at"), default=timezone.now)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("submitted by"),
    )
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved by"),
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    # What the second reviewer approved: scheduling refuses a version edited after approval.
    approved_hash = models.CharField(_("content hash approved"), max_length=64, blank=True)
    scheduled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("scheduled by"),
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    effective_at = models.DateTimeField(_("effective from"), null=True, blank=True)
    in_force_at = models.DateTimeField(_("switched into force at"), null=True, blank=True)
    superseded_at = models.DateTimeField(_("superseded at"), null=True, blank=True)
    notice_days = models.PositiveSmallIntegerField(
        _("notice period required (days)"), null=True, blank=True
    )
    favourable = models.BooleanField(
        _("entirely in the client's favour"),
        null=True,
        blank=True,
        help_text=_("Decided by the system from the fee items when the version is scheduled."),
    )

    class Meta:
        ordering = ["document", "-number"]
        verbose_name = _("document version")
        verbose_name_plural = _("document versions")
        constraints = [
            models.UniqueConstraint(fields=["document", "number"], name="disclosure_version_no"),
            models.UniqueConstraint(
                fields=["document"],
                condition=Q(status="in_force"),
                name="disclosure_one_in_force_per_document",
            ),
            # A chain, never a fork: one published successor per version.
            models.UniqueConstraint(
                fields=["base"],
                condition=Q(status__in=["scheduled", "in_force", "superseded"]),
                name="disclosure_one_published_successor",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "in_review"])
                | (
                    ~Q(content_hash="")
                    & Q(published_at__isnull=False)
                    & Q(effective_at__isnull=False)
                ),
                name="disclosure_published_is_complete",
            ),
        ]
        indexes = [models.Index(fields=["status", "effective_at"], name="disclosure_due_idx")]
        permissions = [
            ("approve_documentversion", _("Can approve a document version (second reviewer)")),
            ("schedule_documentversion", _("Can schedule (publish) a document version")),
        ]

    def __str__(self) -> str:
        return f"{self.document} v{self.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        loaded = getattr(self, "_loaded", None)
        if loaded is not None and loaded.get("status") in PUBLISHED_STATUSES:
            update_fields = kwargs.get("update_fields")
            if update_fields is None or not set(update_fields) <= _LIFECYCLE_FIELDS:
                changed = [f for f in self.CONTENT_FIELDS if getattr(self, f) != loaded.get(f)]
                if changed or update_fields is None:
                    raise ImmutableVersionError(
                        f"{self} is published: it can never be edited ({changed or 'save'})."
                    )
            if self.status not in PUBLISHED_STATUSES:
                raise ImmutableVersionError(f"{self} is published: it cannot go back to a draft.")
        super().save(*args, **kwargs)
        self._remember_loaded()

    def delete(self, *args: Any, **kwargs: Any):
        if self.status in PUBLISHED_STATUSES:
            raise ImmutableVersionError(f"{self} is published: it can never be deleted.")
        return super().delete(*args, **kwargs)

    @classmethod
    def from_db(cls, db: Any, field_names: Any, values: Any, **kwargs: Any) -> "DocumentVersion":
        instance = super().from_db(db, field_names, values, **kwargs)
        instance._loaded = dict(zip(field_names, values, strict=True))
        return instance

    def refresh_from_db(self, *args: Any, **kwargs: Any) -> None:
        super().refresh_from_db(*args, **kwargs)
        self._remember_loaded()

    def _remember_loaded(self) -> None:
        self._loaded = {f.attname: getattr(self, f.attname) for f in self._meta.concrete_fields}

    @property
    def label(self) -> str:
        return f"v{self.number}"

    @property
    def is_published(self) -> bool:
        return self.status in PUBLISHED_STATUSES

    def text_for(self, language: str) -> str:
        return self.text_zh if _is_zh(language) else self.text_en

    def summary_for(self, language: str) -> str:
        return self.summary_zh if _is_zh(language) else self.summary_en

    def compute_hash(self, items: list["FeeItem"] | None = None) -> str:
        """SHA-256 over everything a client is bound by: both texts, summaries and every item."""
        if items is None:
            items = list(self.items.all())
        payload = {
            "document": self.document.kind,
            "number": self.number,
            "base": base.number if (base := self.base) else None,
            "text_zh": self.text_zh,
            "text_en": self.text_en,
            "summary_zh": self.summary_zh,
            "summary_en": self.summary_en,
            "items": sorted((item.canonical() for item in items), key=lambda i: i["code"]),
        }
        encoded = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(encoded.encode()).hexdigest()


class FeeItem(models.Model):
    """One number a client is charged or bound by, belonging to one version.

    Rates are fractions (0.083500 is 8.35%), fixed amounts are CNY, ratios are fractions of 1
    (1.3000 is 130%). The item's kind, not a flag on the item, says which way hurts the client;
    whether a change is worse is computed on reference scenarios (disclosures/scenarios.py).
    """

    version = models.ForeignKey(
        DocumentVersion, on_delete=models.PROTECT, related_name="items", verbose_name=_("version")
    )
    code = models.SlugField(_("code"), max_length=50)
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=ItemKind.choices)
    basis = models.CharField(_("basis"), max_length=12, choices=Basis.choices)
    value = models.DecimalField(_("value"), max_digits=14, decimal_places=6)
    tier = models.PositiveSmallIntegerField(_("leverage tier"), null=True, blank=True)
    note_zh = models.CharField(_("applies to (Chinese)"), max_length=200, blank=True)
    note_en = models.CharField(_("applies to (English)"), max_length=200, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["version", "order", "code"]
        verbose_name = _("fee item")
        verbose_name_plural = _("fee items")
        constraints = [
            models.UniqueConstraint(fields=["version", "code"], name="disclosure_item_code"),
            models.CheckConstraint(condition=Q(value__gte=0), name="disclosure_item_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.code} = {self.value}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self._version_published():
            raise ImmutableVersionError(f"{self.version} is published: its items are fixed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any):
        if self._version_published():
            raise ImmutableVersionError(f"{self.version} is published: its items are fixed.")
        return super().delete(*args, **kwargs)

    def clean(self) -> None:
        problem = rules.item_problem(self)
        if problem:
            raise ValidationError(problem)

    def _version_published(self) -> bool:
        return DocumentVersion.objects.filter(
            pk=self.version_id, status__in=PUBLISHED_STATUSES
        ).exists()

    @property
    def worse_when(self) -> str:
        """Which way hurts the client: fixed by the kind, never stored or edited."""
        return rules.worse_when(self.kind)

    def name_for(self, language: str) -> str:
        return self.name_zh if _is_zh(language) else self.name_en

    def note_for(self, language: str) -> str:
        return self.note_zh if _is_zh(language) else self.note_en

    def canonical(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "kind": self.kind,
            "basis": self.basis,
            "value": str(Decimal(self.value).quantize(Decimal("0.000001"))),
            "tier": self.tier,
            "note_zh": self.note_zh,
            "note_en": self.note_en,
        }


class ChangeNotice(models.Model):
    """That one client was told about one scheduled version; the reminder is claimed here."""

    client = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="disclosure_notices",
        verbose_name=_("client"),
    )
    version = models.ForeignKey(
        DocumentVersion,
        on_delete=models.PROTECT,
        related_name="change_notices",
        verbose_name=_("version"),
    )
    previous_version = models.ForeignKey(
        DocumentVersion,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("version it replaces"),
    )
    notified_at = models.DateTimeField(_("notified at"), default=timezone.now)
    # The first time the client opened the change page: compliance reports how many read it.
    read_at = models.DateTimeField(_("first read at"), null=True, blank=True)
    reminder_sent_at = models.DateTimeField(_("reminder sent at"), null=True, blank=True)

    class Meta:
        ordering = ["-notified_at", "-id"]
        verbose_name = _("change notice")
        verbose_name_plural = _("change notices")
        constraints = [
            models.UniqueConstraint(fields=["client", "version"], name="disclosure_notice_once"),
        ]

    def __str__(self) -> str:
        return f"{self.version} → {self.client}"


class Acknowledgement(AppendOnly):
    """A client's decision on a version, with what was on their screen. Append-only evidence."""

    class Decision(models.TextChoices):
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined: keep the old terms")

    client = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="disclosure_acknowledgements",
        verbose_name=_("client"),
    )
    version = models.ForeignKey(
        DocumentVersion,
        on_delete=models.PROTECT,
        related_name="acknowledgements",
        verbose_name=_("version"),
    )
    decision = models.CharField(_("decision"), max_length=10, choices=Decision.choices)
    content_hash = models.CharField(_("content hash shown"), max_length=64)
    displayed = models.JSONField(_("what was displayed"), default=dict)
    acknowledged_at = models.DateTimeField(_("time"), default=timezone.now)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=500, blank=True)

    class Meta:
        ordering = ["-acknowledged_at", "-id"]
        verbose_name = _("acknowledgement")
        verbose_name_plural = _("acknowledgements")
        indexes = [models.Index(fields=["client", "version"], name="disclosure_ack_idx")]

    def __str__(self) -> str:
        return f"{self.client} {self.decision} {self.version}"

    APPEND_ONLY_CHANGED = "An acknowledgement is evidence: it is never changed."
    APPEND_ONLY_DELETED = "An acknowledgement is evidence: it is never deleted."
