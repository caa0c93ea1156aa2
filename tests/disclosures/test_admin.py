"""The compliance workflow through the admin: four-eyes and the notice period are enforced there."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from disclosures.models import DocumentVersion, VersionStatus
from tests.disclosures.factories import staff

pytestmark = pytest.mark.django_db


def local(dt) -> str:
    return timezone.localtime(dt).strftime("%Y-%m-%dT%H:%M")


def test_draft_review_approve_and_schedule_in_the_admin(client, fees_v1):
    frank, grace = staff(email="f@example.test"), staff(email="g@example.test")
    client.force_login(frank)
    response = client.post(
        reverse("admin:disclosures_document_new_draft", args=[fees_v1.document.pk])
    )
    draft = DocumentVersion.objects.get(document=fees_v1.document, number=2)
    assert response.status_code == 302
    # An increase of the tier 2 rate, edited as a draft.
    DocumentVersion.objects.filter(pk=draft.pk).update(summary_zh="上调", summary_en="Up")
    draft.items.filter(code="financing_rate_tier2").update(value="0.086")
    preview = client.get(reverse("admin:disclosures_documentversion_preview", args=[draft.pk]))
    assert "30" in preview.content.decode() and "effect-worse" in preview.content.decode()
    client.post(reverse("admin:disclosures_documentversion_submit", args=[draft.pk]))
    response = client.post(
        reverse("admin:disclosures_documentversion_approve", args=[draft.pk]), follow=True
    )
    assert "second compliance officer" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == VersionStatus.IN_REVIEW and draft.approved_by is None

    client.force_login(grace)
    client.post(reverse("admin:disclosures_documentversion_approve", args=[draft.pk]))
    draft.refresh_from_db()
    assert draft.approved_by == grace

    schedule = reverse("admin:disclosures_documentversion_schedule", args=[draft.pk])
    response = client.post(schedule, {"effective_at": local(timezone.now() + timedelta(days=10))})
    assert response.status_code == 200
    assert re.search(r"at least 30 days", response.content.decode())
    draft.refresh_from_db()
    assert draft.status == VersionStatus.IN_REVIEW
    response = client.post(
        schedule, {"effective_at": local(timezone.now() + timedelta(days=30, hours=1))}
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == VersionStatus.SCHEDULED


def test_published_versions_are_read_only_in_the_admin(client, fees_v1):
    client.force_login(staff())
    url = reverse("admin:disclosures_documentversion_change", args=[fees_v1.pk])
    response = client.get(url)
    assert response.status_code == 200
    assert 'name="text_zh"' not in response.content.decode()
    client.post(url, {"text_zh": "x"})
    fees_v1.refresh_from_db()
    assert fees_v1.text_zh != "x"


def test_an_agent_can_read_but_not_draft(client, fees_v1):
    client.force_login(staff("agent"))
    assert client.get(reverse("admin:disclosures_documentversion_changelist")).status_code == 200
    response = client.post(
        reverse("admin:disclosures_document_new_draft", args=[fees_v1.document.pk])
    )
    assert response.status_code == 403
    assert fees_v1.document.versions.count() == 1
