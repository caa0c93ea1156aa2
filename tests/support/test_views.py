"""The client's pages: open, read, reply, close, reopen, rate; and nobody else's tickets."""

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

from support import services
from support.models import Survey, Ticket, TicketType
from tests.support.conftest import at
from tests.support.factories import open_ticket, pdf

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(client, client_alice):
    client.force_login(client_alice)
    return client


@pytest.mark.time_machine(at("2026-11-24 10:00"), tick=False)
def test_alice_opens_a_ticket_and_sees_the_promise_in_her_language(alice, client_alice):
    response = alice.post(
        reverse("support:ticket-new"),
        {
            "type": "question",
            "subject": "对账单",
            "body": "请问上月对账单在哪里？",
            "attachments": [pdf()],
        },
    )
    ticket = Ticket.objects.get()
    assert response.url == reverse("support:ticket-detail", args=[ticket.pk])
    page = alice.get(response.url).content.decode()
    assert "最晚首次回复" in page and "今天 15:00" in page
    assert "contract.pdf" in page


@pytest.mark.time_machine(at("2026-11-24 10:00"), tick=False)
def test_bob_reads_his_promise_in_english(client, client_bob):
    ticket = open_ticket(client_bob)
    client.force_login(client_bob)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(reverse("support:ticket-detail", args=[ticket.pk])).content.decode()
    assert "First reply by" in page and "today at 15:00" in page


def test_a_bad_upload_is_refused_on_the_form_and_nothing_is_stored(alice):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = alice.post(
        reverse("support:ticket-new"),
        {
            "type": "question",
            "subject": "s",
            "body": "b",
            "attachments": [SimpleUploadedFile("x.png", b"not an image")],
        },
    )
    assert response.status_code == 200
    assert "x.png" in response.content.decode()
    assert not Ticket.objects.exists()


def test_complaints_show_the_handling_process_and_the_outside_escalation_path(alice, client_alice):
    ticket = open_ticket(client_alice, type=TicketType.COMPLAINT)
    page = alice.get(reverse("support:ticket-detail", args=[ticket.pk])).content.decode()
    assert 'data-testid="complaint-process"' in page
    assert "12386" in page
    question = open_ticket(client_alice)
    assert (
        "12386"
        not in alice.get(reverse("support:ticket-detail", args=[question.pk])).content.decode()
    )


def test_bob_cannot_see_reply_to_close_or_download_from_alices_ticket(
    client, client_alice, client_bob
):
    ticket = open_ticket(client_alice, files=[pdf()])
    attachment = ticket.messages.get().attachments.get()
    client.force_login(client_bob)
    assert client.get(reverse("support:ticket-detail", args=[ticket.pk])).status_code == 404
    assert client.get(reverse("support:ticket-conversation", args=[ticket.pk])).status_code == 404
    assert (
        client.post(reverse("support:ticket-reply", args=[ticket.pk]), {"body": "x"}).status_code
        == 404
    )
    assert client.post(reverse("support:ticket-close", args=[ticket.pk])).status_code == 404
    assert client.post(reverse("support:ticket-reopen", args=[ticket.pk])).status_code == 404
    assert client.get(reverse("support:attachment", args=[attachment.pk])).status_code == 404
    assert ticket.messages.count() == 1
    assert "对账单" not in client.get(reverse("support:index")).content.decode()


def test_alice_downloads_her_own_attachment(alice, client_alice):
    ticket = open_ticket(client_alice, files=[pdf()])
    attachment = ticket.messages.get().attachments.get()
    response = alice.get(reverse("support:attachment", args=[attachment.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF-")


def test_internal_notes_never_show_on_the_client_page(alice, client_alice, agent_carol):
    ticket = open_ticket(client_alice)
    services.ticket_agent_reply(
        ticket=ticket, agent=agent_carol, body="Client is a related party", internal=True
    )
    services.ticket_agent_reply(ticket=ticket, agent=agent_carol, body="Your statement is attached")
    for name in ("support:ticket-detail", "support:ticket-conversation"):
        page = alice.get(reverse(name, args=[ticket.pk])).content.decode()
        assert "Your statement is attached" in page
        assert "related party" not in page


def test_alice_replies_closes_and_reopens(alice, client_alice):
    ticket = open_ticket(client_alice)
    alice.post(reverse("support:ticket-reply", args=[ticket.pk]), {"body": "More detail"})
    assert ticket.messages.count() == 2
    alice.post(reverse("support:ticket-close", args=[ticket.pk]))
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CLOSED
    alice.post(reverse("support:ticket-reopen", args=[ticket.pk]))
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN


def test_following_the_survey_link_does_not_vote_only_the_confirming_post_does(
    client, client_alice, agent_carol
):
    survey = services.ticket_resolve(ticket=open_ticket(client_alice), agent=agent_carol)
    url = reverse("support:survey", args=[survey.token])
    assert client.get(url).status_code == 200
    client.head(url)
    survey.refresh_from_db()
    assert survey.answered_at is None
    client.post(url, {"rating": "4", "comment": "ok"})
    survey.refresh_from_db()
    assert survey.rating == 4
    assert client.get(reverse("support:survey", args=["not-a-token"])).status_code == 404


def test_the_ticket_page_takes_the_same_number_of_queries_for_many_messages(
    alice, client_alice, agent_carol, django_assert_max_num_queries
):
    ticket = open_ticket(client_alice, files=[pdf()])
    url = reverse("support:ticket-detail", args=[ticket.pk])
    alice.get(url)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        alice.get(url)
    for n in range(10):
        services.ticket_agent_reply(ticket=ticket, agent=agent_carol, body=f"Reply {n}")
        services.ticket_client_reply(
            ticket=ticket, client=client_alice, body=f"More {n}", files=[pdf()]
        )
    with CaptureQueriesContext(connection) as many:
        alice.get(url)
    assert len(many) == len(few)


def test_the_dispute_pdf_is_made_by_a_worker_and_downloaded_by_its_owner_only(
    client, client_alice, client_bob, agent_carol, settings
):
    ticket = open_ticket(client_alice, type=TicketType.DISPUTE, subject="强制平仓价格争议")
    export = services.ticket_export_request(ticket=ticket, actor=client_alice, audience="client")
    services.ticket_export_render(export_id=export.pk)
    export.refresh_from_db()
    assert export.file.read(5) == b"%PDF-"
    # Nothing changed: asking again is the same export.
    assert (
        services.ticket_export_request(ticket=ticket, actor=client_alice, audience="client")
        == export
    )
    url = reverse("support:export-download", args=[ticket.pk, export.pk])
    client.force_login(client_bob)
    assert client.get(url).status_code == 404
    client.force_login(client_alice)
    assert client.get(url).status_code == 200


def test_the_public_sla_page_needs_no_login_and_counts_real_tickets(
    client, client_alice, agent_carol
):
    with time_machine.travel(at("2026-11-24 09:00"), tick=False):
        ticket = open_ticket(client_alice)
    with time_machine.travel(at("2026-11-24 10:30"), tick=False):
        services.ticket_agent_reply(ticket=ticket, agent=agent_carol, body="Answer")
    with time_machine.travel(at("2026-11-24 11:00"), tick=False):
        survey = services.ticket_resolve(ticket=ticket, agent=agent_carol)
        services.survey_answer(survey=survey, rating=4)
        from support.selectors import sla_statistics

        question = next(row for row in sla_statistics(days=30) if row.ticket_type == "question")
        page = client.get(reverse("support:sla")).content.decode()
    assert question.tickets == 1
    assert question.median_first_response.total_seconds() == 90 * 60
    assert question.answered_in_time == 1.0
    assert question.median_resolution.total_seconds() == 2 * 3600
    assert question.satisfaction == 4.0
    assert 'data-testid="sla-stats-30"' in page and "12386" in page
    assert Survey.objects.count() == 1
