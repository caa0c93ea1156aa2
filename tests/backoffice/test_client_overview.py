"""One page per client: each role sees the parts its job reads and nothing more, and every object
that belongs to a client leads there."""

import pytest
from django.urls import reverse

from accounts import security_alerts
from accounts.models import KycCase
from accounts.services import id_number_index
from tests.funds.factories import funded_account, verified_client
from tests.security.conftest import STAFF_ROLES
from tests.support.factories import open_ticket

pytestmark = pytest.mark.django_db

# What each role's page holds (data-testid="client-part-<key>") and must not hold.
SEES = {
    "agent": {"tickets", "events", "calls", "restrictions", "contracts", "receipts"},
    "kyc_reviewer": {"consents", "assets"},
    "risk_officer": {"events", "calls", "withdrawals", "plans", "banks", "contracts"},
    "compliance": {"tickets", "notices", "audit", "consents", "events", "withdrawals", "gate"},
}
NEVER = {
    "agent": {"notices", "audit", "consents", "withdrawals", "banks", "gate", "assets"},
    "kyc_reviewer": {"tickets", "notices", "audit", "withdrawals", "events"},
    "risk_officer": {"notices", "audit", "consents", "tickets", "gate"},
    "compliance": set(),
}
ID_NUMBER = "11010519491231002X"


@pytest.fixture
def lin(db):
    user = verified_client("林岚", email="lin.lan@example.test", phone="13800138000")
    KycCase.objects.filter(user=user).update(id_number_index=id_number_index(ID_NUMBER))
    account = funded_account(user, cash="50000.00", debt="20000.00")
    ticket = open_ticket(user)
    security_alerts.security_alert(user=user, event="password_changed", key="lin")
    return {"user": user, "account": account, "ticket": ticket}


def page(browser, user):
    return browser.get(reverse("backoffice:client", args=[user.pk]))


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_each_role_sees_the_parts_of_the_client_its_job_reads(staff, lin, role):
    response = page(staff[role], lin["user"])
    assert response.status_code == 200
    html = response.content.decode()
    shown = {key for key in SEES[role] | NEVER[role] if f'data-testid="client-part-{key}"' in html}
    assert SEES[role] <= shown, (role, SEES[role] - shown)
    assert not (NEVER[role] & shown), (role, NEVER[role] & shown)


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_the_page_masks_contact_details_for_every_role(staff, lin, role):
    html = page(staff[role], lin["user"]).content.decode()
    assert "13800138000" not in html and "lin.lan@example.test" not in html
    assert "138****8000" in html and "l***@example.test" in html


def test_margin_status_reads_in_yuan_and_percent(staff, lin):
    html = page(staff["risk_officer"], lin["user"]).content.decode()
    assert "¥50,000.00" in html and "¥20,000.00" in html


def test_staff_without_a_client_reading_role_is_refused(db, lin):
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from django.test import Client

    from tests.factories import UserFactory

    nobody = UserFactory(email="nobody@staff.example.test", is_staff=True)
    TOTP.activate(nobody, generate_totp_secret())
    browser = Client()
    browser.force_login(nobody)
    assert page(browser, lin["user"]).status_code == 403
    assert browser.get(reverse("backoffice:search"), {"q": "林岚"}).status_code == 403


def test_a_staff_member_has_no_client_page(staff, staff_users):
    response = page(staff["compliance"], staff_users["agent"])
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("role", "url_name", "key"),
    [
        ("agent", "admin:support_ticket_change", "ticket"),
        ("agent", "admin:margin_marginaccount_change", "account"),
        ("risk_officer", "admin:margin_margincontract_change", "contract"),
        ("kyc_reviewer", "admin:accounts_kyccase_change", "case"),
        ("compliance", "admin:notices_notification_change", "notification"),
    ],
)
def test_objects_that_belong_to_a_client_link_to_the_client_page(staff, lin, role, url_name, key):
    objects = {
        "ticket": lin["ticket"],
        "account": lin["account"],
        "contract": lin["account"].contracts.first(),
        "case": lin["user"].kyc_case,
        "notification": lin["user"].notifications.first(),
    }
    html = staff[role].get(reverse(url_name, args=[objects[key].pk])).content.decode()
    assert reverse("backoffice:client", args=[lin["user"].pk]) in html
