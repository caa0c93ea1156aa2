"""What happens to an account produces notices: welcome once, a security alert for every change."""

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import TOTP
from django.core import mail
from django.urls import reverse

from notices.models import Notification
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def alerts(user, event):
    return Notification.objects.filter(
        recipient=user, key="security_alert", context__event=event
    ).order_by("channel")


def test_confirming_the_email_welcomes_the_client_once(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("account_signup"),
            {"email": "new@example.test", "password1": PASSWORD, "password2": PASSWORD},
        )
    confirmation = mail.outbox[-1].body
    link = next(word for word in confirmation.split() if "/accounts/confirm-email/" in word)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(link)
    address = EmailAddress.objects.get(email="new@example.test")
    assert address.verified
    welcome = Notification.objects.filter(recipient=address.user, key="welcome")
    assert sorted(welcome.values_list("channel", flat=True)) == ["email", "inapp"]
    assert welcome.filter(channel="email", status="sent").exists()
    # Confirming again (a replayed link) does not welcome twice.
    client.post(link)
    assert Notification.objects.filter(recipient=address.user, key="welcome").count() == 2


def test_a_password_change_alerts_on_every_channel_with_time_and_ip(
    client, client_alice, django_capture_on_commit_callbacks
):
    client.force_login(client_alice)
    new = "An0ther-long-passphrase"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("account_change_password"),
            {"oldpassword": PASSWORD, "password1": new, "password2": new},
        )
    assert response.status_code == 302
    rows = alerts(client_alice, "password_changed")
    assert [r.channel for r in rows] == ["email", "inapp", "sms"]
    email = rows.get(channel="email")
    assert email.status == "sent"
    assert "(UTC+8)" in email.context["when"] and email.context["ip"] == "127.0.0.1"
    assert "密码已被修改" in email.body  # Alice reads Chinese


NEW = "An0ther-long-pass"


def test_a_wrong_old_password_changes_nothing_and_alerts_nobody(client, client_alice):
    client.force_login(client_alice)
    response = client.post(
        reverse("account_change_password"),
        {
            "oldpassword": "wrong",
            "password1": "An0ther-long-pass",
            "password2": "An0ther-long-pass",
        },
    )
    assert response.status_code == 200
    assert not alerts(client_alice, "password_changed").exists()
    client_alice.refresh_from_db()
    assert client_alice.check_password(PASSWORD)


def test_turning_two_factor_on_and_off_is_reported(client_bob, rf):
    from allauth.mfa import signals

    request = rf.post("/")
    authenticator = TOTP.activate(client_bob, "JBSWY3DPEHPK3PXP").instance
    signals.authenticator_added.send(
        sender=authenticator.__class__,
        request=request,
        user=client_bob,
        authenticator=authenticator,
    )
    signals.authenticator_removed.send(
        sender=authenticator.__class__,
        request=request,
        user=client_bob,
        authenticator=authenticator,
    )
    assert alerts(client_bob, "mfa_enabled").exists()
    assert alerts(client_bob, "mfa_disabled").exists()
