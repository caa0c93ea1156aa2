import re

import pytest
from django.urls import reverse

from accounts.adapter import normalise_mainland_phone
from notices.sms import LocmemSmsBackend
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
CODE = re.compile(r"\b(\d{6})\b")


@pytest.fixture(autouse=True)
def _empty_sms():
    LocmemSmsBackend.outbox.clear()


@pytest.mark.parametrize(
    "raw", ["13800000001", "+86 138 0000 0001", "8613800000001", "0086-138-0000-0001"]
)
def test_mainland_numbers_are_normalised(raw):
    assert normalise_mainland_phone(raw) == "13800000001"


@pytest.mark.parametrize("raw", ["12800000001", "1380000000", "+1 415 555 0100", "abc"])
def test_other_numbers_are_refused(raw):
    from django import forms

    with pytest.raises(forms.ValidationError):
        normalise_mainland_phone(raw)


def _last_code():
    return CODE.search(LocmemSmsBackend.outbox[-1].text).group(1)


def test_client_adds_and_verifies_a_phone_by_sms_code(client):
    user = UserFactory(email="p@example.test")
    client.force_login(user)
    response = client.post(reverse("account_change_phone"), {"phone": "139 0000 0009"})
    assert response.status_code == 302
    assert LocmemSmsBackend.outbox[-1].phone == "13900000009"
    client.post(reverse("account_verify_phone"), {"code": _last_code()})
    user.refresh_from_db()
    assert (user.phone, user.phone_verified) == ("13900000009", True)


def test_wrong_codes_are_limited(client):
    user = UserFactory(email="p2@example.test")
    client.force_login(user)
    client.post(reverse("account_change_phone"), {"phone": "13900000008"})
    for _ in range(3):
        client.post(reverse("account_verify_phone"), {"code": "000000"})
    client.post(reverse("account_verify_phone"), {"code": _last_code()})
    user.refresh_from_db()
    assert not user.phone_verified


def test_login_by_phone_code(client):
    UserFactory(email="p3@example.test", phone="13900000007", phone_verified=True)
    response = client.post(reverse("account_request_login_code"), {"phone": "13900000007"})
    assert response.status_code == 302
    assert LocmemSmsBackend.outbox[-1].phone == "13900000007"
    response = client.post(reverse("account_confirm_login_code"), {"code": _last_code()})
    assert response.status_code == 302
    assert client.get(reverse("accounts:settings")).status_code == 200


def test_sms_sending_is_rate_limited_per_number():
    from django.test import Client

    UserFactory(email="p4@example.test", phone="13900000006", phone_verified=True)
    for n in range(3):
        Client(REMOTE_ADDR=f"10.0.0.{n}").post(
            reverse("account_request_login_code"), {"phone": "13900000006"}
        )
    # one code a minute per number, whatever the IP
    assert len(LocmemSmsBackend.outbox) == 1


def test_sms_sending_is_rate_limited_per_ip():
    from django.test import Client

    for n in range(12):
        UserFactory(email=f"ip{n}@example.test", phone=f"139000001{n:02d}", phone_verified=True)
        Client(REMOTE_ADDR="10.9.9.9").post(
            reverse("account_request_login_code"), {"phone": f"139000001{n:02d}"}
        )
    assert len(LocmemSmsBackend.outbox) == 10


def test_phone_codes_expire(client):
    import time_machine
    from django.utils import timezone

    user = UserFactory(email="p5@example.test")
    client.force_login(user)
    client.post(reverse("account_change_phone"), {"phone": "13900000005"})
    code = _last_code()
    with time_machine.travel(timezone.now() + timezone.timedelta(seconds=601)):
        client.post(reverse("account_verify_phone"), {"code": code})
    user.refresh_from_db()
    assert not user.phone_verified


def test_sign_up_with_a_phone_verifies_it_by_sms(client, django_capture_on_commit_callbacks):
    from accounts.models import User
    from tests.factories import PASSWORD

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("account_signup"),
            {
                "email": "phone-signup@example.test",
                "phone": "139-0000-0004",
                "password1": PASSWORD,
                "password2": PASSWORD,
            },
        )
    assert response.status_code == 302
    user = User.objects.get(email="phone-signup@example.test")
    assert (user.phone, user.phone_verified) == ("13900000004", False)
    assert LocmemSmsBackend.outbox and LocmemSmsBackend.outbox[-1].phone == "13900000004"
    client.post(reverse("account_verify_phone"), {"code": _last_code()})
    user.refresh_from_db()
    assert user.phone_verified
