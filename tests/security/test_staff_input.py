"""No 500 from staff (or client) input: ids, NUL bytes, lengths, statement periods.

The attacks this pins: `/admin/accounts/assetdeclaration/abc/change/` answered 500; a NUL byte in
the ticket action or KYC flag form reached PostgreSQL and answered 500 with half the work done;
free text was cut short without a word; a statement for the years 1 to 9999 was accepted and
failed later in a task.
"""

import datetime
from importlib import import_module

import pytest
import time_machine
from django import forms
from django.apps import apps
from django.contrib import admin
from django.test import Client, RequestFactory
from django.urls import NoReverseMatch, reverse

from accounts.models import KycCase
from funds.models import Statement
from support import services as support
from support.models import Message, Survey, Ticket
from tests.accounts.factories import submitted_case
from tests.factories import UserFactory
from tests.funds.factories import funded_account, verified_client
from tests.support.factories import open_ticket

pytestmark = pytest.mark.django_db
PROJECT_APPS = ("portal", "accounts", "audit", "notices", "education", "disclosures", "support")
PROJECT_APPS += ("margin", "funds")
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
NUL_REFUSAL = 'data-testid="bad-request"'


# --- ids -----------------------------------------------------------------------------------------


def test_every_admin_page_with_an_id_that_cannot_be_a_key_answers_404(staff):
    root = staff["superuser"]
    tried = 0
    for model in admin.site._registry:
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        for view in ("change", "delete", "history"):
            try:
                url = reverse(f"{prefix}_{view}", args=["abc"])
            except NoReverseMatch:
                continue
            assert root.get(url).status_code == 404, url
            tried += 1
    assert tried > 60
    assert root.get("/admin/accounts/assetdeclaration/abc/change/").status_code == 404


# --- NUL bytes (PostgreSQL cannot store them) ----------------------------------------------------


@pytest.mark.services
def test_a_nul_in_the_ticket_action_form_is_refused_with_a_message(staff, client_alice):
    ticket = open_ticket(client_alice)
    before = Message.objects.count()
    response = staff["agent"].post(
        reverse("admin:support_ticket_act", args=[ticket.pk]),
        {"action": "public", "body": "Hello\x00there"},
    )
    assert response.status_code == 400
    assert NUL_REFUSAL in response.content.decode()
    assert Message.objects.count() == before


@pytest.mark.services
def test_a_nul_in_the_kyc_flag_form_is_refused_with_a_message(staff, client_alice):
    case = submitted_case(client_alice)
    response = staff["kyc_reviewer"].post(
        reverse("admin:accounts_kyccase_flag", args=[case.pk]), {"note": "odd\x00"}
    )
    assert response.status_code == 400 and NUL_REFUSAL in response.content.decode()
    case.refresh_from_db()
    assert case.flagged_by is None


@pytest.mark.services
def test_a_nul_in_an_admin_search_or_a_client_form_is_refused(staff, client_alice):
    search = staff["compliance"].get(reverse("admin:support_ticket_changelist"), {"q": "a\x00"})
    assert search.status_code == 400
    browser = Client()
    browser.force_login(client_alice)
    response = browser.post(
        reverse("support:ticket-new"), {"type": "question", "subject": "Hi\x00", "body": "x"}
    )
    assert response.status_code == 400 and not Ticket.objects.exists()


# --- lengths: enforced with a message, never cut short -------------------------------------------


def _project_form_classes():
    for app in PROJECT_APPS:
        for module_name in ("forms", "admin"):
            try:
                module = import_module(f"{app}.{module_name}")
            except ModuleNotFoundError:
                continue
            for obj in vars(module).values():
                if (
                    isinstance(obj, type)
                    and issubclass(obj, forms.BaseForm)
                    and obj.__module__ == module.__name__
                ):
                    yield obj


def _unbounded(form_class) -> list[str]:
    return [
        name
        for name, field in form_class.base_fields.items()
        if isinstance(field, forms.CharField)
        and not isinstance(field, (forms.UUIDField, forms.JSONField))
        # A password is hashed, never stored as typed.
        and not isinstance(field.widget, forms.PasswordInput)
        and field.max_length is None
    ]


def test_every_free_text_field_of_the_portals_forms_has_a_length_limit():
    unbounded = {
        cls.__qualname__: _unbounded(cls) for cls in _project_form_classes() if _unbounded(cls)
    }
    assert unbounded == {}


def test_every_free_text_field_of_every_admin_form_has_a_length_limit(staff_users):
    request = RequestFactory().get("/")
    request.user = staff_users["superuser"]
    unbounded = {}
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in PROJECT_APPS:
            continue
        found = _unbounded(model_admin.get_form(request))
        if found:
            unbounded[model._meta.label] = found
    assert unbounded == {}


def test_a_long_agent_reply_is_refused_with_a_message_and_nothing_is_stored(staff, client_alice):
    ticket = open_ticket(client_alice)
    before = Message.objects.count()
    page = staff["agent"].post(
        reverse("admin:support_ticket_act", args=[ticket.pk]),
        {"action": "public", "body": "长" * (support.MAX_BODY + 1)},
        follow=True,
    )
    assert "10000" in page.content.decode()
    assert Message.objects.count() == before


def test_a_long_ticket_subject_is_refused_not_cut(client_alice):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="200"):
        support.ticket_open(
            client=client_alice, type="question", subject="题" * 201, body="Please help."
        )
    assert not Ticket.objects.exists()


def test_a_long_survey_comment_is_refused_not_cut(client_alice, staff_users):
    from django.core.exceptions import ValidationError

    ticket = open_ticket(client_alice)
    survey = support.ticket_resolve(ticket=ticket, agent=staff_users["agent"])
    with pytest.raises(ValidationError, match="2000"):
        support.survey_answer(survey=survey, rating=5, comment="好" * 2001)
    assert Survey.objects.get(pk=survey.pk).answered_at is None


def test_a_long_kyc_flag_note_is_refused_with_a_message(staff, client_alice):
    case = submitted_case(client_alice)
    page = staff["kyc_reviewer"].post(
        reverse("admin:accounts_kyccase_flag", args=[case.pk]), {"note": "n" * 201}, follow=True
    )
    assert "200" in page.content.decode()
    assert KycCase.objects.get(pk=case.pk).flagged_by is None


# --- statement periods ---------------------------------------------------------------------------


@pytest.fixture
def alice_with_account(db):
    user = verified_client("林岚", email="alice.funds@example.test")
    funded_account(user)
    browser = Client()
    browser.force_login(user)
    return browser


@pytest.mark.parametrize(
    ("start", "end", "accepted"),
    [
        ("0001-01-01", "9999-12-31", False),  # the attack: years 1 to 9999
        ("2026-11-01", "2026-12-06", False),  # ends tomorrow
        ("2025-12-05", "2026-12-05", True),  # 366 days counting both ends
        ("2025-12-04", "2026-12-05", False),  # 367 days
        ("2016-12-01", "2016-12-31", False),  # more than ten years back
        ("2026-12-01", "2026-11-30", False),  # ends before it starts
    ],
)
def test_a_statement_period_is_bounded_at_the_form(alice_with_account, start, end, accepted):
    today = datetime.datetime(2026, 12, 5, 10, 0, tzinfo=SHANGHAI)
    with time_machine.travel(today, tick=False):
        response = alice_with_account.post(
            reverse("funds:statement-request"), {"start": start, "end": end}, follow=True
        )
    assert response.status_code == 200
    assert Statement.objects.exists() is accepted


def test_the_statement_service_refuses_a_period_over_a_year_whoever_calls_it():
    from funds import statements

    account = funded_account(UserFactory(email="svc@example.test"))
    with pytest.raises(ValueError, match="366"):
        statements.statement_request(
            margin_account=account,
            start=datetime.date(1, 1, 1),
            end=datetime.date(9999, 12, 31),
        )


def test_project_apps_are_the_ones_installed():
    installed = {a.name for a in apps.get_app_configs()}
    assert set(PROJECT_APPS) <= installed
