"""Reads for the education pages, the gate and the compliance statistics."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from education import rules
from education.models import (
    Course,
    CourseVersion,
    GateConfirmation,
    Lesson,
    LessonProgress,
    Question,
    QuizAttempt,
    WarningReading,
)

if TYPE_CHECKING:
    from accounts.models import User


def published_version(course: Course) -> CourseVersion | None:
    return course.versions.filter(status=CourseVersion.Status.PUBLISHED).order_by("-number").first()


def gate_course_version() -> CourseVersion | None:
    """The latest published version of the course the gate requires."""
    return (
        CourseVersion.objects.filter(
            course__required_for_gate=True, status=CourseVersion.Status.PUBLISHED
        )
        .select_related("course")
        .order_by("course__order", "-number")
        .first()
    )


@dataclass(frozen=True)
class CourseRow:
    course: Course
    version: CourseVersion
    lessons: int
    read: int
    passed: bool

    @property
    def percent(self) -> int:
        done = self.read + (1 if self.passed else 0)
        return round(100 * done / (self.lessons + 1))


def course_rows(user: User) -> list[CourseRow]:
    rows = []
    for course in Course.objects.all():
        version = published_version(course)
        if version is None:
            continue
        lessons = version.lessons.count()
        read = LessonProgress.objects.filter(user=user, lesson__version=version).count()
        passed = passed_attempt(user, version) is not None
        rows.append(CourseRow(course, version, lessons, read, passed))
    return rows


def read_lesson_ids(user: User, version: CourseVersion) -> set[int]:
    return set(
        LessonProgress.objects.filter(user=user, lesson__version=version).values_list(
            "lesson_id", flat=True
        )
    )


def lesson_for(version: CourseVersion, pk: int) -> Lesson | None:
    return version.lessons.filter(pk=pk).first()


def passed_attempt(user: User, version: CourseVersion | None) -> QuizAttempt | None:
    """A pass on this version within the gate's validity (12 months)."""
    if version is None:
        return None
    return (
        QuizAttempt.objects.filter(
            user=user,
            version=version,
            passed=True,
            submitted_at__gt=timezone.now() - rules.GATE_VALIDITY,
        )
        .order_by("-submitted_at")
        .first()
    )


def attempts(user: User, version: CourseVersion) -> QuerySet[QuizAttempt]:
    return QuizAttempt.objects.filter(user=user, version=version).order_by("-submitted_at")


def attempt_for_user(user: User, pk: int) -> QuizAttempt | None:
    return QuizAttempt.objects.filter(user=user, pk=pk).select_related("version__course").first()


def reading_for_user(user: User, token: str) -> WarningReading | None:
    return WarningReading.objects.filter(user=user, token=token).select_related("version").first()


def confirmation_for_user(user: User, pk: int) -> GateConfirmation | None:
    return GateConfirmation.objects.filter(user=user, pk=pk).first()


def history(user: User) -> QuerySet[GateConfirmation]:
    return GateConfirmation.objects.filter(user=user).order_by("-confirmed_at", "-pk")


def confirmation_by_hash(value: str) -> GateConfirmation | None:
    """A confirmation whose evidence hash or receipt file hash is `value`."""
    value = (value or "").strip().lower()
    if len(value) != 64:
        return None
    return GateConfirmation.objects.filter(Q(evidence_hash=value) | Q(receipt_sha256=value)).first()


def confirmation_for_pdf(data: bytes) -> GateConfirmation | None:
    """The confirmation this exact file is the receipt of; any changed byte matches nothing."""
    digest = hashlib.sha256(data).hexdigest()
    return GateConfirmation.objects.filter(receipt_sha256=digest).first()


# --- compliance statistics ------------------------------------------------------------------------


@dataclass(frozen=True)
class QuestionStat:
    question: Question
    answered: int
    wrong: int

    @property
    def wrong_rate(self) -> int:
        return round(100 * self.wrong / self.answered) if self.answered else 0


@dataclass(frozen=True)
class VersionStats:
    version: CourseVersion
    learners: int
    completed: int
    attempts: int
    passed_attempts: int
    hardest: list[QuestionStat]

    @property
    def completion_rate(self) -> int:
        return round(100 * self.completed / self.learners) if self.learners else 0

    @property
    def pass_rate(self) -> int:
        return round(100 * self.passed_attempts / self.attempts) if self.attempts else 0


def version_stats(version: CourseVersion) -> VersionStats:
    """Completion (a passed quiz among clients who started), pass rate per attempt, and the
    questions most often answered wrongly."""
    started = set(
        LessonProgress.objects.filter(lesson__version=version).values_list("user_id", flat=True)
    ) | set(QuizAttempt.objects.filter(version=version).values_list("user_id", flat=True))
    totals = QuizAttempt.objects.filter(version=version).aggregate(
        n=Count("pk"), passed=Count("pk", filter=Q(passed=True))
    )
    completed = (
        QuizAttempt.objects.filter(version=version, passed=True)
        .values("user_id")
        .distinct()
        .count()
    )
    wrong_counts: dict[int, int] = {}
    for wrong in QuizAttempt.objects.filter(version=version).values_list("wrong", flat=True):
        for qid in wrong:
            wrong_counts[int(qid)] = wrong_counts.get(int(qid), 0) + 1
    stats = [
        QuestionStat(q, totals["n"], wrong_counts.get(q.pk, 0)) for q in version.questions.all()
    ]
    stats.sort(key=lambda s: (-s.wrong, s.question.order))
    return VersionStats(version, len(started), completed, totals["n"], totals["passed"], stats)
