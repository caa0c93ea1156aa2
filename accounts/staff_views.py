"""The staff invitation link: set a password once, be signed in, set up the authenticator app."""

from allauth.account.adapter import get_adapter
from allauth.account.internal.flows.login import perform_login, record_authentication
from allauth.account.models import Login
from django import forms
from django.contrib.auth.password_validation import password_validators_help_texts
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from accounts.staff import staff_invitation_user, staff_password_set

# The token is parked in the session and the page reloads without it, so it never sits in the
# address bar, the history or a Referer header (as allauth does for its reset links).
_SESSION_KEY = "staff_invitation_key"


class StaffPasswordForm(forms.Form):
    password = forms.CharField(
        label=_("Choose your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "autofocus": True}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["password"].help_text = " ".join(password_validators_help_texts())

    def clean_password(self) -> str:
        return get_adapter().clean_password(self.cleaned_data["password"], user=self.user)


@never_cache
def staff_invitation(request: HttpRequest, key: str) -> HttpResponse:
    if staff_invitation_user(key) is None:
        return _expired(request)
    request.session[_SESSION_KEY] = key
    return redirect("accounts:staff-set-password")


@never_cache
@sensitive_post_parameters("password")
def staff_set_password(request: HttpRequest) -> HttpResponse:
    user = staff_invitation_user(request.session.get(_SESSION_KEY, ""))
    if user is None:
        return _expired(request)
    form = StaffPasswordForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        staff_password_set(user=user, password=form.cleaned_data["password"])
        request.session.pop(_SESSION_KEY, None)
        # Signed in with the password just chosen: the next page is the authenticator set-up,
        # which does not ask for it again (accounts.adapter.AccountAdapter).
        record_authentication(request, user, method="password", email=user.email)
        login = Login(user=user, email=user.email, redirect_url=reverse("mfa_activate_totp"))
        return perform_login(request, login)
    return render(request, "accounts/staff_invitation.html", {"form": form, "invited": user})


def _expired(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/staff_invitation_expired.html", status=410)
