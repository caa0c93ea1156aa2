"""Operators create staff from the command line: one role, own password, then MFA."""

import re

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from accounts.models import User
from audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_create_staff_puts_them_in_one_role_and_emails_a_password_link(
    capsys, django_capture_on_commit_callbacks, client
):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("create_staff", "Grace@Example.test", "--role", "agent", "--name", "郭晴")
    assert "grace@example.test (agent)" in capsys.readouterr().out
    user = User.objects.get(email="grace@example.test")
    assert user.is_staff and not user.is_superuser and not user.has_usable_password()
    assert list(user.groups.values_list("name", flat=True)) == ["agent"]
    assert AuditEntry.objects.get(action="staff.created").data == {"role": "agent"}

    [message] = mail.outbox
    link = re.search(r"https?://\S+/accounts/password/reset/key/\S+/", message.body).group(0)
    path = link.split("127.0.0.1:8000", 1)[1]
    form_url = client.get(path, follow=True).redirect_chain[-1][0]
    new = "A-long-staff-pass"
    response = client.post(form_url, {"password1": new, "password2": new})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(new)


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
