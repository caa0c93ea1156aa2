"""Password reset, recovery codes, sign-out and allauth's rate limits, as a client meets them."""

import re

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.core import mail
from django.urls import reverse

from notices.models import Notification
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
RESET_LINK = re.compile(r"https?://[^\s\"<]+(/accounts/password/reset/key/[^\s\"<]+/)")
NEW = "A-fresh-long-passphrase"


def request_reset(client, capture, email):
    with capture(execute=True):
        response = client.post(reverse("account_reset_password"), {"email": email})
    assert response.status_code == 302
    return response


def test_password_reset_by_email_link_then_the_old_password_is_refused(
    client, client_alice, django_capture_on_commit_callbacks
):
    request_reset(client, django_capture_on_commit_callbacks, client_alice.email)
    [message] = mail.outbox
    path = RESET_LINK.search(message.body).group(1)
    form_url = client.get(path, follow=True).redirect_chain[-1][0]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(form_url, {"password1": NEW, "password2": NEW})
    assert response.status_code == 302
    client_alice.refresh_from_db()
    assert client_alice.check_password(NEW) and not client_alice.check_password(PASSWORD)
    # The link is single-use: replaying it changes nothing.
    replay = client.get(path, follow=True)
    assert replay.context["token_fail"] is True
    assert Notification.objects.filter(
        recipient=client_alice, key="security_alert", context__event="password_changed"
    ).exists()


def test_a_reset_for_an_unknown_address_reveals_nothing(client, django_capture_on_commit_callbacks):
    response = request_reset(client, django_capture_on_commit_callbacks, "nobody@example.test")
    assert response["Location"] == reverse("account_reset_password_done")
    # Same answer as for a real client; no reset link goes anywhere.
    assert not any(RESET_LINK.search(m.body) for m in mail.outbox)


def test_a_recovery_code_signs_in_once(client, client_alice):
    TOTP.activate(client_alice, generate_totp_secret())
    codes = RecoveryCodes.activate(client_alice).get_unused_codes()
    assert len(codes) == 10

    def sign_in_with(code):
        client.logout()
        client.post(reverse("account_login"), {"login": client_alice.email, "password": PASSWORD})
        client.post(reverse("mfa_authenticate"), {"code": code})
        return client.session.get("_auth_user_id")

    assert sign_in_with(codes[0]) == str(client_alice.pk)
    assert sign_in_with(codes[0]) is None  # used codes stay used
    authenticator = Authenticator.objects.get(
        user=client_alice, type=Authenticator.Type.RECOVERY_CODES
    )
    assert codes[0] not in authenticator.wrap().get_unused_codes()


def test_sign_out_is_a_post_and_ends_the_session(client, client_alice):
    client.force_login(client_alice)
    assert client.get(reverse("account_logout")).status_code == 200  # a GET only asks
    assert "_auth_user_id" in client.session
    client.post(reverse("account_logout"))
    assert "_auth_user_id" not in client.session


def test_repeated_failed_logins_are_rate_limited(client, client_alice):
    for _ in range(5):
        client.post(reverse("account_login"), {"login": client_alice.email, "password": "wrong"})
    # The sixth try within five minutes is refused even with the right password.
    response = client.post(
        reverse("account_login"), {"login": client_alice.email, "password": PASSWORD}
    )
    assert "_auth_user_id" not in client.session
    assert response.status_code in (200, 429)
