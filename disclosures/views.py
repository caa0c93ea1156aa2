"""Public pages (documents, archive, diffs, fees and the calculator) and the client's change pages.

The public pages need no login and no JavaScript. The change pages are the client's own: a notice
is always fetched through `_get_notice_for_user`, so anyone else's is a 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from disclosures import calculator, diff, pdf, selectors, services
from disclosures.formatting import percent
from disclosures.forms import AcknowledgeForm, CalculatorForm
from disclosures.models import ChangeNotice, Document, DocumentKind, DocumentVersion
from portal.pagination import paginate

if TYPE_CHECKING:
    from accounts.models import User


class AuthenticatedRequest(HttpRequest):
    user: User


def _language() -> str:
    return get_language() or "zh-hans"


def _get_document(kind: str) -> Document:
    if kind not in DocumentKind.values:
        raise Http404
    return get_object_or_404(Document, kind=kind)


def _get_published(kind: str, number: int) -> DocumentVersion:
    return get_object_or_404(selectors.published_versions(kind), number=number)


def _get_notice_for_user(request: AuthenticatedRequest, pk: int) -> ChangeNotice:
    notice = selectors.notice_for_user(user=request.user, pk=pk)
    if notice is None:
        raise Http404
    return notice


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "disclosures/index.html", {"rows": selectors.document_rows()})


@require_GET
def document_detail(request: HttpRequest, kind: str) -> HttpResponse:
    document = _get_document(kind)
    versions = list(selectors.published_versions(kind))
    in_force = next((v for v in versions if v.status == "in_force"), None)
    return render(
        request,
        "disclosures/document.html",
        {
            "document": document,
            "version": in_force,
            "versions": versions,
            "items": selectors.items_of(in_force),
            "archive": paginate(
                request, [(v, _previous(versions, v)) for v in versions], param="versions"
            ),
        },
    )


def _previous(versions: list[DocumentVersion], version: DocumentVersion) -> int | None:
    older = [v.number for v in versions if v.number < version.number]
    return max(older) if older else None


@require_GET
def version_detail(request: HttpRequest, kind: str, number: int) -> HttpResponse:
    version = _get_published(kind, number)
    return render(
        request,
        "disclosures/version.html",
        {"document": version.document, "version": version, "items": selectors.items_of(version)},
    )


@require_GET
def version_pdf(request: HttpRequest, kind: str, number: int, language: str) -> HttpResponse:
    version = _get_published(kind, number)
    if language not in pdf.LANGUAGES:
        raise Http404
    if not pdf.pdf_ready(version, language):
        # Never rendered in a request: queue it (once a minute at most, however many readers ask)
        # and ask the reader to come back.
        from disclosures.tasks import render_version_pdfs

        if cache.add(f"disclosures:pdf-queued:{version.pk}", True, timeout=60):
            render_version_pdfs.delay(version.pk)
        if not pdf.pdf_ready(version, language):
            response = render(
                request, "disclosures/pdf_pending.html", {"version": version}, status=503
            )
            response["Retry-After"] = "10"
            return response
    filename = f"wangrun-{kind}-{version.label}-{language}.pdf"
    return FileResponse(
        default_storage.open(pdf.pdf_path(version, language), "rb"),
        content_type="application/pdf",
        filename=filename,
    )


@require_GET
def compare(request: HttpRequest, kind: str) -> HttpResponse:
    """Any two published versions side by side; by default the version in force and the next."""
    document = _get_document(kind)
    versions = list(selectors.published_versions(kind))
    if len(versions) < 2:
        messages.info(request, _("This document has only one published version so far."))
        return redirect("disclosures:document", kind=kind)
    by_number = {v.number: v for v in versions}
    try:
        new = by_number[int(request.GET.get("b", versions[0].number))]
        old = by_number[int(request.GET.get("a", _previous(versions, new) or new.number))]
    except (KeyError, ValueError):
        raise Http404 from None
    if old.number > new.number:
        old, new = new, old
    language = _language()
    return render(
        request,
        "disclosures/compare.html",
        {
            "document": document,
            "versions": versions,
            "old": old,
            "new": new,
            "rows": diff.side_by_side(old.text_for(language), new.text_for(language)),
            "item_rows": selectors.item_rows(old, new),
        },
    )


# --- fees and the calculator ----------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    label: str
    tier: int
    total: Decimal
    width: int
    y: int
    selected: bool


CHART_WIDTH = 320


def _tier_label(item) -> str:
    return _("Tier %(tier)d: %(rate)s%% a year") % {
        "tier": item.tier,
        "rate": percent(item.value),
    }


def _change_inside(scheduled, tier: int, cost) -> calculator.ScheduledChange | None:
    """The announced fee schedule's rate for `tier`, if it applies inside the period."""
    if scheduled is None:
        return None
    new = next(
        (
            i
            for i in selectors.items_of(scheduled)
            if i.tier == tier and i.code.startswith("financing_rate_tier")
        ),
        None,
    )
    if new is None:
        return None
    return calculator.scheduled_change(
        amount=cost.amount,
        days=cost.days,
        start=timezone.localdate(),
        old_rate=cost.annual_rate,
        new_rate=new.value,
        effective_on=timezone.localdate(scheduled.effective_at),
    )


@require_GET
def fees(request: HttpRequest) -> HttpResponse:
    version = selectors.version_in_force(DocumentKind.FEE_SCHEDULE)
    items = selectors.items_of(version)
    tiers = [item for item in items if item.code.startswith("financing_rate_tier") and item.tier]
    by_tier = {item.tier: item for item in tiers}
    trade_fee = next((i for i in items if i.code == selectors.TRADE_FEE_CODE), None)
    penalty = next((i for i in items if i.code == selectors.PENALTY_RATE_CODE), None)
    own_tier = calculator.client_tier(request.user)
    form = CalculatorForm(
        request.GET if "amount" in request.GET else None,
        tiers=[(item.tier, _tier_label(item)) for item in tiers],
        initial={"tier": own_tier} if own_tier in by_tier else None,
    )
    scheduled = selectors.scheduled_version(DocumentKind.FEE_SCHEDULE)
    change = None
    fee_rate = trade_fee.value if trade_fee else Decimal(0)
    cost, bars = None, []
    if form.is_bound and form.is_valid() and by_tier:
        amount, days = form.cleaned_data["amount"], form.cleaned_data["days"]
        costs = {
            tier: calculator.financing_cost(
                amount=amount, days=days, annual_rate=item.value, trade_fee_rate=fee_rate
            )
            for tier, item in by_tier.items()
        }
        cost = costs[form.cleaned_data["tier"]]
        change = _change_inside(scheduled, form.cleaned_data["tier"], cost)
        top = max(c.total for c in costs.values()) or Decimal(1)
        bars = [
            Bar(
                _("Tier %(tier)d") % {"tier": tier},
                tier,
                c.total,
                max(int(c.total / top * CHART_WIDTH), 2),
                index * 34,
                tier == form.cleaned_data["tier"],
            )
            for index, (tier, c) in enumerate(sorted(costs.items()))
        ]
    examples = _examples(by_tier, fee_rate, penalty)
    return render(
        request,
        "disclosures/fees.html",
        {
            "version": version,
            "items": items,
            "form": form,
            "cost": cost,
            "trade_fee": trade_fee,
            "bars": bars,
            "chart_height": len(bars) * 34,
            "examples": examples,
            "scheduled": scheduled,
            "change": change,
            "own_tier": own_tier,
        },
    )


@dataclass(frozen=True)
class Example:
    text: str
    result: Decimal


def _examples(by_tier, fee_rate: Decimal, penalty) -> list[Example]:
    """Worked examples from the rates in force, so they can never disagree with the table, and
    computed as the ledger charges: one day's interest, rounded to the fen, times the days."""
    examples = []
    amount = Decimal("100000.00")
    for tier, item in sorted(by_tier.items()):
        daily = calculator.daily_interest(amount=amount, annual_rate=item.value)
        examples.append(
            Example(
                _(
                    "Tier %(tier)d: CNY 100,000.00 financed for 30 days at %(rate)s%% a year: "
                    "one day is 100,000.00 × %(rate)s%% ÷ 360 = %(daily)s, charged 30 times ="
                )
                % {"tier": tier, "rate": percent(item.value), "daily": daily},
                calculator.interest(amount=amount, annual_rate=item.value, days=30),
            )
        )
    if fee_rate:
        examples.append(
            Example(
                _(
                    "Trade service fee on a CNY 100,000.00 trade at %(rate)s%%, charged on each "
                    "purchase and each sale when it is made:"
                )
                % {"rate": percent(fee_rate)},
                calculator.per_trade_fee(value=amount, rate=fee_rate),
            )
        )
    if penalty is not None:
        examples.append(
            Example(
                _("Penalty interest on CNY 10,000.00 overdue for 3 days at %(rate)s%% a day:")
                % {"rate": percent(penalty.value)},
                calculator.penalty(overdue=Decimal("10000.00"), daily_rate=penalty.value, days=3),
            )
        )
    return examples


# --- the client's changes -------------------------------------------------------------------------


@login_required
@require_GET
def changes(request: AuthenticatedRequest) -> HttpResponse:
    page = paginate(
        request,
        ChangeNotice.objects.filter(client=request.user)
        .select_related("version__document")
        .order_by("-version__effective_at", "-pk"),
    )
    notices = list(page.object_list)
    decisions = {
        notice.pk: selectors.latest_decision(user=request.user, version=notice.version)
        for notice in notices
    }
    return render(
        request,
        "disclosures/changes.html",
        {"page": page, "rows": [(n, decisions[n.pk]) for n in notices]},
    )


def _change_context(request: AuthenticatedRequest, notice: ChangeNotice, form=None) -> dict:
    language = _language()
    version, previous = notice.version, notice.previous_version
    return {
        "notice": notice,
        "version": version,
        "previous": previous,
        "document": version.document,
        "rows": diff.side_by_side(
            previous.text_for(language) if previous else "", version.text_for(language)
        ),
        "item_rows": selectors.item_rows(previous, version),
        "decision": selectors.latest_decision(user=request.user, version=version),
        "form": form or AcknowledgeForm(initial={"shown_hash": version.content_hash}),
        "answerable": version.status in ("scheduled", "in_force"),
    }


@login_required
@require_GET
def change_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    notice = _get_notice_for_user(request, pk)
    services.change_notice_read(user=request.user, notice_id=notice.pk)
    return render(request, "disclosures/change.html", _change_context(request, notice))


@login_required
@require_POST
def change_answer(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    notice = _get_notice_for_user(request, pk)
    form = AcknowledgeForm(request.POST)
    if form.is_valid():
        try:
            ack = services.change_acknowledge(
                user=request.user,
                notice_id=notice.pk,
                decision=form.cleaned_data["decision"],
                shown_hash=form.cleaned_data["shown_hash"],
                language=_language(),
                ip_address=request.META.get("REMOTE_ADDR"),
                user_agent=request.headers.get("user-agent", ""),
            )
        except services.NotYours:
            raise Http404 from None
        except services.DisclosureError as exc:
            messages.error(request, str(exc))
        else:
            if ack.decision == "accepted":
                messages.success(request, _("Thank you: you have accepted the new version."))
            else:
                messages.success(
                    request,
                    _(
                        "Recorded: you keep your current terms until your contract rolls over, "
                        "and you may close your financing without a fee."
                    ),
                )
            return redirect("disclosures:change", pk=notice.pk)
    else:
        messages.error(request, _("Choose to accept the new terms or to keep the old ones."))
    context = _change_context(request, notice, form)
    return render(request, "disclosures/change.html", context, status=400)
