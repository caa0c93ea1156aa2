from allauth.mfa.models import Authenticator
from django.contrib import messages
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
