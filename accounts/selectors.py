"""Reads other apps use: KYC state, suitability rating and margin eligibility.

- `kyc_status(user)`: the onboarding case state ("none", "draft", "submitted", "revision",
  "approved", "rejected").
- `kyc_valid(user)`: KYC approved and not locked away in restricted storage.
- `suitability_rating(user)`: "C1".."C5" for the current (≤ 2 years old) rating, else None.
- `margin_eligibility(user)`: each condition for margin financing, met or not, with what to do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts import suitability
from accounts.models import (
    AssetDeclaration,
    EligibilityOverride,
    KycCase,
    SuitabilityAssessment,
)
from portal import rows

if TYPE_CHECKING:
    from accounts.models import User

MIN_EXPERIENCE_MONTHS = 6
MIN_AVERAGE_ASSETS = Decimal("500000.00")
NO_CASE = "none"


def kyc_case(user: User) -> KycCase | None:
    return KycCase.objects.filter(user=user).first()


def kyc_status(user: User) -> str:
    case = kyc_case(user)
    return case.status if case is not None else NO_CASE


def kyc_valid(user: User) -> bool:
    return KycCase.objects.filter(
        user=user, status=KycCase.Status.APPROVED, restricted_at__isnull=True
    ).exists()


def current_assessment(user: User) -> SuitabilityAssessment | None:
    """The latest assessment, if it is still within its 2-year validity."""
    return _if_valid(_assessments(user).first())


def _assessments(user: Any):
    return SuitabilityAssessment.objects.filter(user=user).order_by("-assessed_at", "-pk")


def _if_valid(latest: SuitabilityAssessment | None) -> SuitabilityAssessment | None:
    if latest is None or latest.valid_until <= timezone.now():
        return None
    return latest


def rating_column(user: Any) -> Subquery:
    """The client's latest assessment as a JSON column of a query reading several tables at once
    (``user``: the outer query's user id, an ``OuterRef``); ``rating_from`` reads it."""
    return Subquery(
        _assessments(user).values(
            row=rows.row(SuitabilityAssessment, only=["id", "rating", "valid_until"])
        )[:1]
    )


def rating_from(column: Any) -> str | None:
    """``suitability_rating`` from ``rating_column``'s value."""
    assessment = _if_valid(rows.instance(SuitabilityAssessment, rows.load(column)))
    return assessment.rating if assessment is not None else None


def suitability_rating(user: User) -> str | None:
    assessment = current_assessment(user)
    return assessment.rating if assessment is not None else None


@dataclass(frozen=True)
class Condition:
    key: str
    label: str | Promise
    met: bool
    reason: str | Promise = ""  # why it is not met
    next_step: str | Promise = ""  # what to do about it
    url: str = ""


@dataclass(frozen=True)
class Eligibility:
    eligible: bool
    conditions: list[Condition]
    overridden: bool = False
    reasons: list[str | Promise] = field(default_factory=list)


def margin_eligibility(user: User) -> Eligibility:
    """KYC approved, rating ≥ C4 assessed within 2 years, ≥ 6 months trading experience,
    verified 20-trading-day average assets ≥ RMB 500,000, not a related party — or a staff
    override approved by a second person."""
    case = kyc_case(user)
    onboarding = reverse("onboarding:index")
    conditions = [
        _kyc_condition(case, onboarding),
        _rating_condition(user),
        _experience_condition(case, onboarding),
        _assets_condition(user),
        _related_party_condition(case, onboarding),
    ]
    unmet = [c for c in conditions if not c.met]
    overridden = (
        bool(unmet)
        and EligibilityOverride.objects.filter(
            user=user, status=EligibilityOverride.Status.APPROVED
        ).exists()
    )
    return Eligibility(
        eligible=not unmet or overridden,
        conditions=conditions,
        overridden=overridden,
        reasons=[c.reason for c in unmet],
    )


def verified_average_assets(user: User) -> Decimal:
    """The client's latest verified 20-trading-day average assets (0 without one): the margin a
    new financing contract's credit limit is sized on."""
    verified = (
        AssetDeclaration.objects.filter(user=user, status=AssetDeclaration.Status.VERIFIED)
        .order_by("-declared_at", "-pk")
        .first()
    )
    return verified.average_assets if verified is not None else Decimal("0.00")


def _kyc_condition(case: KycCase | None, url: str) -> Condition:
    label = _("Identity verification (KYC) approved")
    if case is not None and case.status == KycCase.Status.APPROVED and case.restricted_at is None:
        return Condition("kyc", label, True)
    if case is None or case.status == KycCase.Status.DRAFT:
        return Condition(
            "kyc",
            label,
            False,
            _("Your onboarding is not finished."),
            _("Complete the onboarding steps and submit them for review."),
            url,
        )
    if case.status == KycCase.Status.SUBMITTED:
        return Condition(
            "kyc",
            label,
            False,
            _("Your application is being reviewed."),
            _("No action needed: we will notify you of the decision."),
            url,
        )
    if case.status == KycCase.Status.REVISION:
        return Condition(
            "kyc",
            label,
            False,
            _("The reviewer asked you to change something."),
            _("Open your application, fix what is marked and submit again."),
            url,
        )
    return Condition(
        "kyc",
        label,
        False,
        _("Your application was not approved."),
        _("Contact our service team if you would like to discuss the decision."),
        url,
    )


def _rating_condition(user: User) -> Condition:
    label = _("Suitability rating C4 or higher, assessed within the last 2 years")
    url = reverse("onboarding:step", args=["suitability"])
    latest = SuitabilityAssessment.objects.filter(user=user).order_by("-assessed_at", "-pk").first()
    if latest is None:
        return Condition(
            "rating",
            label,
            False,
            _("You have not taken the suitability questionnaire."),
            _("Answer the suitability questionnaire."),
            url,
        )
    if latest.valid_until <= timezone.now():
        return Condition(
            "rating",
            label,
            False,
            _("Your suitability rating is more than 2 years old."),
            _("Take the questionnaire again to renew your rating."),
            url,
        )
    if not suitability.rating_at_least(latest.rating, suitability.MARGIN_MIN_RATING):
        return Condition(
            "rating",
            label,
            False,
            _("Your rating is %(rating)s; margin financing is an R4 product and needs C4.")
            % {"rating": latest.rating},
            _("If your circumstances changed, retake the questionnaire or contest the rating."),
            url,
        )
    return Condition("rating", label, True)


def _experience_condition(case: KycCase | None, url: str) -> Condition:
    label = _("At least 6 months of trading experience")
    months = case.experience_months if case is not None else None
    if months is not None and months >= MIN_EXPERIENCE_MONTHS:
        return Condition("experience", label, True)
    return Condition(
        "experience",
        label,
        False,
        _("You declared less than 6 months of trading experience.")
        if months is not None
        else _("You have not declared your trading experience."),
        _("Margin financing opens once you have traded for 6 months; update your details then."),
        url,
    )


def _assets_condition(user: User) -> Condition:
    label = _("20-trading-day average assets of at least RMB 500,000, verified")
    url = reverse("onboarding:assets")
    declarations = AssetDeclaration.objects.filter(user=user).order_by("-declared_at", "-pk")
    verified = declarations.filter(status=AssetDeclaration.Status.VERIFIED).first()
    if verified is not None and verified.average_assets >= MIN_AVERAGE_ASSETS:
        return Condition("assets", label, True)
    latest = declarations.first()
    if latest is not None and latest.status == AssetDeclaration.Status.PENDING:
        return Condition(
            "assets",
            label,
            False,
            _("Your asset declaration is waiting to be verified."),
            _("No action needed: a reviewer will check your evidence."),
            url,
        )
    if latest is not None and latest.status == AssetDeclaration.Status.VERIFIED:
        return Condition(
            "assets",
            label,
            False,
            _("Your verified average assets are below RMB 500,000."),
            _("Declare again once your 20-day average reaches RMB 500,000."),
            url,
        )
    if latest is not None:
        return Condition(
            "assets",
            label,
            False,
            _("Your last asset declaration was not accepted."),
            _("Declare again with a clear statement covering the last 20 trading days."),
            url,
        )
    return Condition(
        "assets",
        label,
        False,
        _("You have not declared your average assets."),
        _("Declare your 20-trading-day average assets with a statement as evidence."),
        url,
    )


def _related_party_condition(case: KycCase | None, url: str) -> Condition:
    label = _("Not a related party of Wangrun")
    if case is not None and case.legal_name and not case.related_party:
        return Condition("related_party", label, True)
    if case is None or not case.legal_name:
        return Condition(
            "related_party",
            label,
            False,
            _("You have not made the related-party declaration."),
            _("Fill in your personal details."),
            url,
        )
    return Condition(
        "related_party",
        label,
        False,
        _("Related parties of Wangrun may not use its margin financing."),
        _("Contact our service team if your declaration has changed."),
        url,
    )


def approved_legal_names():
    """(user id, verified legal name) of every client whose KYC is approved."""
    return (
        KycCase.objects.filter(status=KycCase.Status.APPROVED)
        .exclude(legal_name="")
        .values_list("user_id", "legal_name")
    )
