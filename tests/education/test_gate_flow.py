"""Each step checks the one before on the server; the evidence is complete and immutable."""

from datetime import timedelta

import pytest
import time_machine
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from django.utils import timezone

from audit.models import AuditEntry
from education import rules, services
from education.models import GateConfirmation, ImmutableError, WarningReading
from tests.education import factories
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings):
    """The assertions below read the English source messages."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def test_the_warning_is_refused_before_the_quiz_is_passed(gate_world):
    user = factories.client()
    with pytest.raises(services.StepRefused):
        services.warning_open(user=user, language="zh-hans")
    assert not WarningReading.objects.exists()


def test_a_failed_quiz_keeps_the_wrong_answers_and_can_be_retried(course_v1):
    user = factories.client()
    questions = list(course_v1.questions.all())
    answers = {q.pk: q.correct for q in questions}
    answers[questions[0].pk] = (questions[0].correct + 1) % len(questions[0].choices)
    answers[questions[1].pk] = (questions[1].correct + 1) % len(questions[1].choices)
    answers[questions[2].pk] = (questions[2].correct + 1) % len(questions[2].choices)
    failed = services.quiz_submit(user=user, version=course_v1, answers=answers)
    assert failed.score == 62 and not failed.passed  # 5 of 8 against a pass mark of 75%
    assert failed.wrong == [questions[0].pk, questions[1].pk, questions[2].pk]
    passed = factories.pass_quiz(user, course_v1)
    assert passed.passed and passed.score == 100


def test_an_unanswered_question_is_refused(course_v1):
    user = factories.client()
    with pytest.raises(services.StepRefused):
        services.quiz_submit(user=user, version=course_v1, answers={})


def test_next_is_refused_before_the_end_is_reached_or_the_time_has_passed(gate_world):
    user = factories.client()
    factories.pass_quiz(user)
    reading = services.warning_open(user=user, language="zh-hans")
    with pytest.raises(services.StepRefused, match="Scroll"):
        services.warning_complete(reading=reading)
    services.warning_reached_end(reading=reading)
    with pytest.raises(services.StepRefused, match="30 seconds"):
        services.warning_complete(reading=reading)
    with time_machine.travel(timezone.now() + timedelta(seconds=31)):
        assert services.warning_complete(reading=reading).completed_at is not None


def test_confirming_without_finishing_the_warning_is_refused(gate_world):
    user = factories.client()
    factories.pass_quiz(user)
    reading = services.warning_open(user=user, language="zh-hans")
    with pytest.raises(services.StepRefused):
        services.gate_confirm(
            user=user,
            reading=reading,
            version_id=reading.version_id,
            typed=rules.sentence_for("zh-hans"),
            password=PASSWORD,
        )
    assert not GateConfirmation.objects.exists()


def test_a_stale_tab_confirming_an_old_warning_version_is_refused(gate_world):
    user = factories.client()
    factories.pass_quiz(user)
    reading = factories.read_warning(user)
    factories.switch_risk_disclosure()
    with pytest.raises(services.StepRefused, match="changed"):
        factories.confirm(user, reading)
    assert not GateConfirmation.objects.exists()


def test_a_posted_version_that_is_not_the_one_read_is_refused(gate_world):
    user = factories.client()
    factories.pass_quiz(user)
    reading = factories.read_warning(user)
    with pytest.raises(services.StepRefused, match="old version"):
        services.gate_confirm(
            user=user,
            reading=reading,
            version_id=reading.version_id + 999,
            typed=rules.sentence_for("zh-hans"),
            password=PASSWORD,
        )


def test_a_wrong_sentence_or_password_is_refused(gate_world):
    user = factories.client()
    factories.pass_quiz(user)
    reading = factories.read_warning(user)
    common = {"user": user, "reading": reading, "version_id": reading.version_id}
    with pytest.raises(services.StepRefused, match="sentence"):
        services.gate_confirm(**common, typed="我同意", password=PASSWORD)
    with pytest.raises(services.StepRefused, match="password"):
        services.gate_confirm(**common, typed=rules.sentence_for("zh-hans"), password="nope")
    assert not GateConfirmation.objects.exists()


def test_password_guessing_at_the_confirmation_is_limited(gate_world, one_rate_window):
    user = factories.client()
    factories.pass_quiz(user)
    reading = factories.read_warning(user)
    common = {"user": user, "reading": reading, "version_id": reading.version_id}
    typed = rules.sentence_for("zh-hans")
    for _ in range(services.REAUTH_ATTEMPTS):
        with pytest.raises(services.StepRefused, match="password"):
            services.gate_confirm(**common, typed=typed, password="guess")
    # Even the right password is refused until the window has passed.
    with pytest.raises(services.StepRefused, match="Too many attempts"):
        services.gate_confirm(**common, typed=typed, password=PASSWORD)
    assert not GateConfirmation.objects.exists()


def test_an_authenticator_code_also_signs(gate_world):
    user = factories.client()
    secret = "JBSWY3DPEHPK3PXPEDUCATIONGATE234"
    TOTP.activate(user, secret)
    factories.pass_quiz(user)
    reading = factories.read_warning(user)
    code = format_hotp_value(hotp_value(secret, int(timezone.now().timestamp()) // 30))
    confirmation = services.gate_confirm(
        user=user,
        reading=reading,
        version_id=reading.version_id,
        typed=rules.sentence_for("zh-hans"),
        code=code,
    )
    assert confirmation.evidence["reauthenticated_by"] == "totp"


def test_the_evidence_names_every_version_hash_figure_and_the_client(gate_world):
    user = factories.client()
    confirmation = factories.through_gate(user)
    evidence = confirmation.evidence
    assert evidence["risk_warning"]["content_hash"] == gate_world.content_hash
    assert evidence["terms"]["content_hash"]
    assert evidence["course"]["content_hash"] == confirmation.course_version.content_hash
    assert evidence["quiz"]["score"] == 100
    assert evidence["figures"]["call_line"] == "130%"
    assert evidence["ip"] == "203.0.113.7" and evidence["user_agent"] == "pytest"
    assert evidence["rendered_hash"] and evidence["typed"] == rules.sentence_for("zh-hans")
    assert confirmation.evidence_hash == GateConfirmation.hash_evidence(evidence)
    assert AuditEntry.objects.filter(action="education.gate_confirm").count() == 1


def test_a_confirmation_can_never_be_edited_or_deleted(gate_world):
    confirmation = factories.through_gate(factories.client())
    confirmation.evidence = {"forged": True}
    with pytest.raises(ImmutableError):
        confirmation.save()
    with pytest.raises(ImmutableError):
        confirmation.delete()


def test_a_published_course_version_never_changes(course_v1):
    lesson = course_v1.lessons.first()
    lesson.body_zh = "改写"
    with pytest.raises(ImmutableError):
        lesson.save()
    course_v1.pass_mark = 10
    with pytest.raises(ImmutableError):
        course_v1.save()


def test_a_new_draft_copies_the_published_version(course_v1, compliance_frank):
    draft = services.course_version_new_draft(actor=compliance_frank, course=course_v1.course)
    assert draft.number == 2 and not draft.is_published
    assert draft.lessons.count() == course_v1.lessons.count()
    lesson = draft.lessons.first()
    lesson.body_zh += "补充。"
    lesson.save()
    published = services.course_version_publish(actor=compliance_frank, version=draft)
    assert published.content_hash != course_v1.content_hash


def test_withdrawal_only_during_cool_off(gate_world):
    user = factories.client()
    confirmation = factories.through_gate(user)
    later = factories.client()
    other = factories.through_gate(later)
    assert services.gate_withdraw(user=user, confirmation=confirmation).withdrawn_at
    with (
        time_machine.travel(timezone.now() + timedelta(hours=25)),
        pytest.raises(services.StepRefused, match="cool-off"),
    ):
        services.gate_withdraw(user=later, confirmation=other)


def test_the_database_refuses_to_change_the_evidence(gate_world):
    from django.db import DatabaseError, transaction

    confirmation = factories.through_gate(factories.client())
    with pytest.raises(DatabaseError), transaction.atomic():
        GateConfirmation.objects.filter(pk=confirmation.pk).update(evidence={"forged": True})
    # Life-cycle columns still move.
    GateConfirmation.objects.filter(pk=confirmation.pk).update(expiry_reason="replaced")
