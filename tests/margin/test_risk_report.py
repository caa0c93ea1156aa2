"""The weekly risk report is rendered once per week, kept, audited and served to risk staff."""

import datetime

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.contrib.auth.models import Group
from django.urls import reverse

from audit.models import AuditEntry
from margin import reports
from margin.models import RiskReport
from tests.factories import UserFactory
from tests.margin.conftest import make_account

pytestmark = pytest.mark.django_db
MONDAY = datetime.date(2026, 11, 16)


def test_last_week_starts_on_the_previous_monday():
    assert reports.last_week_start(datetime.date(2026, 11, 26)) == MONDAY


def test_the_weekly_report_is_a_pdf_made_once_and_audited(client, client_alice):
    make_account(client_alice)
    report = reports.risk_report_weekly(week_starts_on=MONDAY)
    again = reports.risk_report_weekly(week_starts_on=MONDAY)
    assert again.pk == report.pk
    assert RiskReport.objects.count() == 1
    with report.pdf.open("rb") as handle:
        assert handle.read(5) == b"%PDF-"
    assert AuditEntry.objects.filter(action="margin.risk_report_created").count() == 1

    officer = UserFactory(role="risk_officer")
    officer.groups.add(Group.objects.get(name="risk_officer"))
    TOTP.activate(officer, "JBSWY3DPEHPK3PXP")
    client.force_login(officer)
    response = client.get(reverse("admin:margin_riskreport_download", args=[report.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    agent = UserFactory(role="agent")
    agent.groups.add(Group.objects.get(name="agent"))
    TOTP.activate(agent, "JBSWY3DPEHPK3PXP")
    client.force_login(agent)
    response = client.get(reverse("admin:margin_riskreport_download", args=[report.pk]))
    assert response.status_code == 404  # a file refused is a file not found (portal.files)
