"""No secret that opens an account is readable by staff, anywhere.

The attack this pins: an agent asks for a client's password reset (or a sign-in code), opens the
outbox in the admin, reads the link or code and is inside the client's account. For every kind of
secret the portal hands out — reset links, sign-in codes by email and SMS, email verification
links, staff invitation links, TOTP secrets, recovery codes, survey links — every stored text
column is searched (the secret is in none of them), and each staff role opens every admin page
with every secret handed out at once (the rows each flow made among them): the secret is on
none of them.
"""

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.staff import staff_create
from notices.models import Notification
from notices.sms import LocmemSmsBackend
from tests.factories import PASSWORD
from tests.security.conftest import admin_pages_showing, existing_rows, stored_places_holding

pytestmark = pytest.mark.django_db

RESET_PATH = re.compile(r"/accounts/password/reset/key/([^/\s\"<]+)/")
INVITATION_PATH = re.compile(r"/account/staff/invitation/([^/\s\"<]+)/")
CONFIRM_PATH = re.compile(r"/accounts/confirm-email/([^/\s\"<]+)/")
SIX_DIGITS = re.compile(r"(?<!\d)(\d{6})(?!\d)")
NEW_PASSWORD = "Attacker-chosen-passphrase-1"


@pytest.fixture(autouse=True)
def _empty_sms():
    LocmemSmsBackend.outbox.clear()


# --- each kind of secret: the flow that hands it out, and what it hands out ---------------------
# Each flow starts from empty outboxes and returns the secrets to look for; `sent` runs what it
# holds and then the callbacks of its commits (the outbox delivers on commit).


def password_reset_link(client_alice, staff_users, sent):
    with sent(execute=True):
        Client().post(reverse("account_reset_password"), {"email": client_alice.email})
    [message] = mail.outbox
    return [RESET_PATH.search(message.body).group(1)]


def email_sign_in_code(client_alice, staff_users, sent):
    with sent(execute=True):
        Client().post(reverse("account_request_login_code"), {"email": client_alice.email})
    [message] = mail.outbox
    return [SIX_DIGITS.search(message.body).group(1)]


def email_verification_link(client_alice, staff_users, sent):
    with sent(execute=True):
        Client().post(
            reverse("account_signup"),
            {"email": "newcomer@example.test", "password1": PASSWORD, "password2": PASSWORD},
        )
    [message] = mail.outbox
    return [CONFIRM_PATH.search(message.body).group(1)]


def staff_invitation_link(client_alice, staff_users, sent):
    with sent(execute=True):
        staff_create(email="newhire@example.test", role="agent", actor="create_staff")
    [message] = mail.outbox
    return [INVITATION_PATH.search(message.body).group(1)]


def sms_sign_in_code(client_alice, staff_users, sent):
    with sent(execute=True):
        Client().post(reverse("account_request_login_code"), {"phone": client_alice.phone})
    [sms] = LocmemSmsBackend.outbox
    return [SIX_DIGITS.search(sms.text).group(1)]


def totp_secret_and_recovery_codes(client_alice, staff_users, sent):
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    from tests.accounts.test_signup_and_login import totp_code

    browser = Client()
    browser.post(reverse("account_login"), {"login": client_alice.email, "password": PASSWORD})
    browser.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    page = browser.get(reverse("mfa_activate_totp"))
    secret = page.context["form"].secret
    done = browser.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})
    assert done.status_code == 302
    codes = browser.get(reverse("mfa_view_recovery_codes")).context["unused_codes"]
    assert len(codes) == 10
    assert format_hotp_value(hotp_value(secret, 0))  # a real base32 secret
    browser.post(reverse("account_logout"))
    return [secret, *codes]


def survey_link(client_alice, staff_users, sent):
    from support import services as support
    from support.models import Survey

    with sent(execute=True):
        ticket = support.ticket_open(
            client=client_alice, type="question", subject="Statement?", body="Please help."
        )
        support.ticket_resolve(ticket=ticket, agent=staff_users["agent"])
    token = Survey.objects.get(ticket=ticket).token
    assert [m for m in mail.outbox if token in m.body], "the client's email carries the link"
    return [token]


FLOWS = [
    password_reset_link,
    email_sign_in_code,
    email_verification_link,
    staff_invitation_link,
    sms_sign_in_code,
    totp_secret_and_recovery_codes,
    survey_link,
]


def hand_out(flow, client_alice, staff_users, capture) -> list[str]:
    mail.outbox.clear()
    LocmemSmsBackend.outbox.clear()
    secrets = flow(client_alice, staff_users, capture)
    assert all(secrets), "the flow produced no secret to look for"
    return secrets


@pytest.mark.parametrize("flow", FLOWS, ids=lambda flow: flow.__name__)
def test_no_secret_is_stored_where_staff_can_read_it(
    flow, staff_users, client_alice, django_capture_on_commit_callbacks
):
    secrets = hand_out(flow, client_alice, staff_users, django_capture_on_commit_callbacks)
    # Only the survey row itself holds its token, and its admin does not show it (below).
    expected = ["support.Survey.token"] if flow is survey_link else []
    assert stored_places_holding(*secrets) == expected


def test_no_staff_role_reads_a_secret_on_any_admin_page(
    staff, staff_users, client_alice, django_capture_on_commit_callbacks
):
    before = existing_rows()
    secrets = {}
    for flow in FLOWS:
        for secret in hand_out(flow, client_alice, staff_users, django_capture_on_commit_callbacks):
            secrets[secret] = flow.__name__
    for role, browser in staff.items():
        shown = admin_pages_showing(browser, *secrets, before=before)
        readable = {url: sorted({secrets[s] for s in found}) for url, found in shown.items()}
        assert readable == {}, role


def test_a_sent_account_email_keeps_its_kind_and_drops_its_sealed_copy(
    staff_users, client_alice, django_capture_on_commit_callbacks
):
    hand_out(password_reset_link, client_alice, staff_users, django_capture_on_commit_callbacks)
    row = Notification.objects.get(address=client_alice.email, key="account_email")
    assert row.status == "sent" and row.sealed == ""
    assert "重置" in row.body or "reset" in row.body  # staff still see what kind of email it was
    hand_out(staff_invitation_link, client_alice, staff_users, django_capture_on_commit_callbacks)
    row = Notification.objects.get(address="newhire@example.test", key="staff_invitation")
    assert row.status == "sent" and row.sealed == ""


def test_an_sms_code_is_in_no_notice_body(
    staff_users, client_alice, django_capture_on_commit_callbacks
):
    [code] = sms_sign_in_code(client_alice, staff_users, django_capture_on_commit_callbacks)
    assert not Notification.objects.filter(body__contains=code).exists()


# --- the attacks themselves ---------------------------------------------------------------------


def _outbox_pages(browser, address):
    rows = Notification.objects.filter(address=address)
    urls = [reverse("admin:notices_notification_changelist") + f"?q={address}"]
    urls += [reverse("admin:notices_notification_change", args=[r.pk]) for r in rows]
    return "".join(browser.get(url).content.decode() for url in urls)


def test_an_agent_cannot_take_over_an_account_with_a_reset_link_from_the_outbox(
    staff, client_alice, django_capture_on_commit_callbacks
):
    attacker = Client()
    with django_capture_on_commit_callbacks(execute=True):
        attacker.post(reverse("account_reset_password"), {"email": client_alice.email})
    readable = "".join(_outbox_pages(browser, client_alice.email) for browser in staff.values())
    for key in RESET_PATH.findall(readable):
        page = attacker.get(f"/accounts/password/reset/key/{key}/", follow=True)
        form_url = page.redirect_chain[-1][0] if page.redirect_chain else page.request["PATH_INFO"]
        attacker.post(form_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    client_alice.refresh_from_db()
    assert client_alice.check_password(PASSWORD) and not client_alice.check_password(NEW_PASSWORD)
    assert attacker.get(reverse("funds:index")).status_code == 302  # still signed out

    # The client's own link, from her mailbox, does work: the test is not vacuous.
    owner = Client()
    key = RESET_PATH.search(mail.outbox[-1].body).group(1)
    form = owner.get(f"/accounts/password/reset/key/{key}/", follow=True).redirect_chain[-1][0]
    owner.post(form, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    client_alice.refresh_from_db()
    assert client_alice.check_password(NEW_PASSWORD)


def test_an_agent_cannot_sign_in_as_a_client_with_a_code_from_the_outbox(
    staff, client_alice, django_capture_on_commit_callbacks
):
    attacker = Client()
    with django_capture_on_commit_callbacks(execute=True):
        attacker.post(reverse("account_request_login_code"), {"email": client_alice.email})
    readable = "".join(_outbox_pages(browser, client_alice.email) for browser in staff.values())
    emailed = SIX_DIGITS.search(mail.outbox[-1].body).group(1)
    assert emailed not in readable
    for code in dict.fromkeys(SIX_DIGITS.findall(readable)):
        attacker.post(reverse("account_confirm_login_code"), {"code": code})
    assert "_auth_user_id" not in attacker.session


def test_the_sealed_copy_is_useless_without_the_key_and_gone_once_sent(
    client_alice, django_capture_on_commit_callbacks
):
    from cryptography.fernet import Fernet, InvalidToken

    from notices import services

    row = services.enqueue_account_email(
        address=client_alice.email,
        subject="Password reset",
        body="Reset here: https://portal.example/accounts/password/reset/key/9-abc-def/",
        template="account/email/password_reset_key",
    )
    assert "abc-def" not in row.body + row.subject + str(row.context)
    with pytest.raises(InvalidToken):
        Fernet(Fernet.generate_key()).decrypt(row.sealed.encode())
    services.notification_deliver(notification_id=row.pk)
    row.refresh_from_db()
    assert row.status == "sent" and row.sealed == ""
    assert "abc-def" in mail.outbox[-1].body


def test_a_failed_reset_email_is_retried_by_the_sweep_with_its_link(client_alice, settings):
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from notices import services

    row = services.enqueue_account_email(
        address=client_alice.email,
        subject="Password reset",
        body="Reset here: /accounts/password/reset/key/9-abc-def/",
        template="account/email/password_reset_key",
    )
    settings.EMAIL_BACKEND = "tests.notices.backends.FailingEmailBackend"
    services.notification_deliver(notification_id=row.pk)
    row.refresh_from_db()
    assert row.status == "pending" and row.sealed  # still sealed, for the next attempt
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        services.redeliver_stuck()
    row.refresh_from_db()
    assert row.status == "sent"
    assert "9-abc-def" in mail.outbox[-1].body
    assert "9-abc-def" not in row.body
