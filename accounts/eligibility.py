"""Eligibility inputs for margin financing: declared assets and staff overrides (four-eyes)."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import uploads
from accounts.kyc import FourEyesError, OnboardingError
from accounts.models import (
    AssetDeclaration,
    EligibilityOverride,
    User,
)
from audit import record as audit_record
from portal import crypto

MIN_MARGIN_ASSETS = Decimal("500000.00")


# --- eligibility inputs ----------------------------------------------------------------------


@transaction.atomic
def asset_declaration_submit(*, user: User, average_assets: Decimal, evidence) -> AssetDeclaration:
    """The client declares their 20-trading-day average assets with a statement image."""
    if not isinstance(average_assets, Decimal) or average_assets <= 0:
        raise OnboardingError(_("Enter your average assets in RMB."))
    image = uploads.clean_image(evidence)
    declaration = AssetDeclaration.objects.create(
        user=user,
        average_assets=average_assets.quantize(Decimal("0.01")),
        evidence_encrypted=crypto.encrypt_bytes(image.data),
        evidence_sha256=image.sha256,
    )
    audit_record(
        actor=user,
        action="eligibility.assets_declared",
        obj=declaration,
        data={"average_assets": str(declaration.average_assets)},
    )
    return declaration


@transaction.atomic
def asset_declaration_review(
    *, declaration: AssetDeclaration, reviewer: User, verified: bool, note: str = ""
) -> AssetDeclaration:
    declaration = AssetDeclaration.objects.select_for_update().get(pk=declaration.pk)
    if declaration.user_id == reviewer.pk:
        raise FourEyesError(_("You cannot verify your own declaration."))
    if declaration.status != AssetDeclaration.Status.PENDING:
        raise OnboardingError(_("This declaration has already been reviewed."))
    declaration.status = (
        AssetDeclaration.Status.VERIFIED if verified else AssetDeclaration.Status.REJECTED
    )
    declaration.reviewed_by = reviewer
    declaration.reviewed_at = timezone.now()
    declaration.note = note.strip()[:300]
    declaration.save()
    audit_record(
        actor=reviewer,
        action="eligibility.assets_reviewed",
        obj=declaration,
        data={"verified": verified, "average_assets": str(declaration.average_assets)},
    )
    return declaration


@transaction.atomic
def eligibility_override_request(*, user: User, staff: User, reason: str) -> EligibilityOverride:
    if not reason.strip():
        raise OnboardingError(_("An override needs a reason."))
    if user.pk == staff.pk:
        raise FourEyesError(_("You cannot override your own eligibility."))
    override = EligibilityOverride.objects.create(
        user=user, reason=reason.strip(), requested_by=staff
    )
    audit_record(
        actor=staff,
        action="eligibility.override_requested",
        obj=override,
        data={"client": user.pk, "reason": override.reason},
    )
    return override


@transaction.atomic
def eligibility_override_approve(
    *, override: EligibilityOverride, approver: User, approve: bool = True
) -> EligibilityOverride:
    """The second person: never the one who asked, never the client."""
    override = EligibilityOverride.objects.select_for_update().get(pk=override.pk)
    if approver.pk in (override.requested_by_id, override.user_id):
        raise FourEyesError(_("An override must be approved by a second, different person."))
    if not approver.has_perm("accounts.approve_eligibilityoverride"):
        raise PermissionDenied(_("You may not approve eligibility overrides."))
    if override.status != EligibilityOverride.Status.PENDING:
        raise OnboardingError(_("This override has already been decided."))
    override.status = (
        EligibilityOverride.Status.APPROVED if approve else EligibilityOverride.Status.REJECTED
    )
    override.approved_by = approver
    override.approved_at = timezone.now()
    override.save()
    audit_record(
        actor=approver,
        action="eligibility.override_approved" if approve else "eligibility.override_rejected",
        obj=override,
        data={
            "client": override.user_id,
            "requested_by": override.requested_by_id,
            "reason": override.reason,
        },
    )
    return override
