"""Demo logins never exist outside `make run`; allauth carries its security fixes; rate limits see
the client behind the proxy.

The attacks this pins: `seed_demo` run against a test or production database, leaving logins
with a published password and a printed TOTP secret; a TOTP code replayed within the tolerance
window (allauth before 65.22.0); every client behind the proxy sharing one rate-limit bucket (or
choosing their own address).
"""

from importlib import metadata

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from accounts.models import User
from portal import crypto
from tests.portal.test_production_settings import manage

pytestmark = pytest.mark.django_db


# --- demo data -----------------------------------------------------------------------------------


def test_seed_demo_refuses_under_the_test_settings(settings):
    assert settings.DEBUG is False
    with pytest.raises(CommandError, match="development settings"):
        call_command("seed_demo")
    assert not User.objects.filter(email__endswith="@demo.wangrun.test").exists()


def test_seed_demo_refuses_under_the_production_settings():
    result = manage("seed_demo")
    assert result.returncode != 0
    assert "development settings" in result.stderr


# --- allauth -------------------------------------------------------------------------------------


def test_allauth_is_at_least_the_release_with_the_totp_and_caching_fixes():
    version = tuple(int(part) for part in metadata.version("django-allauth").split(".")[:3])
    assert version >= (65, 22, 1)


def test_a_used_totp_code_stays_used_for_the_whole_tolerance_window(client_alice, monkeypatch):
    """With MFA_TOTP_TOLERANCE = 1 a code is valid for three 30-second steps; the marker that it
    was used must outlive all three, or it can be replayed in the last one."""
    from allauth.mfa import app_settings
    from allauth.mfa.totp.internal import auth

    from tests.accounts.test_signup_and_login import totp_code

    totp = auth.TOTP.activate(client_alice, auth.generate_totp_secret())
    marked = []
    real_add = auth.cache.add

    def add(key, value, timeout=None, **kwargs):
        marked.append(timeout)
        return real_add(key, value, timeout=timeout, **kwargs)

    monkeypatch.setattr(auth.cache, "add", add)
    secret = crypto.decrypt(totp.instance.data["secret"])
    code = totp_code(secret)
    assert totp.validate_code(code) is True
    assert totp.validate_code(code) is False  # used
    window = app_settings.TOTP_PERIOD * (2 * app_settings.TOTP_TOLERANCE + 1)
    assert marked and min(marked) >= window


def test_the_recovery_codes_page_is_never_cached(client_alice):
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    from tests.factories import PASSWORD

    TOTP.activate(client_alice, generate_totp_secret())
    RecoveryCodes.activate(client_alice)
    browser = Client()
    browser.force_login(client_alice)
    browser.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    response = browser.get(reverse("mfa_view_recovery_codes"))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


# --- the client's address behind the proxy -------------------------------------------------------


def _limited(address_chain: str, n: int) -> bool:
    """A failed sign-in from a client behind the proxy; whether the per-IP limit refused it."""
    response = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=address_chain).post(
        reverse("account_login"), {"login": f"nobody{n}@example.test", "password": "wrong-pass"}
    )
    assert response.status_code in (200, 429)
    form = response.context["form"] if response.context else None
    return response.status_code == 429 or bool(
        form and form.has_error("__all__", "too_many_login_attempts")
    )


def test_behind_one_proxy_each_client_has_its_own_rate_limit(settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    # login_failed allows 10 a minute per IP: the 11th from one client is refused ...
    limited = [_limited("203.0.113.7", n) for n in range(11)]
    assert limited == [False] * 10 + [True]
    # ... while another client behind the same proxy is not.
    assert _limited("198.51.100.9", 99) is False


def test_a_client_cannot_choose_its_address_by_prepending_to_the_header(settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    # The proxy appends the real address last; anything the client wrote before it is ignored.
    limited = [_limited(f"1.2.3.{n}, 203.0.113.7", n) for n in range(11)]
    assert limited[-1] is True


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ALLAUTH_TRUSTED_PROXY_COUNT", "-1"),
        ("ALLAUTH_TRUSTED_PROXY_COUNT", "many"),
        ("ALLAUTH_TRUSTED_PROXY_COUNT", "9"),
        ("FUNDS_SUSPENSE_DAILY_LIMIT", "lots"),
        ("FUNDS_SUSPENSE_DAILY_LIMIT", "-5"),
    ],
)
def test_a_malformed_security_setting_stops_start_up(variable, value):
    result = manage("check", **{variable: value})
    assert result.returncode != 0
    assert f"Environment variable {variable}" in result.stderr
