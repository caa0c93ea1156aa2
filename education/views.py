"""Client pages of the gate: learn, read the warning, confirm; the receipt and its verification."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from accounts import selectors as accounts
from disclosures import selectors as disclosures
from disclosures.kinds import DocumentKind
from education import gate, products, rules, selectors, services
from education.forms import AboveRatingForm, ConfirmForm, QuizForm, VerifyForm
from education.models import Course, CourseVersion, GateConfirmation, WarningReading
from portal import files


def _language() -> str:
    return translation.get_language() or "zh-hans"


def _client_meta(request: HttpRequest) -> dict:
    return {
        "ip": request.META.get("REMOTE_ADDR"),
        "user_agent": request.META.get("HTTP_USER_AGENT", ""),
    }


def _course_version(slug: str) -> CourseVersion:
    course = get_object_or_404(Course, slug=slug)
    version = selectors.published_version(course)
    if version is None:
        raise Http404
    return version


def _get_reading_for_user(request: HttpRequest, token: str) -> WarningReading:
    reading = selectors.reading_for_user(request.user, token)
    if reading is None:
        raise Http404
    return reading


def _get_confirmation_for_user(request: HttpRequest, pk: int) -> GateConfirmation:
    confirmation = selectors.confirmation_for_user(request.user, pk)
    if confirmation is None:
        raise Http404
    return confirmation


@login_required
def index(request: HttpRequest) -> HttpResponse:
    user = request.user
    current = gate.current_gate(user)
    expired = None if current else gate.last_expired(user)
    gate_version = selectors.gate_course_version()
    return render(
        request,
        "education/index.html",
        {
            "rows": selectors.course_rows(user),
            "course_passed": selectors.passed_attempt(user, gate_version) is not None,
            "current": current,
            "cool_off_until": current.confirmed_at + gate.cool_off() if current else None,
            "in_cool_off": current and timezone.now() < current.confirmed_at + gate.cool_off(),
            "expired": expired,
            "expired_message": gate.expiry_message(expired) if expired else "",
            "history": selectors.history(user)[:20],
            "rating": accounts.suitability_rating(user),
            "products": products.PRODUCTS.values(),
        },
    )


@login_required
def course(request: HttpRequest, slug: str) -> HttpResponse:
    version = _course_version(slug)
    read = selectors.read_lesson_ids(request.user, version)
    lessons = list(version.lessons.all())
    return render(
        request,
        "education/course.html",
        {
            "version": version,
            "lessons": lessons,
            "read": read,
            "all_read": all(lesson.pk in read for lesson in lessons),
            "attempts": selectors.attempts(request.user, version)[:10],
            "passed": selectors.passed_attempt(request.user, version),
            "percent": round(100 * len(read) / (len(lessons) or 1)),
        },
    )


@login_required
def lesson(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    version = _course_version(slug)
    item = selectors.lesson_for(version, pk)
    if item is None:
        raise Http404
    lessons = list(version.lessons.all())
    position = lessons.index(item)
    following = lessons[position + 1] if position + 1 < len(lessons) else None
    if request.method == "POST":
        services.lesson_mark_read(user=request.user, lesson=item)
        if following is not None:
            return redirect("education:lesson", slug=slug, pk=following.pk)
        return redirect("education:quiz", slug=slug)
    return render(
        request,
        "education/lesson.html",
        {
            "version": version,
            "lesson": item,
            "paragraphs": item.paragraphs_for(_language()),
            "number": position + 1,
            "total": len(lessons),
            "percent": round(100 * (position + 1) / len(lessons)),
            "following": following,
        },
    )


@login_required
def quiz(request: HttpRequest, slug: str) -> HttpResponse:
    version = _course_version(slug)
    form = QuizForm(request.POST or None, version=version, language=_language())
    if request.method == "POST" and form.is_valid():
        attempt = services.quiz_submit(user=request.user, version=version, answers=form.answers())
        return redirect("education:result", pk=attempt.pk)
    return render(request, "education/quiz.html", {"version": version, "form": form})


@login_required
def result(request: HttpRequest, pk: int) -> HttpResponse:
    attempt = selectors.attempt_for_user(request.user, pk)
    if attempt is None:
        raise Http404
    language = _language()
    rows = []
    for question in attempt.version.questions.all():
        chosen = attempt.answers.get(str(question.pk))
        rows.append(
            {
                "text": question.text_for(language),
                "chosen": question.choices_for(language)[chosen] if chosen is not None else "",
                "right": question.choices_for(language)[question.correct],
                "ok": question.pk not in attempt.wrong,
                "why": question.explanation_for(language),
            }
        )
    return render(request, "education/result.html", {"attempt": attempt, "rows": rows})


@login_required
def warning(request: HttpRequest) -> HttpResponse:
    tier = request.GET.get("tier")
    try:
        reading = services.warning_open(
            user=request.user,
            language=_language(),
            tier=int(tier) if tier and tier.isdigit() and 1 <= int(tier) <= 3 else None,
        )
    except services.StepRefused as refused:
        messages.warning(request, refused.message)
        return redirect("education:index")
    return render(
        request,
        "education/warning.html",
        {
            "reading": reading,
            "version": reading.version,
            "figures": reading.figures,
            "paragraphs": [p for p in reading.version.text_for(_language()).split("\n\n") if p],
        },
    )


@login_required
@require_POST
def warning_end(request: HttpRequest, token: str) -> JsonResponse:
    reading = services.warning_reached_end(reading=_get_reading_for_user(request, token))
    elapsed = (timezone.now() - reading.opened_at).total_seconds()
    return JsonResponse({"reached_end": True, "remaining": max(0, reading.min_seconds - elapsed)})


@login_required
@require_POST
def warning_next(request: HttpRequest, token: str) -> HttpResponse:
    reading = _get_reading_for_user(request, token)
    try:
        services.warning_complete(reading=reading)
    except services.StepRefused as refused:
        messages.warning(request, refused.message)
        return redirect("education:warning")
    return redirect("education:confirm", token=token)


@login_required
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    reading = _get_reading_for_user(request, token)
    if reading.completed_at is None:
        messages.warning(request, gettext("Read the risk warning to the end before confirming."))
        return redirect("education:warning")
    sentence = rules.sentence_for(reading.language)
    form = ConfirmForm(request.POST or None, initial={"version_id": reading.version_id})
    if request.method == "POST" and form.is_valid():
        try:
            confirmation = services.gate_confirm(
                user=request.user,
                reading=reading,
                version_id=form.cleaned_data["version_id"],
                typed=form.cleaned_data["typed"],
                password=form.cleaned_data["password"],
                code=form.cleaned_data["code"],
                **_client_meta(request),
            )
        except services.StepRefused as refused:
            form.add_error(None, refused.message)
        else:
            return redirect("education:confirmation", pk=confirmation.pk)
    return render(
        request,
        "education/confirm.html",
        {
            "reading": reading,
            "sentence": sentence,
            "form": form,
            "terms": disclosures.version_in_force(DocumentKind.TERMS),
            "contract": disclosures.version_in_force(DocumentKind.MARGIN_CONTRACT),
        },
    )


@login_required
def confirmation(request: HttpRequest, pk: int) -> HttpResponse:
    item = _get_confirmation_for_user(request, pk)
    return render(
        request,
        "education/confirmation.html",
        {
            "confirmation": item,
            "figures": item.evidence.get("figures", {}),
            "cool_off_until": item.confirmed_at + gate.cool_off(),
            "withdrawable": item.withdrawn_at is None
            and item.expired_at is None
            and timezone.now() < item.confirmed_at + gate.cool_off(),
        },
    )


@login_required
@require_POST
def withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    item = _get_confirmation_for_user(request, pk)
    try:
        services.gate_withdraw(user=request.user, confirmation=item)
    except services.StepRefused as refused:
        messages.warning(request, refused.message)
    else:
        messages.success(request, gettext("Your confirmation is withdrawn."))
    return redirect("education:confirmation", pk=pk)


@login_required
def receipt(request: HttpRequest, pk: int) -> HttpResponse:
    item = _get_confirmation_for_user(request, pk)
    if not services.receipt_requested(item):
        return render(request, "education/receipt_pending.html", {"confirmation": item}, status=202)
    return files.serve(
        request,
        owner_id=item.user_id,
        open_file=lambda: default_storage.open(item.receipt_path, "rb"),
        filename=f"wangrun-receipt-{item.pk}.pdf",
        content_type="application/pdf",
    )


def verify(request: HttpRequest) -> HttpResponse:
    """Public: anyone holding a receipt can check it, by file or by hash."""
    form = VerifyForm(request.POST or None, request.FILES or None)
    found, checked = None, False
    if request.method == "POST" and form.is_valid():
        checked = True
        upload = form.cleaned_data.get("receipt")
        if upload is not None:
            found = selectors.confirmation_for_pdf(upload.read())
        else:
            found = selectors.confirmation_by_hash(form.cleaned_data["hash"])
    return render(
        request,
        "education/verify.html",
        {"form": form, "found": found, "checked": checked},
        status=200,
    )


@gate.gate_required(gate.PRODUCT)
def product(request: HttpRequest, product: str) -> HttpResponse:
    item = products.get(product)
    return render(
        request,
        "education/product.html",
        {
            "product": item,
            "confirmation": request.gate,
            "rating": accounts.suitability_rating(request.user),
        },
    )


@gate.gate_required(gate.FINANCING)
def financing(request: HttpRequest) -> HttpResponse:
    """What margin's activation relies on: the passed gate, its figures and its evidence."""
    item = request.gate
    return render(
        request,
        "education/financing.html",
        {"confirmation": item, "figures": item.evidence.get("figures", {})},
    )


@login_required
def above_rating(request: HttpRequest, product: str) -> HttpResponse:
    item = products.get(product)
    if item is None:
        raise Http404
    rating = accounts.suitability_rating(request.user)
    fit = rules.suitability(rating, item.risk)
    form = AboveRatingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.above_rating_confirm(
                user=request.user,
                product=item.code,
                typed=form.cleaned_data["typed"],
                language=_language(),
                password=form.cleaned_data["password"],
                code=form.cleaned_data["code"],
                **_client_meta(request),
            )
        except services.StepRefused as refused:
            form.add_error(None, refused.message)
        else:
            return redirect(reverse("education:product", args=[item.code]))
    return render(
        request,
        "education/above_rating.html",
        {
            "product": item,
            "rating": rating,
            "allowed": fit is rules.Suitability.ONE_ABOVE,
            "sentence": rules.sentence_for(_language(), above_rating=True),
            "form": form,
        },
    )
