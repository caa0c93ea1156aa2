from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from margin import selectors, status
from margin.models import MarginAccount, VolatilityRegime
from margin.rules import Level


def _get_account_for_user(request: HttpRequest) -> MarginAccount | None:
    """The signed-in client's own account; never one named by the request."""
    return selectors.account_for_client(request.user)


def _labels() -> dict[str, Any]:
    return {
        "levels": {level.value: str(level.label) for level in Level},
        "no_debt": _("No debt"),
        "not_reachable": _("no fall in prices reaches it"),
        "reached": _("reached"),
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
    regime = selectors.current_regime()
    regime_key = regime.regime if regime else VolatilityRegime.Regime.NORMAL
    context = {
        "account": account,
        "status": live,
        "history": status.history(account.pk),
        "labels": _labels(),
        "regime": VolatilityRegime.Regime(regime_key),
        "leverage_cap": selectors.leverage_cap(regime_key) * 100,
        "level_label": Level(live["level"]).label,
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
    payload = dict(selectors.live_status(account))
    payload["type"] = "snapshot"
    payload["history"] = status.history(account.pk)
    return JsonResponse(payload)
