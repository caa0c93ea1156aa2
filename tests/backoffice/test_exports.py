"""Lists go out as CSV and Excel: what the list shows, to whoever may read it, audited."""

import csv
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from audit.models import AuditEntry
from support.models import Ticket
from tests.funds.factories import funded_account, verified_client
from tests.support.factories import open_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def accounts(db):
    return [
        funded_account(verified_client("林岚"), cash="123456.78", debt="1000.00"),
        funded_account(verified_client("王博"), cash="10.00"),
    ]


def export(browser, url_name, rows, action, **headers):
    return browser.post(
        reverse(url_name),
        {"action": action, "_selected_action": [row.pk for row in rows]},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
        **headers,
    )


def test_a_risk_officer_exports_margin_accounts_to_csv_as_the_list_shows_them(staff, accounts):
    response = export(
        staff["risk_officer"], "admin:margin_marginaccount_changelist", accounts, "export_csv"
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    table = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert "现金" in table[0]
    assert any("¥123,456.78" in row for row in table[1:])
    assert len(table) == 3


def test_the_excel_export_opens_with_the_same_rows(staff, accounts):
    response = export(
        staff["risk_officer"], "admin:margin_marginaccount_changelist", accounts, "export_xlsx"
    )
    book = load_workbook(io.BytesIO(response.content))
    rows = list(book.active.iter_rows(values_only=True))
    assert len(rows) == 3 and "现金" in rows[0]


def test_every_export_is_in_the_audit_trail(staff, staff_users, accounts):
    export(staff["risk_officer"], "admin:margin_marginaccount_changelist", accounts, "export_csv")
    entry = AuditEntry.objects.get(action="admin.exported")
    assert entry.actor == staff_users["risk_officer"]
    assert entry.object_type == "margin.marginaccount"
    assert entry.data == {"format": "csv", "rows": 2}


def test_an_agents_export_holds_no_compliance_ticket(staff, db):
    client = verified_client("林岚")
    ordinary, complaint = open_ticket(client), open_ticket(client)
    Ticket.objects.filter(pk=complaint.pk).update(queue="compliance")
    response = export(
        staff["agent"], "admin:support_ticket_changelist", [ordinary, complaint], "export_csv"
    )
    text = response.content.decode("utf-8")
    assert f"#{ordinary.pk}" in text and f"#{complaint.pk}" not in text


def test_a_role_that_cannot_read_a_list_cannot_export_it(staff, accounts):
    response = export(
        staff["kyc_reviewer"], "admin:margin_marginaccount_changelist", accounts, "export_csv"
    )
    assert response.status_code == 403
