"""KYC onboarding: the client's wizard (consent, details, documents, suitability, submission)
and the reviewer's side (documents, screening hits, the decision).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import idcard, screening, suitability, uploads
from accounts.models import (
    Consent,
    KycCase,
    KycDocument,
    ScreeningHit,
    SuitabilityAssessment,
    SuitabilityContest,
    User,
)
from accounts.models.kyc import CaseDecisionReason
from accounts.signals import suitability_changed, suitability_contested
from accounts.workflows import KYC_CASE
from audit import record as audit_record
from notices import services as notices
from portal import crypto, inputs

Status = KycCase.Status
DocStatus = KycDocument.Status

# The wizard, in order. Consent comes first: PIPL wants it before the ID number or a face is taken.
STEP_CONSENTS, STEP_PERSONAL, STEP_DOCUMENTS, STEP_SUITABILITY, STEP_REVIEW = 1, 2, 3, 4, 5
CONSENT_VERSION = "2026-11"
# CSRC rules keep client identity records for at least 20 years.
KYC_RETENTION = timedelta(days=365 * 20 + 5)


class OnboardingError(ValidationError):
    """A client action that cannot be done now (wrong state); carries a translated message."""


class FourEyesError(PermissionDenied):
    """The same person may not both make and approve (or decide their own case)."""


# --- the client's wizard ---------------------------------------------------------------------


def kyc_case_for(user: User) -> KycCase:
    case, _created = KycCase.objects.get_or_create(user=user)
    return case


def _lock_case(user: User) -> KycCase:
    kyc_case_for(user)
    return KycCase.objects.select_for_update().get(user=user)


def _require_editable(case: KycCase) -> None:
    if not case.is_editable_by_client:
        raise OnboardingError(
            _("Your application has been submitted and can no longer be changed."),
            code="not_editable",
        )


def _advance(case: KycCase, step: int) -> None:
    case.step = max(case.step, step)


@transaction.atomic
def consents_record(
    *, user: User, identity: bool, face: bool, sensitive: bool, ip: str | None = None
) -> KycCase:
    """Store the three PIPL consents. Identity and sensitive-data consent are needed to continue;
    refusing face comparison switches the case to in-person verification instead."""
    case = _lock_case(user)
    _require_editable(case)
    now = timezone.now()
    for purpose, granted in (
        (Consent.Purpose.IDENTITY, identity),
        (Consent.Purpose.FACE, face),
        (Consent.Purpose.SENSITIVE, sensitive),
    ):
        Consent.objects.create(
            user=user,
            purpose=purpose,
            granted=granted,
            text_version=CONSENT_VERSION,
            decided_at=now,
            ip_address=ip or None,
        )
    case.in_person_verification = not face
    if identity and sensitive:
        _advance(case, STEP_CONSENTS)
    case.save()
    audit_record(
        actor=user,
        action="kyc.consents_recorded",
        obj=case,
        data={
            "identity": identity,
            "face": face,
            "sensitive": sensitive,
            "version": CONSENT_VERSION,
        },
    )
    return case


@dataclass(frozen=True)
class PersonalDetails:
    legal_name: str
    id_number: str
    address: str
    occupation: str
    income_band: str
    source_of_funds: str
    experience_months: int
    experience_products: list[str]
    related_party: bool
    related_party_detail: str = ""


@transaction.atomic
def kyc_personal_save(*, user: User, details: PersonalDetails) -> KycCase:
    """Store the personal details; the ID number is validated, encrypted and blind-indexed."""
    case = _lock_case(user)
    _require_editable(case)
    if case.step < STEP_CONSENTS:
        raise OnboardingError(_("Please answer the consent questions first."), code="order")
    resident_id = idcard.parse_resident_id(details.id_number)
    idcard.require_adult(resident_id)
    case.legal_name = details.legal_name.strip()
    case.id_number_encrypted = crypto.encrypt(resident_id.number)
    case.id_number_index = id_number_index(resident_id.number)
    case.id_number_prefix = resident_id.prefix
    case.id_number_last4 = resident_id.last4
    case.birth_date = resident_id.birth_date
    case.sex = resident_id.sex
    case.address = details.address.strip()
    case.occupation = details.occupation
    case.income_band = details.income_band
    case.source_of_funds = details.source_of_funds
    case.experience_months = details.experience_months
    case.experience_products = sorted(set(details.experience_products))
    case.related_party = details.related_party
    case.related_party_detail = (
        details.related_party_detail.strip() if details.related_party else ""
    )
    _advance(case, STEP_PERSONAL)
    case.full_clean()
    case.save()
    audit_record(actor=user, action="kyc.personal_saved", obj=case, data={})
    return case


def id_number_index(number: str) -> str:
    return crypto.blind_index(idcard.normalise(number), purpose="resident-id")


def required_document_kinds(case: KycCase) -> list[str]:
    kinds = [KycDocument.Kind.ID_FRONT, KycDocument.Kind.ID_BACK]
    if not case.in_person_verification:
        kinds.append(KycDocument.Kind.SELFIE)
    return [str(k) for k in kinds]


@transaction.atomic
def kyc_documents_upload(*, user: User, files: dict) -> list[KycDocument]:
    """Validate, re-encode and encrypt identity images (all of them before storing any). The
    previous image of a kind is kept, superseded, never overwritten. A refused file raises
    ValidationError (keyed by document kind) and nothing is stored."""
    case = _lock_case(user)
    _require_editable(case)
    if case.step < STEP_PERSONAL:
        raise OnboardingError(_("Please fill in your personal details first."), code="order")
    allowed = required_document_kinds(case)
    errors: dict[str, list] = {}
    images = {}
    for kind, upload in files.items():
        if upload is None:
            continue
        if kind not in allowed:
            errors[kind] = [_("This document is not part of your application.")]
            continue
        current = case.documents.filter(kind=kind, superseded=False).first()
        if current is not None and current.status == DocStatus.APPROVED:
            errors[kind] = [_("This document was already approved; no need to upload it again.")]
            continue
        try:
            images[kind] = (uploads.clean_image(upload), current)
        except ValidationError as exc:
            errors[kind] = exc.messages
    if errors:
        raise ValidationError(errors)
    if not images:
        raise OnboardingError(_("Choose at least one image to upload."), code="empty")
    stored = []
    for kind, (image, current) in images.items():
        if current is not None:
            KycDocument.objects.filter(pk=current.pk).update(superseded=True)
        document = KycDocument.objects.create(
            case=case,
            kind=kind,
            content_encrypted=crypto.encrypt_bytes(image.data),
            sha256=image.sha256,
            size=len(image.data),
            width=image.width,
            height=image.height,
        )
        stored.append(document)
        audit_record(
            actor=user,
            action="kyc.document_uploaded",
            obj=document,
            data={
                "kind": kind,
                "sha256": image.sha256,
                "replaced": current.pk if current else None,
            },
        )
    if documents_complete(case):
        _advance(case, STEP_DOCUMENTS)
        case.save(update_fields=["step", "updated_at"])
    return stored


def documents_complete(case: KycCase) -> bool:
    """Every required kind has a current image that is not waiting to be redone."""
    current = {
        d.kind: d.status for d in case.documents.filter(superseded=False).only("kind", "status")
    }
    return all(
        kind in current and current[kind] not in (DocStatus.REVISION, DocStatus.REJECTED)
        for kind in required_document_kinds(case)
    )


def document_image(document: KycDocument) -> bytes:
    return crypto.decrypt_bytes(document.content_encrypted)


@transaction.atomic
def suitability_assess(*, user: User, answers: dict[str, str]) -> SuitabilityAssessment:
    """Score the questionnaire and store the result; tell listeners when the rating changed."""
    result = suitability.score_answers(answers)
    previous = SuitabilityAssessment.objects.filter(user=user).order_by("-assessed_at", "-pk")
    old = previous.first()
    now = timezone.now()
    assessment = SuitabilityAssessment.objects.create(
        user=user,
        questionnaire_version=suitability.VERSION,
        answers={q.key: answers[q.key] for q in suitability.QUESTIONS},
        score=result.score,
        rating=result.rating,
        drivers=result.drivers,
        assessed_at=now,
        valid_until=now + suitability.VALIDITY,
    )
    case = kyc_case_for(user)
    if case.is_editable_by_client and case.step >= STEP_DOCUMENTS:
        _advance(case, STEP_SUITABILITY)
        case.save(update_fields=["step", "updated_at"])
    old_rating = old.rating if old is not None and old.valid_until > now else None
    audit_record(
        actor=user,
        action="suitability.assessed",
        obj=assessment,
        data={"score": result.score, "rating": result.rating, "previous": old_rating},
    )
    if old_rating != result.rating:
        transaction.on_commit(
            lambda: suitability_changed.send(
                sender=SuitabilityAssessment, user=user, old=old_rating, new=result.rating
            )
        )
    return assessment


@transaction.atomic
def suitability_contest(*, user: User, message: str) -> SuitabilityContest:
    """The client disagrees with their current rating; staff see it in admin."""
    message = (message or "").strip()
    if not message:
        raise OnboardingError(_("Please tell us why you disagree with the rating."), code="empty")
    assessment = SuitabilityAssessment.objects.filter(user=user).order_by("-assessed_at").first()
    if assessment is None:
        raise OnboardingError(_("You have no rating to contest yet."), code="no_rating")
    contest = SuitabilityContest.objects.create(
        assessment=assessment, user=user, message=inputs.bounded(message, 2000)
    )
    audit_record(actor=user, action="suitability.contested", obj=contest, data={})
    suitability_contested.send(sender=SuitabilityContest, contest=contest)
    return contest


@transaction.atomic
def kyc_case_submit(*, user: User) -> KycCase:
    """Submit for review: automatic checks, screening and the risk score, then the queue."""
    case = _lock_case(user)
    _require_editable(case)
    if case.step < STEP_SUITABILITY or not documents_complete(case):
        raise OnboardingError(
            _("Some steps are not complete yet; finish them before submitting."), code="order"
        )
    _run_checks(case)
    was_revision = case.status == Status.REVISION
    KYC_CASE.move(case, Status.SUBMITTED)
    case.submitted_at = timezone.now()
    case.step = STEP_REVIEW
    case.decided_at = None
    case.save()
    audit_record(
        actor=user,
        action="kyc.submitted",
        obj=case,
        data={
            "resubmission": was_revision,
            "risk_score": case.risk_score,
            "checks": [c["check"] for c in case.checks if not c["ok"]],
        },
    )
    return case


def _run_checks(case: KycCase) -> None:
    number = crypto.decrypt(case.id_number_encrypted)
    checks: list[dict] = []
    try:
        rid = idcard.parse_resident_id(number)
        idcard.require_adult(rid)
        checks.append({"check": "id_number", "ok": True, "detail": "checksum and age"})
    except ValidationError as exc:
        checks.append({"check": "id_number", "ok": False, "detail": "; ".join(exc.messages)})
    duplicates = list(
        KycCase.objects.filter(id_number_index=case.id_number_index)
        .exclude(pk=case.pk)
        .values_list("pk", flat=True)
    )
    checks.append(
        {"check": "duplicate_id", "ok": not duplicates, "detail": f"other cases: {duplicates}"}
    )
    matches = screening.screen(name=case.legal_name, birth_date=case.birth_date)
    existing = {h.entry_ref: h for h in case.hits.all()}
    for m in matches:
        if m.entry.entity_id in existing:
            continue  # a resubmission keeps the reviewers' earlier work on the same hit
        ScreeningHit.objects.create(
            case=case,
            entry_ref=m.entry.entity_id,
            entry_name=m.entry.name,
            kind=m.kind,
            matched_on=m.matched_on,
            score=m.score,
        )
    checks.append(
        {"check": "screening", "ok": not matches, "detail": f"{len(matches)} possible match(es)"}
    )
    case.checks = checks
    case.risk_rules = risk_rules(case, matches=matches, duplicate=bool(duplicates))
    case.risk_score = min(100, sum(r["points"] for r in case.risk_rules))


def risk_rules(case: KycCase, *, matches, duplicate: bool) -> list[dict]:
    """The explainable risk score: each rule that applied, with its points."""
    rules: list[dict] = []

    def add(rule: str, points: int, why: str) -> None:
        rules.append({"rule": rule, "points": points, "why": why})

    if any(m.kind == "sanction" for m in matches):
        add("sanctions_match", 50, "possible sanctions list match")
    if any(m.kind == "pep" for m in matches):
        add("pep_match", 30, "possible politically exposed person")
    if duplicate:
        add("duplicate_id", 40, "ID number already used by another account")
    if case.related_party:
        add("related_party", 10, "declared related party")
    if case.source_of_funds in ("borrowed", "other"):
        add("source_of_funds", 15, f"source of funds: {case.source_of_funds}")
    if case.occupation == "student":
        add("occupation", 10, "student: limited income for a leveraged product")
    if case.income_band == "lt100k":
        add("low_income", 5, "annual income under RMB 100,000")
    if case.in_person_verification:
        add("no_face_check", 5, "face comparison refused; verify in person")
    today = timezone.localdate()  # Beijing's date, not the host's
    if case.birth_date and idcard.ResidentId("", case.birth_date, "").age_on(today) >= 70:
        add("age", 5, "aged 70 or over")
    return rules


# --- the reviewer's side ---------------------------------------------------------------------


def _reviewer_may_touch(case: KycCase, reviewer: User) -> None:
    if case.user_id == reviewer.pk:
        raise FourEyesError(_("You cannot review your own application."))
    if not reviewer.has_perm("accounts.decide_kyccase"):
        raise PermissionDenied(_("Only KYC reviewers may decide cases."))


@transaction.atomic
def kyc_document_decide(
    *, document: KycDocument, reviewer: User, status: str, reason: str
) -> KycDocument:
    """Approve a document, or ask for it again / reject it, always with an enumerated reason."""
    document = KycDocument.objects.select_for_update().select_related("case").get(pk=document.pk)
    _reviewer_may_touch(document.case, reviewer)
    if document.superseded or document.case.status != Status.SUBMITTED:
        raise OnboardingError(_("Only current documents of a submitted case can be decided."))
    if status not in (DocStatus.APPROVED, DocStatus.REVISION, DocStatus.REJECTED):
        raise OnboardingError(_("Choose approve, ask for revision or reject."))
    if reason not in KycDocument.Reason.values:
        raise OnboardingError(_("Choose a reason from the list."))
    if status != DocStatus.APPROVED and reason == KycDocument.Reason.CLEAR:
        raise OnboardingError(_("A document that is not approved needs a reason why."))
    document.status = status
    document.reason = reason
    document.decided_by = reviewer
    document.decided_at = timezone.now()
    document.save()
    audit_record(
        actor=reviewer,
        action="kyc.document_decided",
        obj=document,
        data={"case": document.case_id, "kind": document.kind, "status": status, "reason": reason},
    )
    return document


@transaction.atomic
def kyc_case_flag(*, case: KycCase, reviewer: User, note: str) -> KycCase:
    """Ask for a second reviewer: the flagger can no longer approve this case alone."""
    case = KycCase.objects.select_for_update().get(pk=case.pk)
    _reviewer_may_touch(case, reviewer)
    case.flagged_by = reviewer
    case.flag_note = inputs.bounded(note, 200)
    case.save(update_fields=["flagged_by", "flag_note", "updated_at"])
    audit_record(actor=reviewer, action="kyc.flagged", obj=case, data={"note": case.flag_note})
    return case


@transaction.atomic
def screening_hit_clear(*, hit: ScreeningHit, reviewer: User, note: str = "") -> ScreeningHit:
    """Mark a hit a false positive. The first reviewer proposes; a different one confirms."""
    hit = ScreeningHit.objects.select_for_update().select_related("case").get(pk=hit.pk)
    _reviewer_may_touch(hit.case, reviewer)
    if hit.status == ScreeningHit.Status.OPEN:
        if not note.strip():
            raise OnboardingError(_("Say why this is not the listed person."))
        hit.status = ScreeningHit.Status.CLEAR_PENDING
        hit.first_reviewer = reviewer
        hit.first_note = inputs.bounded(note, 300)
    elif hit.status == ScreeningHit.Status.CLEAR_PENDING:
        if hit.first_reviewer_id == reviewer.pk:
            raise FourEyesError(_("A second reviewer must confirm clearing a screening hit."))
        hit.status = ScreeningHit.Status.CLEARED
        hit.second_reviewer = reviewer
        hit.decided_at = timezone.now()
    else:
        raise OnboardingError(_("This screening hit has already been decided."))
    hit.save()
    audit_record(
        actor=reviewer,
        action="kyc.hit_cleared"
        if hit.status == ScreeningHit.Status.CLEARED
        else "kyc.hit_clear_proposed",
        obj=hit,
        data={"case": hit.case_id, "entry": hit.entry_ref, "note": hit.first_note},
    )
    return hit


@transaction.atomic
def screening_hit_confirm(*, hit: ScreeningHit, reviewer: User) -> ScreeningHit:
    """The client is the listed person."""
    hit = ScreeningHit.objects.select_for_update().select_related("case").get(pk=hit.pk)
    _reviewer_may_touch(hit.case, reviewer)
    hit.status = ScreeningHit.Status.CONFIRMED
    hit.second_reviewer = reviewer
    hit.decided_at = timezone.now()
    hit.save()
    audit_record(actor=reviewer, action="kyc.hit_confirmed", obj=hit, data={"entry": hit.entry_ref})
    return hit


@transaction.atomic
def kyc_case_decide(
    *, case: KycCase, reviewer: User, decision: str, reason: str, message: str = ""
) -> KycCase:
    """Approve, reject or request revision; audited and notified to the client (all channels)."""
    case = KycCase.objects.select_for_update().get(pk=case.pk)
    _reviewer_may_touch(case, reviewer)
    if case.status != Status.SUBMITTED:
        raise OnboardingError(_("Only a submitted case can be decided."))
    if reason not in CaseDecisionReason.values:
        raise OnboardingError(_("Choose a reason from the list."))
    if case.flagged_by_id == reviewer.pk:
        raise FourEyesError(
            _("You flagged this case for a second opinion: another reviewer must decide it.")
        )
    documents = list(case.documents.filter(superseded=False))
    hits = list(case.hits.all())
    if decision == Status.APPROVED:
        if any(h.status != ScreeningHit.Status.CLEARED for h in hits):
            raise FourEyesError(
                _("Screening hits must be cleared by two reviewers before approval.")
            )
        kinds = {d.kind for d in documents if d.status == DocStatus.APPROVED}
        if not set(required_document_kinds(case)) <= kinds:
            raise OnboardingError(_("Approve every document before approving the case."))
    elif decision == Status.REVISION:
        if (
            not any(d.status in (DocStatus.REVISION, DocStatus.REJECTED) for d in documents)
            and not message.strip()
        ):
            raise OnboardingError(
                _("Mark the documents to be redone, or tell the client what to change.")
            )
    elif decision != Status.REJECTED:
        raise OnboardingError(_("Choose approve, reject or request revision."))
    case.decision_reason = reason
    case.client_message = message.strip()
    case.decided_by = reviewer
    case.decided_at = timezone.now()
    KYC_CASE.move(case, decision)
    if decision == Status.REVISION:
        case.step = STEP_SUITABILITY  # back to the wizard; approved documents stay approved
    case.save()
    if decision == Status.APPROVED and case.legal_name:
        # From now on the client is called by the name the reviewer verified on their ID card:
        # greetings, emails, the receipt and statements (User.display_name).
        case.user.full_name = case.legal_name
        case.user.save(update_fields=["full_name"])  # its pinyin follows (User.save)
    audit_record(
        actor=reviewer,
        action=f"kyc.{decision}",
        obj=case,
        data={
            "reason": reason,
            "message": case.client_message,
            "documents": {d.kind: [d.status, d.reason] for d in documents},
        },
    )
    notices.enqueue(
        recipient=case.user,
        key="kyc_decision",
        context={"decision": decision, "message": case.client_message, "reason": reason},
        idempotency_key=f"kyc-decision:{case.pk}:{case.decided_at.isoformat()}",
    )
    return case


@transaction.atomic
def id_number_reveal(*, case: KycCase, staff: User) -> str:
    """The full ID number for staff holding the unmask permission; every view is audited."""
    if not staff.has_perm("accounts.unmask_id_number"):
        raise PermissionDenied(_("You may not see full ID numbers."))
    audit_record(actor=staff, action="pii.id_number_viewed", obj=case, data={})
    return crypto.decrypt(case.id_number_encrypted)
