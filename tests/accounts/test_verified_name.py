"""A client is called by the name KYC verified once it is verified, everywhere they read it;
before that by the email address (or mobile number) they signed in with, never a fragment."""

import pytest
from django.urls import reverse

from accounts import services
from notices.models import Notification
from notices.services import _render
from tests.accounts.factories import approve_all_documents, submitted_case
from tests.factories import UserFactory
from tests.margin.factories import kyc_reviewer

pytestmark = pytest.mark.django_db


def test_before_verification_the_client_is_called_by_their_whole_email(client):
    user = UserFactory(email="newbie1@example.test", full_name="")
    assert user.display_name == "newbie1@example.test"
    client.force_login(user)
    page = client.get(reverse("home")).content.decode()
    assert "newbie1@example.test" in page
    assert ">newbie1<" not in page


def test_a_phone_only_client_is_called_by_their_number():
    user = UserFactory(email="", full_name="", phone="13800000009")
    assert user.display_name == "13800000009"


def test_approval_names_the_client_by_their_verified_name_in_pages_and_emails(client):
    user = UserFactory(email="newbie2@example.test", full_name="", language="zh-hans")
    case = submitted_case(user, legal_name="王小明")
    reviewer = kyc_reviewer()
    approve_all_documents(case, reviewer)
    services.kyc_case_decide(case=case, reviewer=reviewer, decision="approved", reason="verified")
    user.refresh_from_db()
    assert user.display_name == "王小明"
    client.force_login(user)
    assert "王小明" in client.get(reverse("home")).content.decode()
    email = Notification.objects.get(recipient=user, key="kyc_decision", channel="email")
    assert _render(email).body.startswith("王小明")
