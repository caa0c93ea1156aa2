from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from margin import selectors, services, status, watching
from margin.forms import ActivateForm, TierForm
from margin.models import Instrument, MarginAccount, VolatilityRegime
from margin.restrictions import account_permissions
from margin.rules import Level
from portal import money


def _get_account_for_user(request: HttpRequest) -> MarginAccount | None:
    """The signed-in client's own account; never one named by the request."""
    return selectors.account_for_client(request.user)


def _distance_wording() -> dict[str, dict[str, str]]:
    """Each line's sentence for each case, with %(fall)s and %(line)s for the page's script to
    fill in as the status changes: a fall reaches the line, the line is already reached, the
    client owes nothing, or their cash alone keeps them above it."""
    return {
        "warning": {
            "fall": _("Prices can fall %(fall)s before you reach the warning line (%(line)s)."),
            "reached": _("Your ratio is already at or below the warning line (%(line)s)."),
            "no_debt": _("You owe nothing, so no fall in prices can reach the warning line."),
            "none": _(
                "Your cash alone keeps you above the warning line (%(line)s) whatever prices do."
            ),
        },
        "call": {
            "fall": _("Prices can fall %(fall)s before you reach the margin call line (%(line)s)."),
            "reached": _("Your ratio is already at or below the margin call line (%(line)s)."),
            "no_debt": _("You owe nothing, so no fall in prices can reach the margin call line."),
            "none": _(
                "Your cash alone keeps you above the margin call line (%(line)s) whatever "
                "prices do."
            ),
        },
        "liquidation": {
            "fall": _(
                "Prices can fall %(fall)s before you reach the forced liquidation line (%(line)s)."
            ),
            "reached": _(
                "Your ratio is already at or below the forced liquidation line (%(line)s)."
            ),
            "no_debt": _(
                "You owe nothing, so no fall in prices can reach the forced liquidation line."
            ),
            "none": _(
                "Your cash alone keeps you above the forced liquidation line (%(line)s) "
                "whatever prices do."
            ),
        },
    }


def distance_sentences(live: dict[str, Any]) -> list[tuple[str, str]]:
    """(line, sentence) for the warning, call and liquidation lines of a status as pushed."""
    wording = _distance_wording()
    sentences = []
    for line in ("warning", "call", "liquidation"):
        fall = live["distances"][line]
        if Decimal(live["liabilities"]) == 0:
            case = "no_debt"
        elif fall is None:
            case = "none"
        else:
            case = "reached" if Decimal(fall) == 0 else "fall"
        values = {
            "fall": money.percent(Decimal(fall)) if fall is not None else "",
            "line": money.percent(Decimal(live["lines"][line])),
        }
        sentences.append((line, wording[line][case] % values))
    return sentences


def _chart_range(history: list[list[str]]) -> tuple[Decimal, Decimal] | None:
    """Today's lowest and highest ratio on the chart, for its legend."""
    ratios = [Decimal(ratio) for _at, ratio in history if ratio is not None]
    return (min(ratios), max(ratios)) if ratios else None


def _labels() -> dict[str, Any]:
    return {
        "distances": _distance_wording(),
        "levels": {level.value: str(level.label) for level in Level},
        "flags": {
            Instrument.RiskWarning.ST: str(Instrument.RiskWarning.ST.label),
            Instrument.RiskWarning.STAR_ST: str(Instrument.RiskWarning.STAR_ST.label),
            Instrument.RiskWarning.DELISTING: str(Instrument.RiskWarning.DELISTING.label),
            "suspended_abnormal": str(Instrument.Suspension.ABNORMAL.label),
            "suspended_other": str(Instrument.Suspension.OTHER.label),
            "high_risk": _("High risk"),
            "ineligible": _("Not eligible as collateral"),
        },
        "over_limit": _("over the concentration limit"),
        "no_purchase": _("no purchases"),
        "blocked": {
            "reduce_only": _(
                "A margin call restricts your account to reducing positions until the ratio is "
                "restored to the warning line."
            ),
            "frozen": _(
                "Your account is frozen by risk control: no new financing, purchases or "
                "withdrawals; you can still sell. To have it lifted, open a ticket in Support."
            ),
            "platform": _(
                "The platform is at its emergency freeze line: no new financing or purchases "
                "for any account; you can still sell, and withdraw within the usual limits."
            ),
        },
        "no_debt": _("No debt"),
        "chart_range": _("(today's low %(low)s, high %(high)s)"),
        "positions": {
            "code": _("Code"),
            "name": _("Name"),
            "quantity": _("Quantity"),
            "price": _("Price"),
            "value": _("Market value"),
            "share": _("Share of total assets"),
            "collateral": _("Counts toward the ratio"),
            "call": _("Margin call at"),
            "liquidation": _("Forced liquidation at"),
        },
        "live": _("Live"),
        "reconnecting": _("Reconnecting… the page checks every 5 seconds meanwhile"),
        "limit_down": _("limit-down"),
        "expired": _("deadline passed"),
        "days": _("d"),
    }


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    account = _get_account_for_user(request)
    if account is None:
        return render(request, "margin/no_account.html")
    live = selectors.live_status(account)
    history = status.history(account.pk)
    contract = selectors.active_contract(account)
    regime = selectors.current_regime()
    regime_key = regime.regime if regime else VolatilityRegime.Regime.NORMAL
    context = {
        "account": account,
        "status": live,
        "permissions": account_permissions(account),
        "plan": selectors.client_liquidation_plan(account),
        "terms": selectors.contract_terms_summary(contract) if contract else None,
        "regime_row": regime,
        "history": history,
        "chart_range": _chart_range(history),
        "labels": _labels(),
        "regime": VolatilityRegime.Regime(regime_key),
        "leverage_cap": selectors.leverage_cap(regime_key) * 100,
        "level_label": Level(live["level"]).label,
        "distances": distance_sentences(live),
        "contract": contract,
        "tier_form": TierForm(
            initial={"tier": contract.leverage_tier if contract else 1},
            tiers=selectors.offered_tiers(),
        ),
    }
    return render(request, "margin/dashboard.html", context)


@login_required
@require_GET
@never_cache
def status_json(request: HttpRequest) -> HttpResponse:
    """The same status the socket pushes, for the page's polling fallback."""
    account = _get_account_for_user(request)
    if account is None:
        return JsonResponse({"error": _("You have no margin account.")}, status=404)
    watching.watch([account.pk])  # a polling page is kept fresh like a socket
    payload = dict(selectors.live_status(account))
    payload["type"] = "snapshot"
    payload["history"] = status.history(account.pk)
    return JsonResponse(payload)


def _client_meta(request: HttpRequest) -> dict[str, Any]:
    return {
        "ip_address": request.META.get("REMOTE_ADDR"),
        "user_agent": request.META.get("HTTP_USER_AGENT", ""),
    }


@login_required
@require_http_methods(["GET", "POST"])
def financing_open(request: HttpRequest) -> HttpResponse:
    """Open financing: choose a tier (rate and lines from the documents in force), accept the
    documents in force, then activate. The service checks everything again on submit."""
    offer = selectors.financing_offer(request.user)
    tiers = [row["tier"] for row in offer["tiers"] if row["allowed"]]
    contract = selectors.client_active_contract(request.user)
    form = ActivateForm(
        request.POST if request.POST.get("action") == "activate" else None, tiers=tiers
    )
    refusal = None
    if request.method == "POST" and contract is None:
        try:
            if request.POST.get("action") == "accept":
                services.financing_terms_accept(user=request.user, **_client_meta(request))
                messages.success(request, _("You accepted the documents in force."))
                return redirect(reverse("margin:open"))
            if form.is_valid():
                activation = services.financing_activate(
                    user=request.user,
                    leverage_tier=form.cleaned_data["leverage_tier"],
                    credit_limit=form.cleaned_data["credit_limit"],
                )
                if activation.created:
                    messages.success(
                        request,
                        _("Financing is open: contract %(number)s.")
                        % {"number": activation.contract.number},
                    )
                return redirect(reverse("margin:index"))
        except services.FinancingRefused as refused:
            refusal = refused
    elif request.method == "POST":
        # A replayed submit after the contract was opened: nothing changes.
        return redirect(reverse("margin:index"))
    return render(
        request,
        "margin/open.html",
        {
            **offer,
            "form": form,
            "refusal": refusal,
            "contract": contract,
        },
        status=200,
    )


@login_required
@require_POST
def contract_rollover(request: HttpRequest, pk: int) -> HttpResponse:
    """Roll the client's own contract over onto the terms and fee schedule in force."""
    account = get_object_or_404(MarginAccount, pk=pk, client=request.user)
    try:
        contract = services.contract_rollover(user=request.user, account=account)
    except services.FinancingRefused as refused:
        messages.warning(request, str(refused.message))
        if refused.url:
            return redirect(refused.url)
    else:
        messages.success(
            request,
            _("Your contract was rolled over: %(number)s runs until %(date)s.")
            % {"number": contract.number, "date": contract.rollover_on.isoformat()},
        )
    return redirect(reverse("margin:index"))


@login_required
@require_POST
def tier_change(request: HttpRequest, pk: int) -> HttpResponse:
    """Raise (with the gate for that tier) or lower the tier of the client's own account."""
    account = get_object_or_404(MarginAccount, pk=pk, client=request.user)
    contract = selectors.active_contract(account)
    if contract is None:
        raise Http404
    form = TierForm(request.POST, tiers=selectors.offered_tiers())
    if not form.is_valid():
        messages.error(request, _("Choose one of the tiers offered."))
        return redirect(reverse("margin:index"))
    tier = form.cleaned_data["tier"]
    try:
        if tier > contract.leverage_tier:
            changed = services.leverage_tier_raise(user=request.user, account=account, tier=tier)
        else:
            changed = services.leverage_tier_change(user=request.user, account=account, tier=tier)
    except services.FinancingRefused as refused:
        messages.warning(request, str(refused.message))
        if refused.url:
            return redirect(refused.url)
    else:
        messages.success(
            request,
            _("Your leverage tier is %(tier)s.") % {"tier": changed.leverage_tier},
        )
    return redirect(reverse("margin:index"))
