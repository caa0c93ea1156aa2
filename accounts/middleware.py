from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.shortcuts import redirect
from django.urls import reverse
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
    """At sign-in the language saved on the account wins over the browser's: the one the person
    signed up in or last chose (accounts.views.language_set keeps it in step), which is also the
    language of their notices. The sign-in response sets the language cookie to it; from then on
    the cookie (or a new choice) decides, as for anyone."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        saved = getattr(request, "signed_in_language", "")
        if (
            saved in dict(settings.LANGUAGES)
            and settings.LANGUAGE_COOKIE_NAME not in response.cookies
        ):
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


@receiver(user_logged_in)
def _remember_saved_language(sender, request, user, **kwargs) -> None:
    if request is not None:
        request.signed_in_language = getattr(user, "language", "")
