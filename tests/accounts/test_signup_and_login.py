import re

import pytest
import time_machine
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
LINK = re.compile(r"https?://[^\s\"<]+/accounts/confirm-email/[^\s\"<]+/")


def sign_up(client, capture, email="new@example.test"):
    with capture(execute=True):
        response = client.post(
            reverse("account_signup"),
            {"email": email, "password1": PASSWORD, "password2": PASSWORD},
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    return response


def verification_link(email):
    bodies = [m.body for m in mail.outbox if email in m.to]
    assert bodies, "no verification email reached the outbox"
    return LINK.search(bodies[-1]).group(0)


def totp_code(secret, at=None):
    import time

    from allauth.mfa import app_settings

    now = at or time.time()
    return format_hotp_value(hotp_value(secret, int(now) // app_settings.TOTP_PERIOD))


def test_sign_up_sends_a_verification_email_through_the_outbox(
    client, django_capture_on_commit_callbacks
):
    from notices.models import Notification

    sign_up(client, django_capture_on_commit_callbacks)
    user = User.objects.get(email="new@example.test")
    assert not EmailAddress.objects.get(user=user).verified
    notification = Notification.objects.get(address="new@example.test")
    assert notification.status == "sent"
    assert verification_link("new@example.test")


def test_unverified_client_cannot_sign_in(client, django_capture_on_commit_callbacks):
    sign_up(client, django_capture_on_commit_callbacks)
    client.logout()
    response = client.post(
        reverse("account_login"), {"login": "new@example.test", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert "_auth_user_id" not in client.session


def test_verification_link_verifies_and_replaying_it_changes_nothing(
    client, django_capture_on_commit_callbacks
):
    sign_up(client, django_capture_on_commit_callbacks)
    link = verification_link("new@example.test")
    path = link.split("testserver", 1)[-1]
    assert client.post(path).status_code == 302
    address = EmailAddress.objects.get(email="new@example.test")
    assert address.verified
    replay = client.post(path, follow=True)
    assert replay.status_code in (200, 404)
    assert EmailAddress.objects.filter(email="new@example.test", verified=True).count() == 1


def test_an_expired_verification_link_is_refused_clearly(
    client, django_capture_on_commit_callbacks
):
    sign_up(client, django_capture_on_commit_callbacks)
    path = verification_link("new@example.test").split("testserver", 1)[-1]
    with time_machine.travel(timezone.now() + timezone.timedelta(days=4)):
        page = client.get(path)
        assert page.status_code == 200
        assert "expired or is invalid" in page.content.decode() or "已过期" in page.content.decode()
        client.post(path)
    assert not EmailAddress.objects.get(email="new@example.test").verified


def test_sign_up_with_mismatched_passwords_writes_nothing(client):
    response = client.post(
        reverse("account_signup"),
        {"email": "x@example.test", "password1": PASSWORD, "password2": PASSWORD + "x"},
    )
    assert response.status_code == 200
    assert not User.objects.filter(email="x@example.test").exists()


@pytest.fixture
def alice_with_totp(client_alice):
    secret = generate_totp_secret()
    TOTP.activate(client_alice, secret)
    return client_alice, secret


def test_totp_secret_is_encrypted_at_rest(alice_with_totp):
    alice, secret = alice_with_totp
    stored = Authenticator.objects.get(user=alice, type=Authenticator.Type.TOTP).data["secret"]
    assert secret not in stored


def login_with_password(client, email):
    response = client.post(reverse("account_login"), {"login": email, "password": PASSWORD})
    assert response.status_code == 302
    return response


def test_login_asks_for_the_code_and_a_wrong_one_is_refused(client, alice_with_totp):
    alice, secret = alice_with_totp
    response = login_with_password(client, alice.email)
    assert response["Location"] == reverse("mfa_authenticate")
    wrong = "000000" if totp_code(secret) != "000000" else "111111"
    refused = client.post(reverse("mfa_authenticate"), {"code": wrong})
    assert refused.status_code == 200
    assert "_auth_user_id" not in client.session
    client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
    assert client.session["_auth_user_id"] == str(alice.pk)


def test_a_totp_code_cannot_be_replayed(client, alice_with_totp):
    alice, secret = alice_with_totp
    code = totp_code(secret)
    login_with_password(client, alice.email)
    client.post(reverse("mfa_authenticate"), {"code": code})
    assert client.session["_auth_user_id"] == str(alice.pk)
    client.logout()
    login_with_password(client, alice.email)
    client.post(reverse("mfa_authenticate"), {"code": code})
    assert "_auth_user_id" not in client.session


def test_staff_without_mfa_cannot_reach_admin(client, agent_carol):
    client.force_login(agent_carol)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")


def test_staff_with_mfa_reach_admin(client, agent_carol):
    TOTP.activate(agent_carol, generate_totp_secret())
    client.force_login(agent_carol)
    assert client.get(reverse("admin:index")).status_code == 200


def test_clients_never_reach_admin(client, client_alice):
    TOTP.activate(client_alice, generate_totp_secret())
    client.force_login(client_alice)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"] or "login" in response["Location"]


def test_admin_login_goes_through_allauth(client):
    response = client.get(reverse("admin:login"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
