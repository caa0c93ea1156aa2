"""allauth's own mails are ours: branded, greeting the person, in their language, with a text and
an HTML part; never "Hello from 127.0.0.1:8000!"."""

import pytest
from django.core import mail
from django.urls import reverse

from tests.accounts.test_signup_and_login import sign_up
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def last_mail_to(address):
    sent = [m for m in mail.outbox if address in m.to]
    assert sent, f"no mail reached {address}"
    return sent[-1]


def html_of(message) -> str:
    return next(body for body, mime in message.alternatives if mime == "text/html")


def test_the_sign_up_confirmation_is_branded_in_chinese_with_both_parts(
    client, django_capture_on_commit_callbacks
):
    sign_up(client, django_capture_on_commit_callbacks, email="newbie1@example.test")
    message = last_mail_to("newbie1@example.test")
    assert message.subject == "旺润：确认您的电子邮箱"
    assert message.body.startswith("newbie1@example.test，您好：")
    assert "旺润 Wangrun" in message.body and "/accounts/confirm-email/" in message.body
    for generic in ("Hello from", "来自", "example.com", "Email地址"):
        assert generic not in message.subject + message.body
    html = html_of(message)
    assert "旺润" in html and "/accounts/confirm-email/" in html and 'lang="zh-hans"' in html


def test_a_password_reset_reaches_an_english_client_in_english(
    client, django_capture_on_commit_callbacks
):
    user = UserFactory(email="bob2@example.test", full_name="Bob Wang", language="en")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("account_reset_password"),
            {"email": user.email},
            HTTP_ACCEPT_LANGUAGE="zh-CN",  # the browser says Chinese; Bob chose English
        )
    message = last_mail_to(user.email)
    assert message.subject == "Wangrun: Reset your password"
    assert message.body.startswith("Hello Bob Wang,")
    assert "/accounts/password/reset/key/" in message.body
    assert 'lang="en"' in html_of(message)


def test_allauths_pages_read_in_plain_chinese(client):
    user = UserFactory(language="zh-hans")
    client.force_login(user)
    page = client.get(reverse("account_email")).content.decode()
    assert "电子邮箱" in page and "Email地址" not in page
