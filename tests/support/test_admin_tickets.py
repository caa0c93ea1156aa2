"""Agents in Django admin: the queue, the ticket page, replies, merges, what they may not see."""

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.urls import reverse

from notices.models import Notification
from support.models import CannedReply, Message, SlaClock, Ticket, TicketType
from tests.support.conftest import at
from tests.support.factories import open_ticket, pdf

pytestmark = pytest.mark.django_db


@pytest.fixture
def carol(client, agent_carol):
    TOTP.activate(agent_carol, generate_totp_secret())
    client.force_login(agent_carol)
    return client


@pytest.fixture
def frank(client, compliance_frank):
    TOTP.activate(compliance_frank, generate_totp_secret())
    client.force_login(compliance_frank)
    return client


def act(client, ticket, **data):
    return client.post(reverse("admin:support_ticket_act", args=[ticket.pk]), data)


@pytest.mark.time_machine(at("2026-11-24 10:00"), tick=False)
def test_the_queue_shows_a_live_countdown_and_filters_what_breaches_within_an_hour(
    carol, client_alice
):
    soon = open_ticket(client_alice, subject="Soon")
    later = open_ticket(client_alice, subject="Later")
    SlaClock.objects.filter(ticket=soon, kind="first_response").update(
        due_at=at("2026-11-24 10:40")
    )
    url = reverse("admin:support_ticket_changelist")
    page = carol.get(url).content.decode()
    assert 'class="sla-countdown"' in page and "js/support_admin.js" in page
    filtered = carol.get(url, {"due": "1h"}).content.decode()
    assert "Soon" in filtered and "Later" not in filtered
    assert later.subject in carol.get(url, {"who": "unassigned"}).content.decode()


def test_an_agent_without_the_permission_cannot_see_complaints(carol, client_alice):
    complaint = open_ticket(client_alice, type=TicketType.COMPLAINT, subject="投诉强平")
    question = open_ticket(client_alice, subject="对账单")
    page = carol.get(reverse("admin:support_ticket_changelist")).content.decode()
    assert "对账单" in page and "投诉强平" not in page
    assert carol.get(reverse("admin:support_ticket_change", args=[complaint.pk])).status_code in (
        302,
        404,
    )
    act(carol, complaint, action="internal", body="peek")
    assert complaint.messages.count() == 1
    assert carol.get(reverse("admin:support_ticket_change", args=[question.pk])).status_code == 200


def test_compliance_sees_and_answers_complaints(frank, client_alice):
    complaint = open_ticket(client_alice, type=TicketType.COMPLAINT, subject="投诉强平")
    assert "投诉强平" in frank.get(reverse("admin:support_ticket_changelist")).content.decode()
    act(frank, complaint, action="public", body="我们已受理")
    assert complaint.messages.filter(kind=Message.Kind.PUBLIC).exists()


def test_the_ticket_page_shows_the_whole_conversation_the_clocks_canned_replies_and_client_context(
    carol, client_alice, agent_carol
):
    CannedReply.objects.create(
        title="Statement", body_zh_hans="您的对账单已发送", body_en="Your statement is on its way"
    )
    ticket = open_ticket(client_alice, files=[pdf()])
    act(carol, ticket, action="internal", body="Check the ledger first")
    page = carol.get(reverse("admin:support_ticket_change", args=[ticket.pk])).content.decode()
    assert "Check the ledger first" in page  # internal notes are for staff
    assert "您的对账单已发送" in page  # canned reply in the client's language
    assert 'data-testid="client-context"' in page and 'data-testid="clocks"' in page
    attachment = ticket.messages.first().attachments.get()
    download = carol.get(
        reverse("admin:support_ticket_attachment", args=[ticket.pk, attachment.pk])
    )
    assert download.status_code == 200


def test_a_public_reply_from_admin_stops_the_first_response_clock(carol, client_alice):
    ticket = open_ticket(client_alice)
    response = act(carol, ticket, action="public", body="Here you go")
    assert response.status_code == 302
    assert not ticket.sla_clocks.filter(kind="first_response", stopped_at=None).exists()
    assert Notification.objects.filter(recipient=client_alice, key="support_ticket_reply").exists()


def test_wait_resolve_and_merge_from_admin(carol, client_alice):
    ticket, duplicate = open_ticket(client_alice), open_ticket(client_alice)
    act(carol, ticket, action="wait", body="Please send the slip")
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.WAITING_ON_CLIENT
    asked = act(carol, duplicate, action="merge", merge_into=str(ticket.pk))
    assert asked.status_code == 200  # what the merge does is shown first
    duplicate.refresh_from_db()
    assert duplicate.merged_into is None
    act(carol, duplicate, action="merge", merge_into=str(ticket.pk), confirmed="1")
    duplicate.refresh_from_db()
    assert duplicate.merged_into == ticket
    page = carol.get(reverse("admin:support_ticket_change", args=[ticket.pk]))
    assert f'data-testid="merged-{duplicate.pk}"' in page.content.decode()
    act(carol, ticket, action="resolve", confirmed="1")
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.RESOLVED


def test_an_empty_reply_is_refused_with_a_message_and_nothing_changes(carol, client_alice):
    ticket = open_ticket(client_alice)
    response = act(carol, ticket, action="public", body="  ")
    assert response.status_code == 302
    assert ticket.messages.count() == 1
    assert ticket.sla_clocks.filter(kind="first_response", stopped_at=None).exists()


def test_assigning_in_the_form_goes_through_the_service(carol, client_alice, agent_carol):
    ticket = open_ticket(client_alice)
    carol.post(
        reverse("admin:support_ticket_changelist"),
        {"action": "assign_to_me", "_selected_action": [ticket.pk]},
    )
    ticket.refresh_from_db()
    assert ticket.assignee == agent_carol


def test_survey_results_are_listed_for_staff(carol, client_alice, agent_carol):
    from support import services

    survey = services.ticket_resolve(ticket=open_ticket(client_alice), agent=agent_carol)
    services.survey_answer(survey=survey, rating=5)
    page = carol.get(reverse("admin:support_survey_changelist")).content.decode()
    assert "5" in page


@pytest.mark.time_machine(at("2026-11-24 10:00"), tick=False)
def test_the_queue_tells_staff_that_2027_has_no_holiday_data_yet(carol):
    page = carol.get(reverse("admin:support_ticket_changelist")).content.decode()
    assert "2027" in page


def test_an_agent_without_the_export_permission_cannot_export_for_a_regulator(carol, client_alice):
    ticket = open_ticket(client_alice)
    act(carol, ticket, action="export")
    assert not ticket.exports.exists()


def test_compliance_exports_a_disputes_full_history_with_internal_notes(frank, client_alice):
    from support import services
    from support.models import TicketExport

    dispute = open_ticket(client_alice, type=TicketType.DISPUTE, subject="成交价格争议")
    act(frank, dispute, action="internal", body="内部核查：成交记录已调取")
    act(frank, dispute, action="export")
    export = TicketExport.objects.get(ticket=dispute, audience="regulator")
    services.ticket_export_render(export_id=export.pk)
    response = frank.get(reverse("admin:support_ticket_export", args=[dispute.pk, export.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF-")


def test_the_agent_sees_the_clients_onboarding_state(client_alice, client_bob):
    from django.utils import translation

    from support.selectors import client_context
    from tests.accounts.factories import submitted_case

    submitted_case(client_alice)
    with translation.override("en"):
        assert client_context(client=client_alice).kyc_state == "Submitted, awaiting review"
        assert client_context(client=client_bob).kyc_state == "No onboarding case yet"
