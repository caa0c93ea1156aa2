"""The client's onboarding wizard at /onboarding/, their asset declaration and privacy requests.

Thin views: each takes the signed-in user's own case (there is no case id in any URL), validates a
form and calls one service. Progress lives in the database, so it survives logout.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts import links, selectors, services, suitability
from accounts.forms import (
    AssetDeclarationForm,
    ConsentForm,
    ContestForm,
    DocumentsForm,
    PersonalForm,
    SubmitForm,
    SuitabilityForm,
)
from accounts.models import AssetDeclaration, Consent, KycCase, KycDocument
from accounts.ratelimits import upload_allowed
from portal import crypto, files

STEPS = [
    ("consents", gettext_lazy("Consents"), services.STEP_CONSENTS),
    ("personal", gettext_lazy("Personal details"), services.STEP_PERSONAL),
    ("documents", gettext_lazy("ID documents"), services.STEP_DOCUMENTS),
    ("suitability", gettext_lazy("Suitability"), services.STEP_SUITABILITY),
    ("review", gettext_lazy("Review and submit"), services.STEP_REVIEW),
]
STEP_NUMBER = {slug: number for slug, _label, number in STEPS}


def _bound(request, *, files=False) -> tuple:
    """Form data for a POST, even an empty one (which must show errors, not a blank form)."""
    if request.method != "POST":
        return (None, None) if files else (None,)
    return (request.POST, request.FILES) if files else (request.POST,)


def _indicator(case: KycCase, current: str) -> list[dict]:
    return [
        {
            "slug": slug,
            "label": label,
            "number": number,
            "done": case.step >= number,
            "current": slug == current,
            "reachable": number <= case.step + 1,
        }
        for slug, label, number in STEPS
    ]


def _render_step(request, case, slug, template, context):
    context.update(
        {
            "case": case,
            "steps": _indicator(case, slug),
            "step_slug": slug,
            "step_number": STEP_NUMBER[slug],
            "step_count": len(STEPS),
        }
    )
    return render(request, f"accounts/onboarding/{template}", context)


def _next_slug(case: KycCase) -> str:
    for slug, _label, number in STEPS:
        if case.step < number:
            return slug
    return "review"


@login_required
@never_cache
def onboarding_index(request):
    case = services.kyc_case_for(request.user)
    if case.is_editable_by_client:
        if case.status == KycCase.Status.REVISION:
            return redirect("onboarding:status")
        return redirect("onboarding:step", _next_slug(case))
    return redirect("onboarding:status")


@login_required
@never_cache
def onboarding_status(request):
    case = services.kyc_case_for(request.user)
    return render(
        request,
        "accounts/onboarding/status.html",
        {
            "case": case,
            "steps": _indicator(case, ""),
            "documents": _documents_for_client(request, case),
            "eligibility": selectors.margin_eligibility(request.user),
        },
    )


def _documents_for_client(request, case):
    docs = case.documents.filter(superseded=False).order_by("kind")
    return [
        {
            "doc": d,
            "url": links.document_url(kind="kyc", pk=d.pk, viewer_id=request.user.pk),
        }
        for d in docs
    ]


@login_required
@never_cache
def onboarding_step(request, slug):
    if slug not in STEP_NUMBER:
        raise Http404
    case = services.kyc_case_for(request.user)
    if not case.is_editable_by_client:
        return redirect("onboarding:status")
    if STEP_NUMBER[slug] > case.step + 1:
        messages.info(request, _("Please complete the earlier steps first."))
        return redirect("onboarding:step", _next_slug(case))
    handler = {
        "consents": _consents,
        "personal": _personal,
        "documents": _documents,
        "suitability": _suitability,
        "review": _review,
    }[slug]
    return handler(request, case)


def _consents(request, case):
    latest = {}
    for consent in Consent.objects.filter(user=request.user).order_by("decided_at", "pk"):
        latest[consent.purpose] = consent.granted
    form = ConsentForm(*_bound(request), initial=latest)
    if request.method == "POST" and form.is_valid():
        services.consents_record(
            user=request.user,
            identity=form.cleaned_data["identity"],
            face=form.cleaned_data["face"],
            sensitive=form.cleaned_data["sensitive"],
            ip=request.META.get("REMOTE_ADDR"),
        )
        return redirect("onboarding:step", "personal")
    return _render_step(request, case, "consents", "consents.html", {"form": form})


def _personal(request, case):
    initial = {}
    if case.legal_name:
        initial = {
            "legal_name": case.legal_name,
            "address": case.address,
            "occupation": case.occupation,
            "income_band": case.income_band,
            "source_of_funds": case.source_of_funds,
            "experience_months": case.experience_months,
            "experience_products": case.experience_products,
            "related_party": "yes" if case.related_party else "no",
            "related_party_detail": case.related_party_detail,
        }
    form = PersonalForm(*_bound(request), initial=initial)
    derived = None
    if request.method == "POST" and form.is_valid():
        derived = form.resident_id
        if form.cleaned_data["confirmed"]:
            try:
                services.kyc_personal_save(
                    user=request.user,
                    details=services.PersonalDetails(
                        **{k: v for k, v in form.cleaned_data.items() if k != "confirmed"}
                    ),
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                return redirect("onboarding:step", "documents")
    return _render_step(
        request,
        case,
        "personal",
        "personal.html",
        {"form": form, "derived": derived, "masked": case.masked_id_number},
    )


def _documents(request, case):
    kinds = services.required_document_kinds(case)
    form = DocumentsForm(*_bound(request, files=True), kinds=kinds)
    if request.method == "POST" and form.is_valid():
        if not upload_allowed(request):
            form.add_error(None, _("Too many uploads in a short time. Please wait a few minutes."))
        else:
            try:
                services.kyc_documents_upload(user=request.user, files=form.files_by_kind())
            except ValidationError as exc:
                if hasattr(exc, "error_dict"):
                    for field, errors in exc.message_dict.items():
                        form.add_error(field if field in form.fields else None, errors)
                else:
                    form.add_error(None, exc)
            else:
                case.refresh_from_db()
                if services.documents_complete(case):
                    return redirect("onboarding:step", "suitability")
                messages.success(request, _("Image saved. Please add the remaining ones."))
                return redirect("onboarding:step", "documents")
    return _render_step(
        request,
        case,
        "documents",
        "documents.html",
        {"form": form, "documents": _documents_for_client(request, case)},
    )


def _suitability(request, case):
    current = selectors.current_assessment(request.user)
    form = SuitabilityForm(*_bound(request), initial=current.answers if current else None)
    if request.method == "POST" and form.is_valid():
        services.suitability_assess(user=request.user, answers=form.cleaned_data)
        messages.success(request, _("Your answers have been scored."))
        return redirect("onboarding:step", "suitability")
    return _render_step(
        request,
        case,
        "suitability",
        "suitability.html",
        {
            "form": form,
            "assessment": current,
            "drivers": suitability.describe(current.drivers) if current else [],
            "bands": suitability.BANDS,
            "max_score": suitability.MAX_SCORE,
            "contest_form": ContestForm(),
            "can_continue": current is not None and case.step >= services.STEP_SUITABILITY,
        },
    )


def _review(request, case):
    form = SubmitForm(*_bound(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.kyc_case_submit(user=request.user)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Thank you. Your application has been submitted."))
            return redirect("onboarding:status")
    return _render_step(
        request,
        case,
        "review",
        "review.html",
        {
            "form": form,
            "assessment": selectors.current_assessment(request.user),
            "documents": _documents_for_client(request, case),
            "documents_complete": services.documents_complete(case),
        },
    )


@login_required
@require_POST
def suitability_contest(request):
    form = ContestForm(request.POST)
    if form.is_valid():
        try:
            services.suitability_contest(user=request.user, message=form.cleaned_data["message"])
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                _(
                    "We have received your objection and opened a support ticket for it: you can "
                    "follow our answer under Support."
                ),
            )
    else:
        messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
    return redirect("onboarding:step", "suitability")


@login_required
@never_cache
def document_image(request, token):
    """An identity image through a signed, expiring link issued to this very viewer."""
    claims = links.read_token(token)
    if claims is None or claims.get("v") != request.user.pk:
        raise Http404
    if claims.get("k") == "kyc":
        doc = KycDocument.objects.select_related("case").filter(pk=claims.get("d")).first()
        if doc is None:
            raise Http404
        # Restricted records (erasure requested, kept by law) are for compliance only.
        in_scope = not doc.case.restricted_at or request.user.has_perm("accounts.unmask_id_number")
        return files.serve(
            request,
            owner_id=doc.case.user_id,
            staff_permission="accounts.view_kycdocument",
            staff_in_scope=in_scope,
            open_file=lambda: services.document_image(doc),
            filename=f"kyc-{doc.pk}.jpg",
            content_type="image/jpeg",
            inline=True,
        )
    if claims.get("k") == "assets":
        decl = AssetDeclaration.objects.filter(pk=claims.get("d")).first()
        if decl is None:
            raise Http404
        return files.serve(
            request,
            owner_id=decl.user_id,
            staff_permission="accounts.view_assetdeclaration",
            open_file=lambda: crypto.decrypt_bytes(decl.evidence_encrypted),
            filename=f"assets-{decl.pk}.jpg",
            content_type="image/jpeg",
            inline=True,
        )
    raise Http404


@login_required
@never_cache
def assets(request):
    form = AssetDeclarationForm(*_bound(request, files=True))
    if request.method == "POST" and form.is_valid():
        if not upload_allowed(request):
            form.add_error(None, _("Too many uploads in a short time. Please wait a few minutes."))
        else:
            try:
                services.asset_declaration_submit(
                    user=request.user,
                    average_assets=form.cleaned_data["average_assets"],
                    evidence=form.cleaned_data["evidence"],
                )
            except ValidationError as exc:
                form.add_error("evidence", exc)
            else:
                messages.success(request, _("Thank you. A reviewer will verify your declaration."))
                return redirect("onboarding:status")
    declarations = AssetDeclaration.objects.filter(user=request.user).order_by("-declared_at")[:5]
    return render(
        request, "accounts/onboarding/assets.html", {"form": form, "declarations": declarations}
    )


@login_required
@never_cache
def privacy(request):
    case = KycCase.objects.filter(user=request.user).first()
    return render(
        request,
        "accounts/onboarding/privacy.html",
        {"case": case, "retention_years": services.KYC_RETENTION.days // 365},
    )


@login_required
@require_POST
def privacy_export(request):
    data = services.privacy_export(user=request.user)
    response = HttpResponse(data, content_type="application/zip")
    stamp = timezone.localtime().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="wangrun-my-data-{stamp}.zip"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def privacy_erase(request):
    outcome = services.privacy_erasure_request(user=request.user)
    if outcome.deleted:
        messages.success(request, _("Your onboarding data has been deleted."))
    else:
        messages.info(
            request,
            _(
                "Your identity records must be kept by law until %(date)s. They are now in "
                "restricted storage: only compliance staff can open them, and each access is "
                "recorded. They will be deleted on that date."
            )
            % {"date": outcome.retained_until},
        )
    return redirect("onboarding:privacy")
