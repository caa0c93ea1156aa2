"""Staff lists are pages of `LIST_PER_PAGE` rows, and their row checkbox is Django's own markup.

`PortalModelAdmin.action_checkbox` writes the checkbox with one `format_html` instead of the form
widget's two templates (a third of a 100-row list's server time): the markup must stay the one
Django's admin JavaScript and tests expect, for any object's text, escaped.
"""

import pytest
from django.contrib import admin
from django.contrib.admin import ModelAdmin
from django.test import Client

from notices.models import Notification
from portal.admin_mixins import LIST_PER_PAGE, PortalModelAdmin
from support.models import Ticket
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


class _Named:
    def __init__(self, pk, text):
        self.pk, self.text = pk, text

    def __str__(self):
        return self.text


@pytest.mark.parametrize("text", ["工单 #7 对账单", 'a "quoted" <b>name</b> & more', ""])
def test_the_row_checkbox_is_djangos_own_markup(text):
    obj = _Named(7, text)
    ours = PortalModelAdmin(Ticket, admin.site).action_checkbox(obj)
    djangos = ModelAdmin(Ticket, admin.site).action_checkbox(obj)
    assert str(ours) == str(djangos)


def test_every_registered_admin_pages_its_list():
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label in {"auth", "account", "mfa"}:
            continue  # the libraries' own admins (groups, e-mail addresses, authenticators)
        assert isinstance(model_admin, PortalModelAdmin), model
        assert model_admin.list_per_page <= LIST_PER_PAGE, model


def test_the_outbox_list_shows_one_page_and_counts_the_rest():
    officer = UserFactory(role="compliance")
    from allauth.mfa.totp.internal.auth import TOTP

    TOTP.activate(officer, "JBSWY3DPEHPK3PXP")
    client = UserFactory()
    Notification.objects.bulk_create(
        Notification(
            recipient=client,
            channel="inapp",
            key="announcement",
            context={},
            idempotency_key=f"page-test:{n}",
        )
        for n in range(LIST_PER_PAGE + 5)
    )
    browser = Client()
    browser.force_login(officer)
    first = browser.get("/admin/notices/notification/")
    assert first.status_code == 200
    assert len(first.context["cl"].result_list) == LIST_PER_PAGE
    second = browser.get("/admin/notices/notification/?p=2")
    assert len(second.context["cl"].result_list) == 5
