"""Demo education: the margin course published; alice through the gate (in its cool-off), bob
rated but not yet through it, to try the journey in English.

Idempotent: the course is installed once; alice's pass and confirmation are made once.
"""

from datetime import timedelta

from django.utils import timezone

from accounts import selectors as accounts
from accounts import services as accounts_services
from accounts.models import User
from disclosures.models import DocumentKind
from education import content, selectors, services
from education.models import QuizAttempt, WarningReading, WarningSetting

DEMO_ANSWERS = {
    "objective": "growth",
    "horizon": "3to5",
    "experience": "3to5",
    "knowledge": "good",
    "loss_tolerance": "30",
    "drop_reaction": "hold",
    "share_of_assets": "10to30",
    "margin_knowledge": "liquidation",
}


def seed() -> list[str]:
    from disclosures import demo as disclosures_demo

    # education comes before disclosures in INSTALLED_APPS; the warning needs its documents.
    disclosures_demo.seed()
    version = content.install()
    lines = [f"education: {version} published ({version.lessons.count()} lessons)"]
    from disclosures import selectors as disclosures

    risk = disclosures.version_in_force(DocumentKind.RISK_DISCLOSURE)
    if risk is not None:
        WarningSetting.objects.get_or_create(
            document_id=risk.document_id, defaults={"min_reading_seconds": 30}
        )
    for email in ("alice@demo.wangrun.test", "bob@demo.wangrun.test"):
        client = User.objects.filter(email=email).first()
        if client is not None and accounts.suitability_rating(client) is None:
            # The demo clients answer the questionnaire as an experienced investor (C4 or C5),
            # so both can go through the gate; bob is left to try it himself.
            accounts_services.suitability_assess(user=client, answers=DEMO_ANSWERS)
    alice = User.objects.filter(email="alice@demo.wangrun.test").first()
    if alice is None or risk is None:
        return lines
    if not QuizAttempt.objects.filter(user=alice, version=version, passed=True).exists():
        answers = {q.pk: q.correct for q in version.questions.all()}
        services.quiz_submit(user=alice, version=version, answers=answers)
    if selectors.history(alice).exists():
        return lines
    reading = services.warning_open(user=alice, language="zh-hans")
    # The demo reading happened a while ago: end reached, minimum time passed.
    earlier = timezone.now() - timedelta(minutes=10)
    WarningReading.objects.filter(pk=reading.pk).update(
        opened_at=earlier, reached_end_at=earlier + timedelta(minutes=5)
    )
    reading.refresh_from_db()
    services.warning_complete(reading=reading)
    from accounts.demo import DEMO_PASSWORD
    from education import rules

    confirmation = services.gate_confirm(
        user=alice,
        reading=reading,
        version_id=reading.version_id,
        typed=rules.sentence_for("zh-hans"),
        password=DEMO_PASSWORD,
        ip="127.0.0.1",
        user_agent="seed_demo",
    )
    lines.append(f"education: alice confirmed the warning ({confirmation.evidence_hash[:12]}…)")
    return lines
