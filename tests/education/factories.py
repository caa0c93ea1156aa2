"""Education test data: documents in force, the course published, clients with a rating, and a
client walked through the gate by direct service calls."""

from datetime import timedelta

from django.utils import timezone

from accounts.models import SuitabilityAssessment
from disclosures.models import DocumentKind
from education import content, rules, services
from education.models import WarningReading, WarningSetting
from tests.disclosures import factories as disclosure_factories
from tests.factories import PASSWORD, UserFactory


def documents_in_force(min_seconds: int = 30):
    """Terms, contract terms, fee schedule and risk disclosure, in force; returns the last."""
    for kind in (DocumentKind.TERMS, DocumentKind.MARGIN_CONTRACT, DocumentKind.FEE_SCHEDULE):
        disclosure_factories.in_force(kind)
    risk = disclosure_factories.in_force(DocumentKind.RISK_DISCLOSURE)
    WarningSetting.objects.update_or_create(
        document_id=risk.document_id, defaults={"min_reading_seconds": min_seconds}
    )
    return risk


def rate(user, rating: str = "C4") -> SuitabilityAssessment:
    now = timezone.now()
    return SuitabilityAssessment.objects.create(
        user=user,
        questionnaire_version="test",
        answers={},
        score=0,
        rating=rating,
        assessed_at=now,
        valid_until=now + timedelta(days=730),
    )


def client(rating: str | None = "C4", **kwargs):
    user = UserFactory(**kwargs)
    if rating:
        rate(user, rating)
    return user


def course():
    return content.install()


def pass_quiz(user, version=None):
    version = version or course()
    return services.quiz_submit(
        user=user, version=version, answers={q.pk: q.correct for q in version.questions.all()}
    )


def read_warning(user, *, language: str = "zh-hans", tier: int | None = None) -> WarningReading:
    """Open the warning, reach the end, and let the minimum time pass (by moving the opening)."""
    reading = services.warning_open(user=user, language=language, tier=tier)
    earlier = timezone.now() - timedelta(seconds=reading.min_seconds + 1)
    WarningReading.objects.filter(pk=reading.pk).update(opened_at=earlier, reached_end_at=earlier)
    reading.refresh_from_db()
    return services.warning_complete(reading=reading)


def confirm(user, reading=None, **kwargs):
    reading = reading or read_warning(user)
    return services.gate_confirm(
        user=user,
        reading=reading,
        version_id=reading.version_id,
        typed=rules.sentence_for(reading.language),
        password=PASSWORD,
        ip="203.0.113.7",
        user_agent="pytest",
        **kwargs,
    )


def through_gate(user):
    pass_quiz(user)
    return confirm(user)


def switch_risk_disclosure(text_suffix: str = "\n\n七、补充\n新增条款。"):
    """Publish a new risk disclosure version and let the sweep switch it into force."""
    from disclosures import services as disclosure_services
    from disclosures.models import DocumentVersion, VersionStatus

    current = DocumentVersion.objects.get(
        document__kind=DocumentKind.RISK_DISCLOSURE, status=VersionStatus.IN_FORCE
    )
    now = timezone.now()
    version = DocumentVersion.objects.create(
        document=current.document,
        number=current.number + 1,
        text_zh=current.text_zh + text_suffix,
        text_en=current.text_en + "\n\n7. Addendum\nA new clause.",
    )
    version.content_hash = version.compute_hash()
    version.status = VersionStatus.SCHEDULED
    version.published_at = now - timedelta(days=8)
    version.effective_at = now - timedelta(minutes=1)
    version.notice_days = 7
    version.favourable = False
    version.save()
    disclosure_services.versions_switch_due()
    version.refresh_from_db()
    return version
