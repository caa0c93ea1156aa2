from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from notices.registry import Category, Channel, notice_label


class Notification(models.Model):
    """One message to one person on one channel: written first, delivered second, marked third.

    The rendered subject and body are kept as sent, so the in-app list and any audit show exactly
    what the person received, even after the templates or the catalogue change — except a secret
    (a reset link, a sign-in code): that is kept only in `sealed`, encrypted for the delivering
    process, and the stored text says it was withheld (see notices.sealing).
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped")

    # SET_NULL, not CASCADE: the record that a margin call was sent must outlive the user row.
    # No index of its own: notice_inbox_idx (recipient, channel, read_at) serves its lookups.
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="notifications",
        db_index=False,
    )
    address = models.CharField(_("address"), max_length=254, blank=True)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    key = models.CharField(_("template key"), max_length=64)
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    context = models.JSONField(_("context"), default=dict, blank=True)
    language = models.CharField(_("language"), max_length=10)
    idempotency_key = models.CharField(_("idempotency key"), max_length=200, unique=True)
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    # A claim is a lease: the worker sending the row renews it while it lives; once it has run
    # out, the sweep hands the row to another worker (see notices.leases).
    lease_until = models.DateTimeField(_("lease until"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    body = models.TextField(_("body"), blank=True)
    html_body = models.TextField(_("HTML body"), blank=True)
    # The secret part of the message, encrypted (notices.sealing); emptied once it is sent.
    sealed = models.TextField(_("sealed secret"), blank=True, editable=False)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="notice_due_idx"),
            models.Index(fields=["recipient", "channel", "read_at"], name="notice_inbox_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(channel__in=Channel.values), name="notice_channel_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "sending", "sent", "failed", "skipped"]),
                name="notice_status_valid",
            ),
        ]
        permissions = [
            ("resend_notification", _("Can re-queue a failed notification")),
            ("send_announcement", _("Can send an announcement to a client")),
        ]

    def __str__(self) -> str:
        label = notice_label(self.key)
        return f"{label} → {self.address or self.recipient_id} ({self.get_channel_display()})"

    @property
    def is_unread(self) -> bool:
        return self.channel == Channel.INAPP and self.read_at is None


class NoticePreference(models.Model):
    """A client's choice for one category on one channel. No row means the type's default (on)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notice_preferences"
    )
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    enabled = models.BooleanField(_("enabled"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("notice preference")
        verbose_name_plural = _("notice preferences")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "category", "channel"], name="notice_pref_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.category}/{self.channel}: {'on' if self.enabled else 'off'}"
