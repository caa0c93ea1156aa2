"""What the crawl found answering 500, each fixed where it arose, each kept fixed here."""

import pytest
from django.test import Client
from django.urls import reverse

import audit
from education.models import CourseVersion
from notices.models import Notification
from tests.disclosures import factories as disclosure_factories
from tests.education import factories as education
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def frank(db):
    return disclosure_factories.staff(email="frank-crawl@example.test", full_name="方正")


def test_asking_for_a_sign_in_code_with_neither_address_nor_number_says_so():
    response = Client().post(reverse("account_request_login_code"), {}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "Enter your email address or your mobile number." in response.content.decode()


@pytest.mark.parametrize("next_url", ["-99999999999999999999", "notices:list", "//evil.example/"])
def test_marking_notices_read_with_a_stray_next_goes_back_to_the_list(client, next_url):
    user = UserFactory()
    client.force_login(user)
    response = client.post(reverse("notices:mark-all-read"), {"next": next_url})
    assert response.status_code == 302 and response["Location"] == reverse("notices:list")


def test_marking_read_goes_back_to_the_page_it_came_from(client):
    user = UserFactory()
    client.force_login(user)
    response = client.post(reverse("notices:mark-all-read"), {"next": "/support/?page=2"})
    assert response["Location"] == "/support/?page=2"
    assert not Notification.objects.exists()


@pytest.mark.parametrize(
    "changelist",
    [
        "admin:audit_auditentry_changelist",
        "admin:education_gateconfirmation_changelist",
        "admin:notices_notification_changelist",
    ],
)
def test_a_date_filter_beyond_any_calendar_is_a_bad_filter_not_a_server_error(
    client, frank, changelist
):
    audit.record(actor=None, action="demo")
    client.force_login(frank)
    url = reverse(changelist)
    field = "confirmed_at" if "gateconfirmation" in changelist else "created_at"
    response = client.get(url, {f"{field}__year": "-99999999999999999999"})
    assert response.status_code == 302 and response["Location"].endswith("?e=1")


def test_a_published_course_version_is_shown_but_cannot_be_saved(client, gate_world, frank):
    version = CourseVersion.objects.get()
    client.force_login(frank)
    url = reverse("admin:education_courseversion_change", args=[version.pk])
    page = client.get(url)
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert client.post(url, {"pass_mark": "garbage"}).status_code == 403


@pytest.fixture
def gate_world(db):
    return education.documents_in_force(), education.course()
