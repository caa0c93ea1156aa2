"""Writes: learning progress, quiz attempts, the risk-warning reading, confirmations and expiry.

Every step checks the previous one on the server, so posting straight to a later step is refused
with `StepRefused` and nothing is written.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

import audit
from accounts import selectors as accounts
from disclosures import selectors as disclosures
from disclosures.kinds import DocumentKind
from education import figures, products, rules, selectors
from education.models import (
    Course,
    CourseVersion,
    GateConfirmation,
    ImmutableError,
    Lesson,
    LessonProgress,
    Question,
    QuizAttempt,
    WarningReading,
    WarningSetting,
)
from notices import services as notices
from portal.background import finished, queue_once
from portal.refusals import Refused

if TYPE_CHECKING:
    from accounts.models import User
    from disclosures.models import DocumentVersion

logger = logging.getLogger(__name__)


class StepRefused(Refused):
    """A step was attempted out of order or with wrong input; `message` says what to do."""

    def __init__(self, message: str | Promise, code: str = "education.step") -> None:
        super().__init__(code, message)


# --- course ---------------------------------------------------------------------------------------


@transaction.atomic
def lesson_mark_read(*, user: User, lesson: Lesson) -> None:
    """Record that the client read a lesson (once)."""
    if not lesson.version.is_published:
        raise StepRefused(_("This lesson is not published."))
    LessonProgress.objects.get_or_create(user=user, lesson=lesson)


@transaction.atomic
def quiz_submit(*, user: User, version: CourseVersion, answers: dict[int, int]) -> QuizAttempt:
    """Score a quiz: every question must be answered; the wrong ones are kept to show why."""
    if not version.is_published:
        raise StepRefused(_("This course version is not published."))
    questions = list(version.questions.all())
    if any(q.pk not in answers for q in questions):
        raise StepRefused(_("Answer every question before submitting."))
    wrong = [q.pk for q in questions if answers[q.pk] != q.correct]
    score = round(100 * (len(questions) - len(wrong)) / len(questions)) if questions else 0
    attempt = QuizAttempt.objects.create(
        user=user,
        version=version,
        answers={str(q.pk): answers[q.pk] for q in questions},
        wrong=wrong,
        score=score,
        passed=score >= version.pass_mark,
    )
    audit.record(
        actor=user,
        action="education.quiz_submit",
        obj=attempt,
        data={"version": str(version), "score": score, "passed": attempt.passed},
    )
    return attempt


@transaction.atomic
def course_version_publish(*, actor: User, version: CourseVersion) -> CourseVersion:
    """Publish a draft: from now on it never changes. Needs lessons and questions."""
    version = CourseVersion.objects.select_for_update().get(pk=version.pk)
    if version.is_published:
        raise ImmutableError(f"{version} is already published.")
    if not version.lessons.exists() or not version.questions.exists():
        raise StepRefused(_("A course version needs at least one lesson and one question."))
    for question in version.questions.all():
        if question.correct >= len(question.choices or []):
            raise StepRefused(
                _("Question %(n)s has no such correct choice.") % {"n": question.order}
            )
    version.content_hash = version.compute_hash()
    version.status = CourseVersion.Status.PUBLISHED
    version.published_at = timezone.now()
    version.published_by = actor
    version.save()  # still a draft in the database, so this one write is allowed
    audit.record(
        actor=actor,
        action="education.course_publish",
        obj=version,
        data={"content_hash": version.content_hash},
    )
    return version


@transaction.atomic
def course_version_new_draft(*, actor: User, course: Course) -> CourseVersion:
    """A new draft copying the latest version, for compliance to edit in admin."""
    source = course.versions.order_by("-number").first()
    draft = CourseVersion.objects.create(
        course=course,
        number=(source.number + 1) if source else 1,
        pass_mark=source.pass_mark if source else 80,
        created_by=actor,
    )
    if source is not None:
        for lesson in source.lessons.all():
            Lesson.objects.create(version=draft, **{k: v for k, v in lesson.canonical().items()})
        for question in source.questions.all():
            Question.objects.create(version=draft, **question.canonical())
    audit.record(actor=actor, action="education.course_new_draft", obj=draft, data={})
    return draft


# --- risk warning ---------------------------------------------------------------------------------


def min_reading_seconds(version: DocumentVersion) -> int:
    setting = WarningSetting.objects.filter(document_id=version.document_id).first()
    return setting.min_reading_seconds if setting else rules.DEFAULT_MIN_READING_SECONDS


def _require_course_passed(user: User) -> QuizAttempt:
    attempt = selectors.passed_attempt(user, selectors.gate_course_version())
    if attempt is None:
        raise StepRefused(_("Pass the margin financing course quiz before the risk warning."))
    return attempt


def rendered_hash(*, version: DocumentVersion, language: str, shown: dict) -> str:
    text = render_to_string("education/_warning_text.txt", {"version": version, **shown})
    return hashlib.sha256(f"{language}\n{text}".encode()).hexdigest()


@transaction.atomic
def warning_open(*, user: User, language: str, tier: int | None = None) -> WarningReading:
    """Start reading the risk disclosure in force, rendered with the client's own figures."""
    _require_course_passed(user)
    version = disclosures.version_in_force(DocumentKind.RISK_DISCLOSURE)
    if version is None:
        raise StepRefused(_("No risk disclosure statement is in force; please try again later."))
    client_figures = figures.client_figures(user, tier=tier).as_dict()
    with translation.override(language):
        digest = rendered_hash(
            version=version,
            language=language,
            shown={"figures": client_figures, "text": version.text_for(language)},
        )
    return WarningReading.objects.create(
        user=user,
        version=version,
        token=secrets.token_hex(16),
        language=language,
        figures=client_figures,
        rendered_hash=digest,
        min_seconds=min_reading_seconds(version),
    )


@transaction.atomic
def warning_reached_end(*, reading: WarningReading) -> WarningReading:
    """The page reports the end was scrolled into view; the first report counts."""
    WarningReading.objects.filter(pk=reading.pk, reached_end_at__isnull=True).update(
        reached_end_at=timezone.now()
    )
    reading.refresh_from_db()
    return reading


@transaction.atomic
def warning_complete(*, reading: WarningReading) -> WarningReading:
    """Open the confirmation step: the end was reached and the minimum time has passed."""
    reading = WarningReading.objects.select_for_update().get(pk=reading.pk)
    now = timezone.now()
    if reading.reached_end_at is None:
        raise StepRefused(_("Scroll to the end of the risk warning first."))
    if now < reading.opened_at + timedelta(seconds=reading.min_seconds):
        raise StepRefused(
            _("Please take at least %(s)s seconds to read the risk warning.")
            % {"s": reading.min_seconds}
        )
    _require_in_force(reading.version)
    if reading.completed_at is None:
        reading.completed_at = now
        reading.save(update_fields=["completed_at"])
    return reading


def _require_in_force(version: DocumentVersion) -> None:
    in_force = disclosures.version_in_force(DocumentKind.RISK_DISCLOSURE)
    if in_force is None or in_force.pk != version.pk:
        raise StepRefused(
            _(
                "The risk disclosure statement changed while this page was open. "
                "Read the new version before confirming."
            )
        )


# --- confirmation ---------------------------------------------------------------------------------


REAUTH_ATTEMPTS = 5
REAUTH_WINDOW_SECONDS = 15 * 60


def reauthenticate(user: User, *, password: str = "", code: str = "") -> bool:
    """The client's password, or a current code from their authenticator app.

    At most REAUTH_ATTEMPTS tries per client in a 15-minute window, so a taken-over session is no
    way around the login rate limits."""
    from accounts.ratelimits import hit

    if not hit(f"gate-reauth:{user.pk}", limit=REAUTH_ATTEMPTS, window=REAUTH_WINDOW_SECONDS):
        raise StepRefused(_("Too many attempts. Please wait 15 minutes and try again."))
    if password and user.check_password(password):
        return True
    if code:
        authenticator = Authenticator.objects.filter(
            user=user, type=Authenticator.Type.TOTP
        ).first()
        return authenticator is not None and TOTP(authenticator).validate_code(code.strip())
    return False


def _version_ref(version: DocumentVersion | None) -> dict[str, str | int] | None:
    if version is None:
        return None
    return {
        "kind": version.document.kind,
        "number": version.number,
        "content_hash": version.content_hash,
    }


@transaction.atomic
def gate_confirm(
    *,
    user: User,
    reading: WarningReading,
    version_id: int,
    typed: str,
    password: str = "",
    code: str = "",
    ip: str | None = None,
    user_agent: str = "",
) -> GateConfirmation:
    """Store the confirmation and its evidence; the receipt is rendered after commit."""
    attempt = _require_course_passed(user)
    reading = _lock_reading_to_confirm(user, reading, version_id)
    rating = _require_suitable(user)
    sentence = rules.sentence_for(reading.language)
    if not rules.sentence_matches(typed, sentence):
        raise StepRefused(_("The sentence you typed does not match the one shown."))
    if not reauthenticate(user, password=password, code=code):
        raise StepRefused(_("Your password or authentication code is not correct."))
    now = timezone.now()
    evidence = _gate_evidence(
        user,
        attempt,
        reading,
        rating=rating,
        sentence=sentence,
        typed=typed,
        reauthenticated_by="password" if password else "totp",
        now=now,
        ip=ip,
        user_agent=user_agent,
    )
    confirmation = _gate_confirmation_store(
        user,
        attempt,
        reading,
        rating=rating,
        evidence=evidence,
        now=now,
        ip=ip,
        user_agent=user_agent,
    )
    _queue_receipt(confirmation.pk)
    return confirmation


def _lock_reading_to_confirm(
    user: User, reading: WarningReading, version_id: int
) -> WarningReading:
    """The client's reading, locked: read to the end, of the version shown and in force, and not
    confirmed yet."""
    reading = WarningReading.objects.select_for_update().get(pk=reading.pk, user=user)
    if reading.completed_at is None:
        raise StepRefused(_("Read the risk warning to the end before confirming."))
    if reading.version_id != version_id:
        raise StepRefused(_("This page shows an old version of the warning. Open it again."))
    _require_in_force(reading.version)
    if GateConfirmation.objects.filter(reading=reading).exists():
        raise StepRefused(_("This warning was already confirmed."))
    return reading


def _require_suitable(user: User) -> str | None:
    """The client's rating, when it allows margin financing (R4)."""
    rating = accounts.suitability_rating(user)
    if rules.suitability(rating, rules.MARGIN_FINANCING_RISK) is rules.Suitability.BLOCKED:
        raise StepRefused(
            _("Margin financing (R4) is above your suitability rating (%(r)s).")
            % {"r": rating or "—"}
        )
    return rating


def _gate_evidence(
    user: User,
    attempt: Any,
    reading: WarningReading,
    *,
    rating: str | None,
    sentence: str,
    typed: str,
    reauthenticated_by: str,
    now: datetime,
    ip: str | None,
    user_agent: str,
) -> dict[str, Any]:
    """Everything the client was shown and did, with the versions and hashes, as stored."""
    course = attempt.version
    terms = disclosures.version_in_force(DocumentKind.TERMS)
    contract = disclosures.version_in_force(DocumentKind.MARGIN_CONTRACT)
    return {
        "client": {"id": user.pk, "email": user.email},
        "rating": rating,
        "course": {
            "slug": course.course.slug,
            "number": course.number,
            "content_hash": course.content_hash,
        },
        "quiz": {
            "attempt": attempt.pk,
            "score": attempt.score,
            "pass_mark": course.pass_mark,
            "submitted_at": attempt.submitted_at.isoformat(),
        },
        "risk_warning": _version_ref(reading.version),
        "rendered_hash": reading.rendered_hash,
        "language": reading.language,
        "terms": _version_ref(terms),
        "contract_terms": _version_ref(contract),
        "figures": reading.figures,
        "reading": {
            "opened_at": reading.opened_at.isoformat(),
            "reached_end_at": reading.reached_end_at.isoformat() if reading.reached_end_at else "",
            "min_seconds": reading.min_seconds,
        },
        "sentence": sentence,
        "typed": typed,
        "reauthenticated_by": reauthenticated_by,
        "confirmed_at": now.isoformat(),
        "ip": ip,
        "user_agent": user_agent[:500],
    }


def _gate_confirmation_store(
    user: User,
    attempt: Any,
    reading: WarningReading,
    *,
    rating: str | None,
    evidence: dict[str, Any],
    now: datetime,
    ip: str | None,
    user_agent: str,
) -> GateConfirmation:
    """The new gate, replacing the previous one, and its audit entry."""
    _expire(
        GateConfirmation.objects.filter(user=user, kind=GateConfirmation.Kind.GATE),
        "replaced",
        actor=user,
    )
    confirmation = GateConfirmation.objects.create(
        user=user,
        kind=GateConfirmation.Kind.GATE,
        product="margin_financing",
        course_version=attempt.version,
        quiz_attempt=attempt,
        warning_version=reading.version,
        reading=reading,
        rating=rating or "",
        evidence=evidence,
        evidence_hash=GateConfirmation.hash_evidence(evidence),
        confirmed_at=now,
        valid_until=now + rules.GATE_VALIDITY,
        ip_address=ip,
        user_agent=user_agent[:500],
    )
    audit.record(
        actor=user,
        action="education.gate_confirm",
        obj=confirmation,
        data={"evidence_hash": confirmation.evidence_hash},
    )
    return confirmation


@transaction.atomic
def above_rating_confirm(
    *,
    user: User,
    product: str,
    typed: str,
    language: str,
    password: str = "",
    code: str = "",
    ip: str | None = None,
    user_agent: str = "",
) -> GateConfirmation:
    """The separate confirmation of an ordinary investor insisting on one level above."""
    item = products.get(product)
    if item is None:
        raise StepRefused(_("Unknown product."))
    rating = accounts.suitability_rating(user)
    if rules.suitability(rating, item.risk) is not rules.Suitability.ONE_ABOVE:
        raise StepRefused(_("This confirmation is only for a product one level above your rating."))
    version = disclosures.version_in_force(DocumentKind.RISK_DISCLOSURE)
    if version is None:
        raise StepRefused(_("No risk disclosure statement is in force; please try again later."))
    sentence = rules.sentence_for(language, above_rating=True)
    if not rules.sentence_matches(typed, sentence):
        raise StepRefused(_("The sentence you typed does not match the one shown."))
    if not reauthenticate(user, password=password, code=code):
        raise StepRefused(_("Your password or authentication code is not correct."))
    now = timezone.now()
    evidence = {
        "client": {"id": user.pk, "email": user.email},
        "kind": "above_rating",
        "product": {"code": item.code, "risk": item.risk},
        "rating": rating,
        "risk_warning": _version_ref(version),
        "language": language,
        "sentence": sentence,
        "typed": typed,
        "confirmed_at": now.isoformat(),
        "ip": ip,
        "user_agent": user_agent[:500],
    }
    confirmation = GateConfirmation.objects.create(
        user=user,
        kind=GateConfirmation.Kind.ABOVE_RATING,
        product=item.code,
        warning_version=version,
        rating=rating or "",
        evidence=evidence,
        evidence_hash=GateConfirmation.hash_evidence(evidence),
        confirmed_at=now,
        valid_until=now + rules.GATE_VALIDITY,
        ip_address=ip,
        user_agent=user_agent[:500],
    )
    audit.record(
        actor=user,
        action="education.above_rating_confirm",
        obj=confirmation,
        data={"product": item.code, "risk": item.risk, "rating": rating},
    )
    return confirmation


@transaction.atomic
def gate_withdraw(*, user: User, confirmation: GateConfirmation) -> GateConfirmation:
    """Withdraw a confirmation during its cool-off period."""
    from education.gate import cool_off

    confirmation = GateConfirmation.objects.select_for_update().get(pk=confirmation.pk, user=user)
    if confirmation.withdrawn_at is not None or confirmation.expired_at is not None:
        raise StepRefused(_("This confirmation is no longer active."))
    if timezone.now() >= confirmation.confirmed_at + cool_off():
        raise StepRefused(
            _("The cool-off period is over; this confirmation can no longer be withdrawn.")
        )
    confirmation.withdrawn_at = timezone.now()
    confirmation.save(update_fields=["withdrawn_at"])
    audit.record(actor=user, action="education.gate_withdraw", obj=confirmation, data={})
    return confirmation


def _expire(queryset, reason: str, *, actor: object = None) -> int:
    active = list(
        queryset.filter(withdrawn_at__isnull=True, expired_at__isnull=True).values_list(
            "pk", flat=True
        )
    )
    if not active:
        return 0
    # Only life-cycle fields: the evidence itself never changes.
    GateConfirmation.objects.filter(pk__in=active).update(
        expired_at=timezone.now(), expiry_reason=reason
    )
    education_url = settings.PORTAL_BASE_URL.rstrip("/") + reverse("education:index")
    for pk in active:
        audit.record(
            actor=actor,
            action="education.gate_expire",
            object_type="education.gateconfirmation",
            object_id=pk,
            data={"reason": reason},
        )
    if reason != "replaced":
        for confirmation in GateConfirmation.objects.filter(pk__in=active).select_related("user"):
            notices.enqueue(
                recipient=confirmation.user,
                key="gate_expired",
                context={"reason": reason, "education_url": education_url},
                idempotency_key=f"gate_expired:{confirmation.pk}",
            )
    return len(active)


@transaction.atomic
def gates_expire_lapsed() -> int:
    """Gates past their 12 months: marked expired, and the client told what to redo."""
    lapsed = GateConfirmation.objects.filter(valid_until__lte=timezone.now())
    return _expire(lapsed, "validity_ended")


@transaction.atomic
def gates_expire_for_rating(*, user: User, old: str | None, new: str | None) -> int:
    """The client's rating changed: their gates and above-rating confirmations taken at another
    rating lapse. One taken at the new rating stands (the signal arrives after commit, so it can
    come after a gate the client confirmed at that very rating)."""
    return _expire(
        GateConfirmation.objects.filter(user=user).exclude(rating=new or ""), "rating_changed"
    )


@transaction.atomic
def gates_expire_for_disclosure(*, new_version: DocumentVersion) -> int:
    """A new risk disclosure is in force: every gate on an older version lapses."""
    return _expire(
        GateConfirmation.objects.exclude(warning_version=new_version), "disclosure_changed"
    )


# --- receipt --------------------------------------------------------------------------------------


def _queue_receipt(confirmation_id: int) -> None:
    from education import tasks

    transaction.on_commit(lambda: tasks.render_receipt.delay(confirmation_id))


def receipt_file_path(confirmation: GateConfirmation) -> str:
    return f"education/receipts/{confirmation.evidence_hash}.pdf"


def receipt_available(confirmation: GateConfirmation) -> bool:
    """The stored receipt is there and is the file recorded (same SHA-256)."""
    path = confirmation.receipt_path
    if not path or not default_storage.exists(path):
        return False
    with default_storage.open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest() == confirmation.receipt_sha256


def receipt_requested(confirmation: GateConfirmation) -> bool:
    """A reader asked for the receipt: queue it (again) if it is missing or does not match its
    hash; True when it can be served now."""
    from education import tasks

    if receipt_available(confirmation):
        return True
    queue_once(f"receipt:{confirmation.pk}", tasks.render_receipt, confirmation.pk)
    confirmation.refresh_from_db(fields=["receipt_path", "receipt_sha256"])
    return receipt_available(confirmation)


def receipts_requeue(*, before: datetime) -> int:
    """Stuck work: receipts of gates confirmed before `before` that were never rendered."""
    from education import tasks

    pending = GateConfirmation.objects.filter(
        kind=GateConfirmation.Kind.GATE, receipt_path="", confirmed_at__lt=before
    ).values_list("pk", flat=True)[:500]
    return sum(queue_once(f"receipt:{pk}", tasks.render_receipt, pk) for pk in pending)


def receipt_render(*, confirmation_id: int) -> GateConfirmation:
    """Render the receipt, store it, keep its file hash, and email it to the client, once.

    Again when the stored file is missing or no longer matches its hash: the evidence is
    unchanged and WeasyPrint's output is reproducible, so the same file comes back, and the email
    is not sent twice (its idempotency key). The PDF is rendered before the transaction: a second
    of rendering never holds the database's write lock.
    """
    from education import pdf

    confirmation = GateConfirmation.objects.select_related("warning_version__document").get(
        pk=confirmation_id
    )
    if receipt_available(confirmation):
        return confirmation
    data = pdf.render_receipt(confirmation)
    digest = hashlib.sha256(data).hexdigest()
    with transaction.atomic():
        confirmation = GateConfirmation.objects.select_for_update().get(pk=confirmation_id)
        if receipt_available(confirmation):
            return confirmation
        if confirmation.receipt_sha256 and confirmation.receipt_sha256 != digest:
            logger.warning(
                "Receipt of confirmation %s re-rendered with a different hash (%s, was %s)",
                confirmation.pk,
                digest,
                confirmation.receipt_sha256,
            )
        path = receipt_file_path(confirmation)
        if default_storage.exists(path):
            default_storage.delete(path)
        path = default_storage.save(path, ContentFile(data))
        confirmation.receipt_path = path
        confirmation.receipt_sha256 = digest
        confirmation.save(update_fields=["receipt_path", "receipt_sha256"])
        notices.enqueue(
            recipient=confirmation.user,
            key="gate_confirmation",
            context={
                "confirmed_at": timezone.localtime(confirmation.confirmed_at).strftime(
                    "%Y-%m-%d %H:%M"
                ),
                "evidence_hash": confirmation.evidence_hash,
                "_attachments": [
                    {
                        "path": path,
                        "filename": f"wangrun-receipt-{confirmation.pk}.pdf",
                        "mimetype": "application/pdf",
                    }
                ],
            },
            idempotency_key=f"gate_confirmation:{confirmation.pk}",
            channels=["email", "inapp"],
            language=confirmation.evidence.get("language"),
        )
    finished(f"receipt:{confirmation.pk}")
    return confirmation
