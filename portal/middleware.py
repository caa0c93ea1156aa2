"""Request and response rules that hold for every page, whatever view answers it."""

from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _

# Pages that carry a secret in the URL or the page even before sign-in (reset and verification
# links, survey links) and the admin: never kept by a browser or a proxy.
_ALWAYS_PRIVATE = ("/accounts/", "/admin/", "/support/survey/")


class NoStoreMiddleware:
    """`Cache-Control: private, no-store` on every response to a signed-in person and on the
    pages above: funds, tickets, statements, receipts, exports, KYC pages and the rest are about
    one client and must not outlive the visit in a shared computer's cache or a proxy.

    Public pages for anonymous visitors (home, disclosures, the SLA statistics) stay cacheable.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        signed_in = user is not None and user.is_authenticated
        if signed_in or request.path.startswith(_ALWAYS_PRIVATE):
            patch_cache_control(response, private=True, no_store=True)
        return response


def _holds_nul(values) -> bool:
    return any("\x00" in key or any("\x00" in v for v in vals) for key, vals in values.lists())


class RefuseNulMiddleware:
    """A NUL character anywhere in the query or the form is refused with a clear message.

    PostgreSQL cannot store one in a text column, so a NUL typed (or pasted, or forged) into any
    field would reach the database and fail there as a server error, after part of the work was
    done. Nobody types one on purpose: the whole request is refused before any view runs.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or _holds_nul(request.GET):
            return self._refuse(request)
        if request.method == "POST" and (
            _holds_nul(request.POST)
            or any("\x00" in (f.name or "") for f in request.FILES.values())
        ):
            return self._refuse(request)
        return self.get_response(request)

    @staticmethod
    def _refuse(request):
        message = _(
            "Your request contained an invisible control character (NUL) that cannot be stored. "
            "Nothing was saved. Please retype the text and send it again."
        )
        return render(request, "portal/bad_request.html", {"message": message}, status=400)
