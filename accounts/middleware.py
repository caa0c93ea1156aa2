from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _


class StaffMfaRequiredMiddleware:
    """Keep staff out of /admin/ until they have an authenticator app set up."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._blocks(request):
            messages.warning(
                request,
                _("Staff must set up two-factor authentication before using the admin site."),
            )
            return redirect("mfa_activate_totp")
        return self.get_response(request)

    @staticmethod
    def _blocks(request) -> bool:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_staff:
            return False
        admin_root = reverse("admin:index")
        if not request.path.startswith(admin_root) or request.path == reverse("admin:logout"):
            return False
        return not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


class SavedLanguageMiddleware:
    """A signed-in person sees the portal in the language saved on their account, whatever their
    browser asks for: the one they signed up in or last chose (accounts.views.language_set keeps
    it in step), which is also the language of their notices. The cookie follows, so the choice
    outlasts the session."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        saved = getattr(user, "language", "") if user is not None and user.is_authenticated else ""
        if saved and saved in dict(settings.LANGUAGES) and saved != request.LANGUAGE_CODE:
            translation.activate(saved)
            request.LANGUAGE_CODE = saved
        response = self.get_response(request)
        if settings.LANGUAGE_COOKIE_NAME in response.cookies:
            return response  # the person just chose a language (accounts.views.language_set)
        if saved and request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) != saved:
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                saved,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                path=settings.LANGUAGE_COOKIE_PATH,
                domain=settings.LANGUAGE_COOKIE_DOMAIN,
                secure=settings.LANGUAGE_COOKIE_SECURE,
                httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            )
        return response
