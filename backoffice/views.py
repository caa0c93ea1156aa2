"""The client search and the page per client, inside the admin (staff, second factor)."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from accounts.models import User
from backoffice import clients, search

# Whoever may read any part of a client's record may find the client and open the page; each
# part is then shown by its own permission (backoffice.clients).
READS_CLIENTS = (
    "accounts.view_kyccase",
    "support.view_ticket",
    "margin.view_marginaccount",
    "funds.view_withdrawalrequest",
    "notices.view_notification",
    "audit.view_auditentry",
)
MAX_QUERY = 100


def may_read_clients(user) -> bool:
    return user.is_active and user.is_staff and any(user.has_perm(p) for p in READS_CLIENTS)


def client_search(request: HttpRequest) -> HttpResponse:
    if not may_read_clients(request.user):
        raise PermissionDenied
    query = request.GET.get("q", "")[:MAX_QUERY]
    hits = search.find_clients(query) if query.strip() else []
    if len(hits) == 1 and request.GET.get("go") == "1":
        return redirect("backoffice:client", user_id=hits[0].client.pk)
    context = {
        **admin.site.each_context(request),
        "title": _("Find a client"),
        "query": query,
        "hits": [
            {
                "hit": hit,
                "name": hit.client.full_name,
                "phone": clients.mask_phone(hit.client.phone),
            }
            for hit in hits
        ],
        "searched": bool(query.strip()),
    }
    return TemplateResponse(request, "admin/backoffice/search.html", context)


def client_detail(request: HttpRequest, user_id: int) -> HttpResponse:
    if not may_read_clients(request.user):
        raise PermissionDenied
    client = get_object_or_404(User, pk=user_id, is_staff=False, is_superuser=False)
    page = clients.client_page(viewer=request.user, client=client)
    context = {
        **admin.site.each_context(request),
        "title": _("Client overview: %(name)s") % {"name": page["summary"]["name"] or "—"},
        **page,
    }
    return TemplateResponse(request, "admin/backoffice/client.html", context)
