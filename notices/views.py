from typing import TYPE_CHECKING

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from notices import selectors, services
from notices.forms import NoticePreferencesForm
from notices.models import Notification
from portal.pagination import paginate

if TYPE_CHECKING:
    from accounts.models import User

PAGE_SIZE = 20


class AuthenticatedRequest(HttpRequest):
    """What login_required guarantees, spelled out for the type checker."""

    user: "User"


def _get_notice_for_user(request: AuthenticatedRequest, pk: int) -> Notification:
    return get_object_or_404(selectors.inapp_notices(user=request.user), pk=pk)


def _back(request: HttpRequest) -> HttpResponse:
    next_url = request.POST.get("next", "")
    # A path on this site only: anything else (a view name, a stray word) goes to the list.
    if next_url.startswith("/") and url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return HttpResponseRedirect(next_url)
    return redirect("notices:list")


@login_required
@require_GET
def notice_list(request: AuthenticatedRequest) -> HttpResponse:
    page = paginate(request, selectors.inapp_notices(user=request.user), per_page=PAGE_SIZE)
    unread = selectors.unread_count(user_id=request.user.pk)
    # The bell in the page header shows the same count: counted once (the view's context wins
    # over the context processor's lazy count).
    return render(
        request,
        "notices/list.html",
        {"page": page, "has_unread": unread > 0, "unread_notice_count": unread},
    )


@login_required
@require_POST
def notice_mark_read(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    notice = _get_notice_for_user(request, pk)
    services.notification_mark_read(user=request.user, notification_id=notice.pk)
    return _back(request)


@login_required
@require_POST
def notice_mark_all_read(request: AuthenticatedRequest) -> HttpResponse:
    services.notifications_mark_all_read(user=request.user)
    return _back(request)


@login_required
@require_http_methods(["GET", "POST"])
def notice_preferences(request: AuthenticatedRequest) -> HttpResponse:
    rows = selectors.preference_rows(user=request.user)
    form = NoticePreferencesForm(request.POST if request.method == "POST" else None, rows=rows)
    if request.method == "POST" and form.is_valid():
        services.notice_preferences_set(user=request.user, enabled=form.choices())
        messages.success(request, _("Your choices are saved."))
        return redirect("notices:preferences")
    return render(
        request,
        "notices/preferences.html",
        {"form": form, "grid": form.grid(), "channels": rows[0].cells if rows else []},
    )
