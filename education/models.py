"""Courses and quizzes, the risk-warning reading record, and the gate's immutable evidence.

A course's content lives in versions, like the disclosures: compliance edits a draft in admin
and publishes it; from then on the version, its lessons and its questions never change (the
models refuse). A `GateConfirmation` is the evidence of what one client saw and agreed to: it is
written once; only its life-cycle fields (withdrawal, expiry, the stored receipt) move later.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.append_only import AppendOnly, AppendOnlyError

# Raised when something tries to change published content or stored evidence.
ImmutableError = AppendOnlyError


def _is_zh(language: str) -> bool:
    return (language or "").lower().startswith("zh")


class Course(models.Model):
    slug = models.SlugField(_("code"), max_length=50, unique=True)
    title_zh = models.CharField(_("title (Chinese)"), max_length=120)
    title_en = models.CharField(_("title (English)"), max_length=120)
    required_for_gate = models.BooleanField(_("required for the margin gate"), default=False)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["order", "slug"]
        verbose_name = _("course")
        verbose_name_plural = _("courses")

    def __str__(self) -> str:
        return self.title_zh

    def title_for(self, language: str) -> str:
        return self.title_zh if _is_zh(language) else self.title_en


class CourseVersion(models.Model):
    """One version of a course: its lessons, its quiz and the pass mark, in both languages."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    course = models.ForeignKey(
        Course, on_delete=models.PROTECT, related_name="versions", verbose_name=_("course")
    )
    number = models.PositiveIntegerField(_("version"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    pass_mark = models.PositiveSmallIntegerField(
        _("pass mark (%)"), default=80, help_text=_("Share of questions to answer correctly.")
    )
    content_hash = models.CharField(_("content hash (SHA-256)"), max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("drafted by"),
    )
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("published by"),
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)

    class Meta:
        ordering = ["course", "-number"]
        verbose_name = _("course version")
        verbose_name_plural = _("course versions")
        constraints = [
            models.UniqueConstraint(fields=["course", "number"], name="education_version_no"),
            models.CheckConstraint(
                condition=Q(status="draft") | (~Q(content_hash="") & Q(published_at__isnull=False)),
                name="education_published_is_complete",
            ),
        ]
        permissions = [("publish_courseversion", _("Can publish a course version"))]

    def __str__(self) -> str:
        return f"{self.course} v{self.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk and CourseVersion.objects.filter(pk=self.pk, status="published").exists():
            raise ImmutableError(f"{self} is published: it can never be edited.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any):
        if self.is_published:
            raise ImmutableError(f"{self} is published: it can never be deleted.")
        return super().delete(*args, **kwargs)

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED

    def compute_hash(self) -> str:
        """SHA-256 over everything the client is taught and tested on, both languages."""
        payload = {
            "course": self.course.slug,
            "number": self.number,
            "pass_mark": self.pass_mark,
            "lessons": [lesson.canonical() for lesson in self.lessons.order_by("order", "pk")],
            "questions": [q.canonical() for q in self.questions.order_by("order", "pk")],
        }
        encoded = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(encoded.encode()).hexdigest()


class _VersionPart(models.Model):
    """A lesson or a question: fixed once its version is published."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self._published():
            raise ImmutableError("This course version is published: its content is fixed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any):
        if self._published():
            raise ImmutableError("This course version is published: its content is fixed.")
        return super().delete(*args, **kwargs)

    def _published(self) -> bool:
        version_id = self.version_id  # type: ignore[attr-defined]
        return CourseVersion.objects.filter(pk=version_id, status="published").exists()


class Lesson(_VersionPart):
    """One lesson. The body is plain paragraphs (blank line between them); a figure is optional."""

    version = models.ForeignKey(
        CourseVersion, on_delete=models.PROTECT, related_name="lessons", verbose_name=_("version")
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    title_zh = models.CharField(_("title (Chinese)"), max_length=120)
    title_en = models.CharField(_("title (English)"), max_length=120)
    body_zh = models.TextField(_("text (Chinese)"))
    body_en = models.TextField(_("text (English)"))
    figure = models.CharField(
        _("figure"),
        max_length=120,
        blank=True,
        help_text=_("Path of an image under static/, e.g. img/education/lines.svg."),
    )
    caption_zh = models.CharField(_("figure caption (Chinese)"), max_length=200, blank=True)
    caption_en = models.CharField(_("figure caption (English)"), max_length=200, blank=True)

    class Meta:
        ordering = ["version", "order", "pk"]
        verbose_name = _("lesson")
        verbose_name_plural = _("lessons")

    def __str__(self) -> str:
        return self.title_zh

    def title_for(self, language: str) -> str:
        return self.title_zh if _is_zh(language) else self.title_en

    def paragraphs_for(self, language: str) -> list[str]:
        body = self.body_zh if _is_zh(language) else self.body_en
        return [p.strip() for p in body.split("\n\n") if p.strip()]

    def caption_for(self, language: str) -> str:
        return self.caption_zh if _is_zh(language) else self.caption_en

    def canonical(self) -> dict[str, Any]:
        return {
            f: getattr(self, f)
            for f in ("order", "title_zh", "title_en", "body_zh", "body_en", "figure")
        } | {"caption_zh": self.caption_zh, "caption_en": self.caption_en}


class Question(_VersionPart):
    """A multiple-choice question; `choices` is a list of {"zh": ..., "en": ...}."""

    version = models.ForeignKey(
        CourseVersion, on_delete=models.PROTECT, related_name="questions", verbose_name=_("version")
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    text_zh = models.TextField(_("question (Chinese)"))
    text_en = models.TextField(_("question (English)"))
    choices = models.JSONField(_("choices"), help_text=_('[{"zh": "…", "en": "…"}, …]'))
    correct = models.PositiveSmallIntegerField(_("correct choice (from 0)"))
    explanation_zh = models.TextField(_("why (Chinese)"))
    explanation_en = models.TextField(_("why (English)"))

    class Meta:
        ordering = ["version", "order", "pk"]
        verbose_name = _("quiz question")
        verbose_name_plural = _("quiz questions")

    def __str__(self) -> str:
        return self.text_zh[:60]

    def text_for(self, language: str) -> str:
        return self.text_zh if _is_zh(language) else self.text_en

    def choices_for(self, language: str) -> list[str]:
        key = "zh" if _is_zh(language) else "en"
        return [c[key] for c in self.choices]

    def explanation_for(self, language: str) -> str:
        return self.explanation_zh if _is_zh(language) else self.explanation_en

    def canonical(self) -> dict[str, Any]:
        return {
            f: getattr(self, f)
            for f in (
                "order",
                "text_zh",
                "text_en",
                "choices",
                "correct",
                "explanation_zh",
                "explanation_en",
            )
        }


class LessonProgress(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lesson_progress"
    )
    lesson = models.ForeignKey(Lesson, on_delete=models.PROTECT, related_name="progress")
    read_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "lesson"], name="education_lesson_read_once")
        ]

    def __str__(self) -> str:
        return f"{self.user} read {self.lesson}"


class QuizAttempt(models.Model):
    """One submitted quiz: the answers given, which were wrong, the score. Kept for good."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="quiz_attempts",
        verbose_name=_("client"),
    )
    version = models.ForeignKey(
        CourseVersion,
        on_delete=models.PROTECT,
        related_name="attempts",
        verbose_name=_("course version"),
    )
    answers = models.JSONField(_("answers"), default=dict)  # {question id: choice index}
    wrong = models.JSONField(_("questions answered wrongly"), default=list)
    score = models.PositiveSmallIntegerField(_("score (%)"))
    passed = models.BooleanField(_("passed"))
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now)

    class Meta:
        ordering = ["-submitted_at", "-pk"]
        verbose_name = _("quiz attempt")
        verbose_name_plural = _("quiz attempts")
        indexes = [models.Index(fields=["user", "version"], name="education_attempt_idx")]

    def __str__(self) -> str:
        return f"{self.user} {self.version} {self.score}%"


class WarningSetting(models.Model):
    """How long a client must stay on a document shown as a risk warning, per document."""

    document = models.OneToOneField(
        "disclosures.Document",
        on_delete=models.PROTECT,
        related_name="warning_setting",
        verbose_name=_("document"),
    )
    min_reading_seconds = models.PositiveIntegerField(_("minimum reading time (seconds)"))

    class Meta:
        verbose_name = _("risk warning reading time")
        verbose_name_plural = _("risk warning reading times")

    def __str__(self) -> str:
        return f"{self.document}: {self.min_reading_seconds}s"


class WarningReading(models.Model):
    """One opening of the risk warning: what was rendered, when, and when the end was reached.

    The server decides whether the next step opens from these times, never from the page.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="warning_readings"
    )
    version = models.ForeignKey(
        "disclosures.DocumentVersion", on_delete=models.PROTECT, related_name="+"
    )
    token = models.CharField(max_length=32, unique=True)
    language = models.CharField(max_length=10)
    figures = models.JSONField(default=dict)
    rendered_hash = models.CharField(max_length=64)
    min_seconds = models.PositiveIntegerField()
    opened_at = models.DateTimeField(default=timezone.now)
    reached_end_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.user} {self.version} {self.opened_at:%Y-%m-%d %H:%M}"


class GateConfirmation(AppendOnly):
    """What one client saw and agreed to when passing the gate; immutable evidence.

    `evidence` holds the canonical record (versions, content hashes, quiz result, figures, time,
    IP, user agent, the sentence typed); `evidence_hash` is its SHA-256 and is printed on the
    receipt. Only the life-cycle fields below may change after creation.
    """

    class Kind(models.TextChoices):
        GATE = "gate", _("Margin financing gate")
        ABOVE_RATING = "above_rating", _("Product one level above the rating")

    LIFECYCLE_FIELDS = frozenset(
        {"withdrawn_at", "expired_at", "expiry_reason", "receipt_path", "receipt_sha256"}
    )
    APPEND_ONLY_EXCEPT = LIFECYCLE_FIELDS
    APPEND_ONLY_CHANGED = "A gate confirmation is evidence: it is never changed."
    APPEND_ONLY_DELETED = "A gate confirmation is evidence: it is never deleted."

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="gate_confirmations",
        verbose_name=_("client"),
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.GATE)
    product = models.CharField(_("product"), max_length=40, blank=True)
    course_version = models.ForeignKey(
        CourseVersion,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("course version"),
    )
    quiz_attempt = models.ForeignKey(
        QuizAttempt,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("quiz attempt"),
    )
    warning_version = models.ForeignKey(
        "disclosures.DocumentVersion",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("risk disclosure version"),
    )
    reading = models.OneToOneField(
        WarningReading,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("risk warning reading"),
    )
    rating = models.CharField(_("suitability rating"), max_length=2)
    evidence = models.JSONField(_("evidence"))
    evidence_hash = models.CharField(_("evidence hash (SHA-256)"), max_length=64, unique=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), default=timezone.now)
    valid_until = models.DateTimeField(_("valid until"))
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=500, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    expired_at = models.DateTimeField(_("expired at"), null=True, blank=True)
    expiry_reason = models.CharField(_("why it expired"), max_length=30, blank=True)
    receipt_path = models.CharField(_("receipt file"), max_length=200, blank=True)
    receipt_sha256 = models.CharField(_("receipt SHA-256"), max_length=64, blank=True)

    class Meta:
        ordering = ["-confirmed_at", "-pk"]
        verbose_name = _("gate confirmation")
        verbose_name_plural = _("gate confirmations")
        indexes = [models.Index(fields=["user", "kind"], name="education_gate_user_idx")]

    def __str__(self) -> str:
        return f"{self.user} {self.get_kind_display()} {self.confirmed_at:%Y-%m-%d}"

    @property
    def active(self) -> bool:
        return (
            self.withdrawn_at is None
            and self.expired_at is None
            and self.valid_until > timezone.now()
        )

    @staticmethod
    def hash_evidence(evidence: dict[str, Any]) -> str:
        encoded = json.dumps(evidence, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(encoded.encode()).hexdigest()
