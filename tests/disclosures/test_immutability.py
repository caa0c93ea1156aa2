"""Published versions, their items and acknowledgements cannot be changed: not through the model,
not through a queryset update that skips the model, not with raw SQL (database triggers)."""

from decimal import Decimal as D

import pytest
from django.db import DatabaseError, connection, transaction

from disclosures.models import (
    Acknowledgement,
    DocumentVersion,
    FeeItem,
    ImmutableVersionError,
    VersionStatus,
)
from tests.conftest import SERVICES_AVAILABLE
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_editing_a_published_text_fails_at_the_model(fees_v1):
    fees_v1.text_zh = "改过的文本"
    with pytest.raises(ImmutableVersionError):
        fees_v1.save()


def test_editing_a_published_text_after_a_refresh_fails_at_the_model(fees_v1):
    version = DocumentVersion.objects.get(pk=fees_v1.pk)
    version.refresh_from_db()
    version.effective_at = None
    with pytest.raises(ImmutableVersionError):
        version.save(update_fields=["effective_at"])


def test_a_published_version_cannot_go_back_to_draft_at_the_model(fees_v1):
    fees_v1.status = VersionStatus.DRAFT
    with pytest.raises(ImmutableVersionError):
        fees_v1.save(update_fields=["status"])


def test_a_published_version_cannot_be_deleted_at_the_model(fees_v1):
    with pytest.raises(ImmutableVersionError):
        fees_v1.delete()


@pytest.mark.parametrize(
    "change",
    [
        {"text_zh": "改过的文本"},
        {"text_en": "edited"},
        {"summary_zh": "x"},
        {"content_hash": "0" * 64},
        {"status": VersionStatus.DRAFT},
        {"status": VersionStatus.SCHEDULED},
        {"number": 9},
    ],
)
def test_editing_a_published_version_fails_in_the_database(fees_v1, change):
    with pytest.raises(DatabaseError), transaction.atomic():
        DocumentVersion.objects.filter(pk=fees_v1.pk).update(**change)
    fees_v1.refresh_from_db()
    assert (
        fees_v1.status == VersionStatus.IN_FORCE and fees_v1.content_hash == fees_v1.compute_hash()
    )


def test_raw_sql_cannot_edit_a_published_text(fees_v1):
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE disclosures_documentversion SET text_zh = %s WHERE id = %s", ["x", fees_v1.pk]
        )


def test_the_life_cycle_may_still_move_forward(fees_v1):
    DocumentVersion.objects.filter(pk=fees_v1.pk).update(status=VersionStatus.SUPERSEDED)
    fees_v1.refresh_from_db()
    assert fees_v1.status == VersionStatus.SUPERSEDED


def test_items_of_a_published_version_are_fixed(fees_v1):
    item = fees_v1.items.get(code="financing_rate_tier2")
    item.value = D("0.01")
    with pytest.raises(ImmutableVersionError):
        item.save()
    with pytest.raises(ImmutableVersionError):
        item.delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        FeeItem.objects.filter(pk=item.pk).update(value=D("0.01"))
    with pytest.raises(DatabaseError), transaction.atomic():
        FeeItem.objects.bulk_create(
            [
                FeeItem(
                    version=fees_v1, code="sneaky", name_zh="x", name_en="x", basis="fixed", value=1
                )
            ]
        )
    item.refresh_from_db()
    assert item.value == D("0.083500")


def test_acknowledgements_are_never_changed_or_deleted(fees_v1):
    ack = Acknowledgement.objects.create(
        client=UserFactory(),
        version=fees_v1,
        decision="accepted",
        content_hash=fees_v1.content_hash,
    )
    ack.decision = "declined"
    with pytest.raises(ImmutableVersionError):
        ack.save()
    with pytest.raises(ImmutableVersionError):
        ack.delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        Acknowledgement.objects.filter(pk=ack.pk).update(decision="declined")
    ack.refresh_from_db()
    assert ack.decision == "accepted"


@pytest.mark.services
@pytest.mark.skipif(not SERVICES_AVAILABLE, reason="PostgreSQL only")
def test_postgresql_refuses_deleting_evidence(fees_v1):
    ack = Acknowledgement.objects.create(
        client=UserFactory(),
        version=fees_v1,
        decision="accepted",
        content_hash=fees_v1.content_hash,
    )
    with pytest.raises(DatabaseError), transaction.atomic():
        Acknowledgement.objects.filter(pk=ack.pk).delete()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM disclosures_feeitem WHERE version_id = %s", [fees_v1.pk])
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM disclosures_documentversion WHERE id = %s", [fees_v1.pk])
    assert DocumentVersion.objects.filter(pk=fees_v1.pk).exists()


def test_a_draft_can_still_be_edited(compliance_frank, fees_v1):
    from disclosures import services

    draft = services.version_draft_create(actor=compliance_frank, document=fees_v1.document)
    draft.text_zh = "草稿"
    draft.save()
    item = draft.items.first()
    item.value = D("0.07")
    item.save()
    draft.refresh_from_db()
    assert draft.text_zh == "草稿"
    assert draft.items.get(pk=item.pk).value == D("0.07")
