"""The public statistics count as answered on time only tickets a person from support answered,
name the ticket types in the reader's language, and a client is offered the survey on the ticket
page itself, also after closing a ticket we had answered."""

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse

from support import services
from support.models import Survey
from support.selectors import sla_statistics
from tests.support.conftest import at
from tests.support.factories import open_ticket

pytestmark = pytest.mark.django_db


def question_row():
    cache.clear()
    return next(row for row in sla_statistics(days=30) if row.ticket_type == "question")


def test_a_ticket_closed_by_the_client_before_any_reply_is_not_answered_on_time(
    client_alice, agent_carol
):
    with time_machine.travel(at("2026-11-24 09:00"), tick=False):
        silent = open_ticket(client_alice)
        answered = open_ticket(client_alice)
    with time_machine.travel(at("2026-11-24 09:30"), tick=False):
        services.ticket_close(ticket=silent, client=client_alice)
        services.ticket_agent_reply(ticket=answered, agent=agent_carol, body="Answer")
        row = question_row()
    assert row.tickets == 2
    assert row.answered_in_time == 1.0  # one answered, in time; the silent one is not counted
    assert row.median_first_response.total_seconds() == 30 * 60


def test_only_unanswered_tickets_show_no_share_at_all(client_alice):
    with time_machine.travel(at("2026-11-24 09:00"), tick=False):
        ticket = open_ticket(client_alice)
        services.ticket_close(ticket=ticket, client=client_alice)
        row = question_row()
    assert row.answered_in_time is None and row.median_first_response is None
    assert not Survey.objects.exists()  # nothing of ours to rate


def test_the_english_statistics_name_ticket_types_in_english(client, client_alice):
    with time_machine.travel(at("2026-11-24 09:00"), tick=False):
        open_ticket(client_alice)
        cache.clear()
        client.get(reverse("support:sla"), HTTP_ACCEPT_LANGUAGE="zh-CN")  # cached in Chinese
        page = client.get(reverse("support:sla"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Question" in page and "咨询" not in page


def test_the_survey_is_offered_on_the_ticket_page_after_the_client_closes_an_answered_ticket(
    client, client_alice, agent_carol
):
    with time_machine.travel(at("2026-11-24 09:00"), tick=False):
        ticket = open_ticket(client_alice)
        services.ticket_agent_reply(ticket=ticket, agent=agent_carol, body="Answer")
        services.ticket_close(ticket=ticket, client=client_alice)
    survey = Survey.objects.get(ticket=ticket)
    client.force_login(client_alice)
    page = client.get(reverse("support:ticket-detail", args=[ticket.pk])).content.decode()
    assert 'data-testid="survey-offer"' in page and f"/support/survey/{survey.token}/" in page
    assert 'name="rating"' in page  # the form itself, not only a link
    client.post(f"/support/survey/{survey.token}/", {"rating": "5", "comment": ""})
    survey.refresh_from_db()
    assert survey.rating == 5
    page = client.get(reverse("support:ticket-detail", args=[ticket.pk])).content.decode()
    assert 'data-testid="survey-offer"' not in page
