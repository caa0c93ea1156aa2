"""A rate limit is a 429 page that says when to try again, in the client's language, never a 500."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from notices.sms import LocmemSmsBackend
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
NOON = datetime(2026, 3, 10, 12, 0, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(autouse=True)
def _empty_sms():
    LocmemSmsBackend.outbox.clear()


def sign_in(client, email, language="zh-hans"):
    return client.post(
        reverse("account_login"),
        {"login": email, "password": PASSWORD},
        HTTP_ACCEPT_LANGUAGE=language,
    )


def test_signing_in_twice_in_a_minute_with_an_unverified_phone_is_a_429_saying_when():
    # Each sign-in sends a code to the unverified number, at most one a minute per number.
    UserFactory(email="lin@example.test", phone="13900000021", phone_verified=False)
    with time_machine.travel(NOON, tick=False):
        first = sign_in(Client(), "lin@example.test")
        assert first.status_code == 302 and len(LocmemSmsBackend.outbox) == 1
    with time_machine.travel(NOON.replace(second=20), tick=False):
        second = sign_in(Client(), "lin@example.test")
    assert second.status_code == 429
    assert second["Retry-After"] == "40"
    page = second.content.decode()
    assert "请在 1 分钟后重试" in page and "12:01:00" in page
    assert len(LocmemSmsBackend.outbox) == 1


def test_the_429_page_speaks_english_to_an_english_client():
    UserFactory(email="bob@example.test", phone="13900000022", phone_verified=False)
    with time_machine.travel(NOON, tick=False):
        sign_in(Client(), "bob@example.test", language="en")
        second = sign_in(Client(), "bob@example.test", language="en")
    assert second.status_code == 429
    assert "Please try again in 1 minute, after 12:01:00" in second.content.decode()


def test_after_the_time_the_page_named_the_next_try_goes_through():
    UserFactory(email="wu@example.test", phone="13900000023", phone_verified=False)
    with time_machine.travel(NOON, tick=False):
        sign_in(Client(), "wu@example.test")
        refused = sign_in(Client(), "wu@example.test")
    seconds = int(refused["Retry-After"])
    with time_machine.travel(NOON.timestamp() + seconds + 0.5, tick=False):
        assert sign_in(Client(), "wu@example.test").status_code == 302
    assert len(LocmemSmsBackend.outbox) == 2


def test_too_many_sign_in_posts_from_one_address_get_the_same_page(settings):
    # allauth's own per-IP limit on the sign-in form answers through the URLconf's handler429.
    UserFactory(email="zhao@example.test", phone="13900000024", phone_verified=True)
    client = Client(REMOTE_ADDR="10.9.8.7")
    with time_machine.travel(NOON, tick=False):
        for _ in range(30):
            client.post(reverse("account_login"), {"login": "nobody@example.test", "password": "x"})
            client.cookies.clear()
        refused = client.post(reverse("account_login"), {"login": "zhao@example.test"})
    assert refused.status_code == 429
    assert refused["Retry-After"] == "60"
    assert re.search(r"请在 1 分钟后重试", refused.content.decode())
