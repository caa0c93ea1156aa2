import hmac

from django.conf import settings
from django.http import HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal import health


def home(request):
    return render(request, "portal/home.html")


@require_GET
@never_cache
def healthz(request):
    return JsonResponse({"status": "ok"})


@require_GET
@never_cache
def readyz(request):
    results = health.readiness()
    ready = all(reason is None for reason in results.values())
    body = {
        "status": "ok" if ready else "unavailable",
        "checks": {
            name: ({"ok": True} if reason is None else {"ok": False, "error": reason})
            for name, reason in results.items()
        },
    }
    if _is_operator(request):
        body["details"] = health.details()
    return JsonResponse(body, status=200 if ready else 503)


def _is_operator(request) -> bool:
    """A monitor presenting READYZ_TOKEN as a bearer token; nobody when the token is unset."""
    token = settings.READYZ_TOKEN
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    return bool(token) and hmac.compare_digest(given.encode(), token.encode())


@require_GET
def favicon(request):
    """Browsers ask for /favicon.ico on every page that names none (Django admin does not)."""
    return HttpResponsePermanentRedirect(static("img/favicon.svg"))
