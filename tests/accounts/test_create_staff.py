"""Operators create staff from the command line: one role, their own invitation, a password set
once, then the authenticator app at once."""

import datetime
import re

import pytest
import time_machine
from allauth.mfa.models import Authenticator
from django.core import mail
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import translation

from accounts.models import User
from audit.models import AuditEntry
from notices.models import Notification

pytestmark = pytest.mark.django_db

INVITATION = re.compile(r"https?://\S+?(/account/staff/invitation/[^/\s]+/)")
NEW = "A-long-staff-pass-2026"
AT = datetime.datetime(2026, 12, 7, 1, 0, tzinfo=datetime.UTC)


def invite(django_capture_on_commit_callbacks, *args):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("create_staff", *args)
    return mail.outbox[-1]


def test_create_staff_puts_them_in_one_role_and_sends_an_invitation(
    capsys, django_capture_on_commit_callbacks
):
    with time_machine.travel(AT, tick=False), translation.override("zh-hans"):
        message = invite(
            django_capture_on_commit_callbacks,
            "Grace@Example.test",
            "--role",
            "risk_officer",
            "--name",
            "郭晴",
        )
    assert "grace@example.test (risk_officer)" in capsys.readouterr().out
    user = User.objects.get(email="grace@example.test")
    assert user.is_staff and not user.is_superuser and not user.has_usable_password()
    assert list(user.groups.values_list("name", flat=True)) == ["risk_officer"]
    assert AuditEntry.objects.get(action="staff.created").data == {"role": "risk_officer"}

    # Its own message, not a password reset: who they are invited as, where, until when.
    assert message.subject == "您受邀以风控专员身份加入旺润后台"
    assert "重置" not in message.subject + message.body
    assert "风控专员" in message.body and "旺润后台" in message.body
    assert "2026-12-10 09:00" in message.body  # three days, Beijing time
    assert INVITATION.search(message.body)
    row = Notification.objects.get(recipient=user, key="staff_invitation")
    assert "/account/staff/invitation/" not in row.body  # the stored copy withholds the link


def test_the_invitation_in_english(django_capture_on_commit_callbacks):
    user = User.objects.create_user("ivy@example.test", None, is_staff=True, language="en")
    from django.contrib.auth.models import Group

    from accounts.staff import staff_invite

    user.groups.set([Group.objects.get(name="compliance")])
    with django_capture_on_commit_callbacks(execute=True):
        staff_invite(user=user, role="compliance")
    [message] = mail.outbox
    assert "invited to the Wangrun back office as compliance officer" in message.subject
    assert "expires at" in message.body and "password reset" not in message.body.lower()


def test_a_new_staff_member_sets_a_password_once_and_goes_straight_to_the_authenticator(
    client, django_capture_on_commit_callbacks
):
    message = invite(django_capture_on_commit_callbacks, "grace@example.test", "--role", "agent")
    path = INVITATION.search(message.body).group(1)
    response = client.get(path)
    form_url = reverse("accounts:staff-set-password")
    assert response.url == form_url  # the token leaves the address bar
    page = client.get(form_url).content.decode()
    assert page.count('type="password"') == 1  # asked once
    assert client.post(form_url, {"password": "short"}).status_code == 200  # validators apply

    response = client.post(form_url, {"password": NEW})
    assert response.status_code == 302 and response.url == reverse("mfa_activate_totp")
    user = User.objects.get(email="grace@example.test")
    assert user.check_password(NEW)
    assert AuditEntry.objects.filter(action="staff.password_set", object_id=str(user.pk)).exists()
    # The set-up page opens at once: no "confirm your password" in between.
    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200 and 'name="code"' in page.content.decode()
    assert not Authenticator.objects.filter(user=user).exists()
    # The admin stays shut until the app is set up.
    assert client.get(reverse("admin:index")).url == reverse("mfa_activate_totp")

    # The link worked once.
    client.logout()
    assert client.get(path).status_code == 410


def test_an_expired_invitation_says_so_and_sets_nothing(client, django_capture_on_commit_callbacks):
    with time_machine.travel(AT, tick=False):
        message = invite(django_capture_on_commit_callbacks, "g@example.test", "--role", "agent")
    path = INVITATION.search(message.body).group(1)
    with time_machine.travel(AT + datetime.timedelta(days=3, minutes=1), tick=False):
        response = client.get(path)
    assert response.status_code == 410
    assert 'data-testid="staff-invitation-expired"' in response.content.decode()
    assert client.get(reverse("accounts:staff-set-password")).status_code == 410
    assert not User.objects.get(email="g@example.test").has_usable_password()


def test_a_client_cannot_use_the_invitation_page(client, client_alice):
    from allauth.account.forms import default_token_generator
    from allauth.account.utils import user_pk_to_url_str

    key = f"{user_pk_to_url_str(client_alice)}-{default_token_generator.make_token(client_alice)}"
    assert client.get(reverse("accounts:staff-invitation", args=[key])).status_code == 410


def test_a_new_invitation_can_be_sent_until_the_password_is_set(
    capsys, django_capture_on_commit_callbacks
):
    invite(django_capture_on_commit_callbacks, "g@example.test", "--role", "agent")
    invite(django_capture_on_commit_callbacks, "g@example.test", "--role", "agent", "--resend")
    assert Notification.objects.filter(key="staff_invitation", channel="email").count() == 2
    user = User.objects.get(email="g@example.test")
    user.set_password(NEW)
    user.save()
    with pytest.raises(CommandError, match="not a staff member waiting"):
        call_command("create_staff", "g@example.test", "--role", "agent", "--resend")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x@example.test", "--role", "superuser"], "invalid choice"),
        (["alice@example.test", "--role", "agent"], "already has an account"),
    ],
)
def test_create_staff_refuses_unknown_roles_and_existing_accounts(client_alice, args, message):
    before = User.objects.count()
    with pytest.raises(CommandError, match=message):
        call_command("create_staff", *args)
    assert User.objects.count() == before
    assert not mail.outbox


def test_cancel_on_the_second_factor_step_is_not_styled_as_the_primary_action(client, client_alice):
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    from tests.factories import PASSWORD

    TOTP.activate(client_alice, generate_totp_secret())
    response = client.post(
        reverse("account_login"), {"login": client_alice.email, "password": PASSWORD}, follow=True
    )
    page = response.content.decode().split("<main", 1)[1]
    assert 'name="code"' in page
    cancel = re.search(r"<button[^>]*data-action=\"cancel\"[^>]*>", page).group(0)
    assert 'class="button-secondary"' in cancel
    sign_in = re.search(r"<button(?![^>]*form=)[^>]*type=\"submit\"[^>]*>", page).group(0)
    assert "button-secondary" not in sign_in and "link-button" not in sign_in
