"""The admin index is each role's dashboard: the panels of its job, each figure linked."""

import pytest
from django.urls import reverse

from tests.funds.factories import funded_account, verified_client
from tests.security.conftest import STAFF_ROLES
from tests.support.factories import open_ticket

pytestmark = pytest.mark.django_db

PANELS = {
    "agent": {"support", "risk"},
    "kyc_reviewer": {"kyc"},
    "risk_officer": {"risk"},
    "compliance": {"support", "kyc", "risk", "compliance"},
}
ALL = {"support", "kyc", "risk", "compliance"}


@pytest.fixture
def book(db):
    client = verified_client("林岚")
    open_ticket(client)
    return funded_account(client, cash="1000.00")


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_each_role_sees_the_dashboard_of_its_job(staff, book, role):
    html = staff[role].get(reverse("admin:index")).content.decode()
    shown = {key for key in ALL if f'data-testid="panel-{key}"' in html}
    assert shown == PANELS[role]


def test_the_agent_sees_the_queue_load_and_the_unassigned_ticket(staff, book):
    html = staff["agent"].get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    text = html.content.decode()
    assert "?who=unassigned" in text and "?due=breached" in text


def test_the_risk_officer_reaches_the_stress_page_and_the_weekly_report_in_one_click(staff, book):
    text = staff["risk_officer"].get(reverse("admin:index")).content.decode()
    assert reverse("admin:margin_marginaccount_stress") in text
    assert reverse("admin:margin_riskreport_changelist") in text
    assert (
        staff["risk_officer"].get(reverse("admin:margin_marginaccount_stress")).status_code == 200
    )


def test_the_reviewer_queue_opens_on_what_needs_a_decision(staff, db):
    from accounts.models import KycCase

    waiting = verified_client("王待审")
    KycCase.objects.filter(user=waiting).update(status=KycCase.Status.SUBMITTED)
    decided = verified_client("赵已过")
    queue = staff["kyc_reviewer"].get(reverse("admin:accounts_kyccase_changelist"))
    text = queue.content.decode()
    assert "王待审" in text and "赵已过" not in text
    everything = staff["kyc_reviewer"].get(
        reverse("admin:accounts_kyccase_changelist"), {"needs": "all"}
    )
    assert "赵已过" in everything.content.decode()
    assert decided.kyc_case.status == KycCase.Status.APPROVED
