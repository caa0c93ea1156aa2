"""Demo education: the margin course published, and every demo client who holds (or may open)
financing through the gate — lessons read, quiz passed, the warning read to the end, the sentence
typed, the password given, the receipt rendered: those with financing ten days ago, before they
opened it; ready@ two days ago, so the 24-hour cool-off is over and financing can be opened now.
eligible@ has not started, to try the whole journey.

Idempotent: the course is installed once; a client's gate is taken once.
"""

from __future__ import annotations

from datetime import timedelta

from accounts import demo as accounts_demo
from accounts.models import User
from disclosures import selectors as disclosures
from disclosures.kinds import DocumentKind
from education import content, rules, selectors, services
from education.models import CourseVersion, WarningSetting
from portal.backdating import back_in_time

# Who passed the gate, how long ago.
GATE_PASSED = {
    "alice@demo.wangrun.test": timedelta(days=10),
    "bob@demo.wangrun.test": timedelta(days=10),
    "payout@demo.wangrun.test": timedelta(days=10),
    "warning@margin-demo.wangrun.test": timedelta(days=10),
    "call@margin-demo.wangrun.test": timedelta(days=10),
    "liquidation@margin-demo.wangrun.test": timedelta(days=10),
    "ready@demo.wangrun.test": timedelta(days=2),
}
READING_MINUTES = 4


def seed() -> list[str]:
    version = content.install()
    lines = [f"  education     {version} published ({version.lessons.count()} lessons)"]
    risk = disclosures.version_in_force(DocumentKind.RISK_DISCLOSURE)
    if risk is None:
        return lines
    WarningSetting.objects.get_or_create(
        document_id=risk.document_id, defaults={"min_reading_seconds": 30}
    )
    for email, ago in GATE_PASSED.items():
        user = User.objects.get(email=email)
        if not selectors.history(user).exists():
            through_gate(user, version, ago=ago)
    return lines


def through_gate(user: User, version: CourseVersion, *, ago: timedelta) -> None:
    """The client's own steps, each through its service, at the times a client would take them."""
    with back_in_time(ago) as clock:
        for lesson in version.lessons.all():
            services.lesson_mark_read(user=user, lesson=lesson)
            clock.shift(timedelta(minutes=3))
        answers = {question.pk: question.correct for question in version.questions.all()}
        services.quiz_submit(user=user, version=version, answers=answers)
        reading = services.warning_open(user=user, language=user.language)
        clock.shift(timedelta(minutes=READING_MINUTES))
        reading = services.warning_reached_end(reading=reading)
        clock.shift(timedelta(seconds=20))
        reading = services.warning_complete(reading=reading)
        services.gate_confirm(
            user=user,
            reading=reading,
            version_id=reading.version_id,
            typed=rules.sentence_for(reading.language),
            password=accounts_demo.DEMO_PASSWORD,
            ip="127.0.0.1",
            user_agent="Mozilla/5.0 (seed_demo)",
        )
