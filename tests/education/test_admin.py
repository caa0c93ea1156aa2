"""Compliance in the admin: statistics per course version, gate history per client, publishing."""

import pytest
from django.urls import reverse

from education.models import CourseVersion, GateConfirmation
from tests.disclosures import factories as disclosure_factories
from tests.education import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def frank(db):
    return disclosure_factories.staff(email="frank-edu@example.test", full_name="方正")


def test_compliance_sees_rates_hardest_questions_and_gate_history(client, gate_world, frank):
    version = CourseVersion.objects.get()
    factories.through_gate(factories.client(email="c1@example.test"))
    client.force_login(frank)
    listing = client.get(reverse("admin:education_courseversion_changelist")).content.decode()
    assert "100% (1/1)" in listing  # completion and pass rate
    page = client.get(reverse("admin:education_courseversion_change", args=[version.pk]))
    assert 'data-testid="hardest"' in page.content.decode()
    history = client.get(
        reverse("admin:education_gateconfirmation_changelist") + "?q=c1@example.test"
    )
    assert history.status_code == 200 and "c1@example.test" in history.content.decode()
    confirmation = GateConfirmation.objects.get()
    detail = client.get(reverse("admin:education_gateconfirmation_change", args=[confirmation.pk]))
    assert confirmation.evidence_hash in detail.content.decode()
    assert (
        client.post(
            reverse("admin:education_gateconfirmation_delete", args=[confirmation.pk])
        ).status_code
        == 403
    )


def test_compliance_drafts_and_publishes_a_new_version_in_the_admin(client, gate_world, frank):
    version = CourseVersion.objects.get()
    client.force_login(frank)
    client.post(
        reverse("admin:education_course_changelist"),
        {"action": "new_draft", "_selected_action": [version.course_id]},
    )
    draft = CourseVersion.objects.get(number=2)
    assert draft.status == "draft" and draft.lessons.count() == version.lessons.count()
    client.post(
        reverse("admin:education_courseversion_changelist"),
        {"action": "publish", "_selected_action": [draft.pk]},
    )
    draft.refresh_from_db()
    assert draft.is_published and draft.content_hash


def test_an_agent_reads_the_course_but_not_the_evidence_and_cannot_publish(client, gate_world):
    agent = disclosure_factories.staff(role="agent", email="carol-edu@example.test")
    client.force_login(agent)
    # Every client's gate evidence is compliance's to read, not the agent's, wholesale.
    assert client.get(reverse("admin:education_gateconfirmation_changelist")).status_code == 403
    version = CourseVersion.objects.get()
    response = client.get(reverse("admin:education_courseversion_change", args=[version.pk]))
    assert response.status_code == 200
    from education import services

    draft = services.course_version_new_draft(actor=agent, course=version.course)
    client.post(
        reverse("admin:education_courseversion_changelist"),
        {"action": "publish", "_selected_action": [draft.pk]},
    )
    draft.refresh_from_db()
    assert not draft.is_published
