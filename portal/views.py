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
    return JsonResponse(body, status=200 if ready else 503)


@require_GET
def favicon(request):
    """Browsers ask for /favicon.ico on every page that names none (Django admin does not)."""
    return HttpResponsePermanentRedirect(static("img/favicon.svg"))
