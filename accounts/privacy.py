"""PIPL rights: exporting a client's data and requesting its erasure."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.utils import timezone

from accounts.kyc import KYC_RETENTION, Status, document_image
from accounts.models import (
    AssetDeclaration,
    Consent,
    KycCase,
    SuitabilityAssessment,
    User,
)
from audit import record as audit_record
from portal import crypto

# --- privacy ---------------------------------------------------------------------------------


def privacy_export(*, user: User) -> bytes:
    """A zip of everything we hold about the client: data.json plus their document images."""
    case = KycCase.objects.filter(user=user).first()
    data: dict = {
        "account": {
            "email": user.email,
            "full_name": user.full_name,
            "phone": user.phone,
            "language": user.language,
            "date_joined": user.date_joined.isoformat(),
        },
        "consents": [
            {
                "purpose": c.purpose,
                "granted": c.granted,
                "version": c.text_version,
                "at": c.decided_at.isoformat(),
            }
            for c in Consent.objects.filter(user=user).order_by("decided_at", "pk")
        ],
        "suitability": [
            {
                "rating": a.rating,
                "score": a.score,
                "answers": a.answers,
                "assessed_at": a.assessed_at.isoformat(),
                "valid_until": a.valid_until.isoformat(),
            }
            for a in SuitabilityAssessment.objects.filter(user=user).order_by("assessed_at")
        ],
        "asset_declarations": [
            {
                "average_assets": str(d.average_assets),
                "status": d.status,
                "declared_at": d.declared_at.isoformat(),
            }
            for d in AssetDeclaration.objects.filter(user=user)
        ],
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if case is not None:
            data["kyc"] = {
                "status": case.status,
                "legal_name": case.legal_name,
                "id_number": crypto.decrypt(case.id_number_encrypted)
                if case.id_number_encrypted
                else "",
                "birth_date": case.birth_date.isoformat() if case.birth_date else None,
                "sex": case.sex,
                "address": case.address,
                "occupation": case.occupation,
                "income_band": case.income_band,
                "source_of_funds": case.source_of_funds,
                "experience_months": case.experience_months,
                "experience_products": case.experience_products,
                "related_party": case.related_party,
                "submitted_at": case.submitted_at.isoformat() if case.submitted_at else None,
                "decision_reason": case.decision_reason,
                "client_message": case.client_message,
            }
            for doc in case.documents.all().order_by("uploaded_at"):
                name = f"documents/{doc.uploaded_at:%Y%m%d-%H%M%S}-{doc.kind}-{doc.pk}.jpg"
                archive.writestr(name, document_image(doc))
        archive.writestr("data.json", json.dumps(data, ensure_ascii=False, indent=2))
    with transaction.atomic():
        audit_record(actor=user, action="privacy.exported", obj=user, data={})
    return buffer.getvalue()


@dataclass(frozen=True)
class ErasureOutcome:
    deleted: bool
    retained_until: date | None


@transaction.atomic
def privacy_erasure_request(*, user: User) -> ErasureOutcome:
    """Delete what we may; what the law makes us keep goes to restricted storage with its date.

    A case never submitted holds nothing we must keep, so it goes. A submitted one is a record we
    are obliged to retain: it is locked away (staff without the restricted-records permission no
    longer see it) until the retention date.
    """
    case = KycCase.objects.select_for_update().filter(user=user).first()
    if case is None or (case.submitted_at is None and case.status == Status.DRAFT):
        if case is not None:
            case.documents.all().delete()
            case.hits.all().delete()
            case.delete()
        Consent.objects.filter(user=user).delete()
        audit_record(actor=user, action="privacy.erased", obj=user, data={"retained": False})
        return ErasureOutcome(deleted=True, retained_until=None)
    if case.restricted_at is None:
        case.restricted_at = timezone.now()
        case.retention_until = timezone.localdate(timezone.now() + KYC_RETENTION)
        case.save(update_fields=["restricted_at", "retention_until", "updated_at"])
        audit_record(
            actor=user,
            action="privacy.restricted",
            obj=case,
            data={"retention_until": case.retention_until.isoformat()},
        )
    return ErasureOutcome(deleted=False, retained_until=case.retention_until)
