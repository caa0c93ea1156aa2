"""Every file URL × every role × another client: only the owner and the staff whose job needs it
get the bytes.

The attack this pins: a KYC reviewer or a risk officer counting ids through
`/admin/support/ticket/<t>/attachment/<a>/` downloaded any client's ticket attachments, because
that view asked only "is this staff?". Every file view now asks portal.files.may_view the same
question the object's own page asks.
"""

import datetime
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import links
from accounts import services as accounts
from funds.models import Statement
from margin.models import RiskReport
from support.models import TicketExport, TicketType
from tests.accounts.factories import submitted_case, upload
from tests.education import factories as education
from tests.factories import UserFactory
from tests.funds.factories import funded_account
from tests.security.conftest import STAFF_ROLES
from tests.support.factories import open_ticket, pdf

pytestmark = pytest.mark.django_db

VIEWERS = ("owner", "other_client", *STAFF_ROLES)
PDF = b"%PDF-1.4\n% a stored file\n%%EOF\n"


@pytest.fixture
def files(client_alice, staff_users):
    """One of each file alice owns, and the URL (per viewer, for signed links) that serves it."""
    question = open_ticket(client_alice, files=[pdf("question.pdf")])
    complaint = open_ticket(client_alice, type=TicketType.COMPLAINT, files=[pdf("complaint.pdf")])
    dispute = open_ticket(client_alice, type=TicketType.DISPUTE)
    [question_file] = question.messages.get().attachments.all()
    [complaint_file] = complaint.messages.get().attachments.all()

    def export(ticket, audience):
        return TicketExport.objects.create(
            ticket=ticket,
            audience=audience,
            content_hash="0" * 64,
            file=ContentFile(PDF, name=f"{audience}.pdf"),
            requested_by=staff_users["compliance"],
            ready_at=timezone.now(),
        )

    regulator = export(question, TicketExport.Audience.REGULATOR)
    client_copy = export(dispute, TicketExport.Audience.CLIENT)

    case = submitted_case(client_alice)
    kyc_image = case.documents.first()
    declaration = accounts.asset_declaration_submit(
        user=client_alice, average_assets=Decimal("600000"), evidence=upload()
    )
    account = funded_account(client_alice)
    statement = Statement.objects.create(
        margin_account=account,
        period_start=datetime.date(2026, 11, 1),
        period_end=datetime.date(2026, 11, 30),
        pdf=ContentFile(PDF, name="statement.pdf"),
    )
    education.documents_in_force()
    confirmation = education.through_gate(client_alice)
    confirmation.receipt_path = default_storage.save("receipts/alice.pdf", ContentFile(PDF))
    type(confirmation).objects.filter(pk=confirmation.pk).update(
        receipt_path=confirmation.receipt_path
    )
    report = RiskReport.objects.create(
        week_starts_on=datetime.date(2026, 11, 23),
        pdf=ContentFile(PDF, name="report.pdf"),
        sha256="0" * 64,
    )

    def fixed(url):
        return lambda viewer: url

    return {
        # name: (url for a viewer, who gets the bytes)
        "ticket attachment (admin)": (
            fixed(reverse("admin:support_ticket_attachment", args=[question.pk, question_file.pk])),
            {"agent", "compliance"},
        ),
        "ticket attachment (client)": (
            fixed(reverse("support:attachment", args=[question_file.pk])),
            {"owner"},
        ),
        "complaint attachment (admin)": (
            fixed(
                reverse("admin:support_ticket_attachment", args=[complaint.pk, complaint_file.pk])
            ),
            {"compliance"},
        ),
        "complaint attachment (client)": (
            fixed(reverse("support:attachment", args=[complaint_file.pk])),
            {"owner"},
        ),
        "ticket export for a regulator": (
            fixed(reverse("admin:support_ticket_export", args=[question.pk, regulator.pk])),
            {"compliance"},
        ),
        "dispute PDF for the client": (
            fixed(reverse("support:export-download", args=[dispute.pk, client_copy.pk])),
            {"owner"},
        ),
        "KYC identity image": (
            lambda viewer: links.document_url(kind="kyc", pk=kyc_image.pk, viewer_id=viewer.pk),
            {"owner", "kyc_reviewer", "compliance"},
        ),
        "asset evidence": (
            lambda viewer: links.document_url(
                kind="assets", pk=declaration.pk, viewer_id=viewer.pk
            ),
            {"owner", "kyc_reviewer"},
        ),
        "statement": (fixed(reverse("funds:statement-download", args=[statement.pk])), {"owner"}),
        "gate receipt": (fixed(reverse("education:receipt", args=[confirmation.pk])), {"owner"}),
        "weekly risk report": (
            fixed(reverse("admin:margin_riskreport_download", args=[report.pk])),
            {"risk_officer", "compliance"},
        ),
    }


@pytest.fixture
def viewers(client_alice, staff, staff_users):
    other = UserFactory(email="mallory@example.test")
    people = {"owner": client_alice, "other_client": other, **staff_users}
    browsers = {}
    for name in VIEWERS:
        if name in staff:
            browsers[name] = staff[name]
        else:
            browsers[name] = Client()
            browsers[name].force_login(people[name])
    return {name: (people[name], browsers[name]) for name in VIEWERS}


def _body(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def test_every_file_reaches_only_its_owner_and_the_staff_whose_job_needs_it(files, viewers):
    outcome = {}
    for name, (url_for, _allowed) in files.items():
        for viewer, (person, browser) in viewers.items():
            response = browser.get(url_for(person))
            got_bytes = response.status_code == 200
            if got_bytes:
                assert "no-store" in response["Cache-Control"], (name, viewer)
                assert len(_body(response)) > 0
            outcome[name, viewer] = got_bytes
    expected = {
        (name, viewer): viewer in allowed
        for name, (_url, allowed) in files.items()
        for viewer in VIEWERS
    }
    wrong = sorted(key for key in expected if outcome[key] != expected[key])
    assert wrong == [], wrong


def test_staff_counting_attachment_ids_reach_only_tickets_their_role_may_see(client_alice, staff):
    from support.models import Attachment

    question = open_ticket(client_alice, files=[pdf("question.pdf")])
    complaint = open_ticket(client_alice, type=TicketType.COMPLAINT, files=[pdf("complaint.pdf")])
    last = Attachment.objects.order_by("-pk").first().pk
    for role, browser in staff.items():
        reached = set()
        for ticket in (question, complaint):
            for attachment_pk in range(1, last + 3):
                url = reverse("admin:support_ticket_attachment", args=[ticket.pk, attachment_pk])
                if browser.get(url).status_code == 200:
                    reached.add(attachment_pk)
        visible = {"agent": [question], "compliance": [question, complaint]}.get(role, [])
        if role == "superuser":
            visible = [question, complaint]
        expected = set(
            Attachment.objects.filter(message__ticket__in=visible).values_list("pk", flat=True)
        )
        assert reached == expected, role
