"""Tickets as clients and agents drive them: the clocks, the notices, and what stays internal."""

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from audit.models import AuditEntry
from notices import sealing
from notices.models import Notification
from support import services
from support.models import Message, Queue, SlaClock, Survey, Ticket, TicketType
from tests.factories import UserFactory
from tests.support.conftest import at
from tests.support.factories import open_ticket, pdf, png_with_metadata

pytestmark = pytest.mark.django_db
FIRST, NEXT, RESOLUTION = (
    SlaClock.Kind.FIRST_RESPONSE,
    SlaClock.Kind.NEXT_RESPONSE,
    SlaClock.Kind.RESOLUTION,
)


def running(ticket) -> dict[str, SlaClock]:
    return {clock.kind: clock for clock in ticket.sla_clocks.filter(stopped_at=None)}


@pytest.mark.time_machine(at("2026-11-24 10:00"), tick=False)
def test_opening_a_ticket_writes_the_message_starts_two_clocks_and_audits(client_alice):
    ticket = open_ticket(client_alice)
    assert ticket.messages.get().kind == Message.Kind.CLIENT
    clocks = running(ticket)
    assert set(clocks) == {FIRST, RESOLUTION}
    assert clocks[FIRST].due_at == at("2026-11-24 15:00")  # 4 service hours, lunch left out
    assert AuditEntry.objects.filter(
        action="support.ticket_open", object_id=str(ticket.pk)
    ).exists()


def test_complaints_and_disputes_go_to_the_compliance_queue(client_alice):
    assert open_ticket(client_alice, type=TicketType.COMPLAINT).queue == Queue.COMPLIANCE
    assert open_ticket(client_alice, type=TicketType.DISPUTE).queue == Queue.COMPLIANCE
    assert open_ticket(client_alice, type=TicketType.KYC_ISSUE).queue == Queue.SERVICE


def test_attachments_are_checked_by_content_and_images_lose_their_metadata(client_alice):
    ticket = open_ticket(client_alice, files=[png_with_metadata("photo.jpg"), pdf()])
    first, second = ticket.messages.get().attachments.all()
    assert (first.name, first.content_type) == ("photo.png", "image/png")
    stored = first.file.read()
    assert b"secret-camera-owner" not in stored
    assert second.content_type == "application/pdf"


def test_a_file_that_is_not_pdf_or_image_is_refused_and_nothing_is_written(client_alice):
    from django.core.files.uploadedfile import SimpleUploadedFile

    fake = SimpleUploadedFile(
        "invoice.pdf", b"MZ\x90\x00 this is an exe", content_type="application/pdf"
    )
    with pytest.raises(ValidationError, match=r"invoice\.pdf"):
        open_ticket(client_alice, files=[fake])
    assert not Ticket.objects.exists()


def test_bad_input_is_refused_with_a_message(client_alice):
    with pytest.raises(ValidationError):
        services.ticket_open(client=client_alice, type="question", subject=" ", body="x")
    with pytest.raises(ValidationError):
        services.ticket_open(client=client_alice, type="lottery", subject="s", body="x")
    assert not Ticket.objects.exists()


def test_ticket_creation_is_rate_limited(client_alice, one_rate_window):
    for _ in range(services.OPEN_LIMIT_PER_HOUR):
        open_ticket(client_alice)
    with pytest.raises(ValidationError, match=str(services.OPEN_LIMIT_PER_HOUR)):
        open_ticket(client_alice)


def test_an_internal_note_stops_no_clock_and_reaches_no_client(client_alice, agent_carol):
    ticket = open_ticket(client_alice)
    services.ticket_agent_reply(
        ticket=ticket, agent=agent_carol, body="Check the ledger", internal=True
    )
    assert set(running(ticket)) == {FIRST, RESOLUTION}
    assert not Notification.objects.filter(recipient=client_alice).exists()


def test_a_public_reply_stops_the_first_response_and_tells_the_client(client_alice, agent_carol):
    ticket = open_ticket(client_alice)
    services.ticket_agent_reply(ticket=ticket, agent=agent_carol, body="Here it is")
    assert set(running(ticket)) == {RESOLUTION}
    ticket.refresh_from_db()
    assert ticket.assignee == agent_carol
    assert Notification.objects.filter(recipient=client_alice, key="support_ticket_reply").exists()


@pytest.mark.time_machine(at("2026-11-27 17:00"), tick=False)
def test_waiting_on_client_pauses_over_the_weekend_and_their_reply_resumes(
    client_alice, agent_carol
):
    ticket = open_ticket(client_alice)  # Friday 17:00: resolution owes 24 service hours
    with time_machine.travel(at("2026-11-27 17:30"), tick=False):
        services.ticket_agent_reply(
            ticket=ticket, agent=agent_carol, body="Send the slip?", wait_on_client=True
        )
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.WAITING_ON_CLIENT
    assert running(ticket)[RESOLUTION].paused_at == at("2026-11-27 17:30")
    with time_machine.travel(at("2026-11-30 10:00"), tick=False):  # Monday
        services.ticket_client_reply(ticket=ticket, client=client_alice, body="Attached")
    clocks = running(ticket)
    # The pause (Fri 17:30 → Mon 10:00) spans 30 + 60 service minutes, so 25 h 30 min of service
    # time are owed from Friday 17:00: Fri 1 h + Mon, Tue, Wed 8 h each = 25 h, then Thu 09:30.
    assert clocks[RESOLUTION].paused_at is None
    assert clocks[RESOLUTION].due_at == at("2026-12-03 09:30")
    assert clocks[NEXT].due_at == at("2026-11-30 15:00")


def test_only_staff_with_the_permission_reply_and_compliance_tickets_need_more(
    client_alice, client_bob, agent_carol, compliance_frank
):
    question, complaint = (
        open_ticket(client_alice),
        open_ticket(client_alice, type=TicketType.COMPLAINT),
    )
    with pytest.raises(PermissionDenied):
        services.ticket_agent_reply(ticket=question, agent=client_bob, body="I am not staff")
    with pytest.raises(PermissionDenied):
        services.ticket_agent_reply(ticket=complaint, agent=agent_carol, body="Not my queue")
    services.ticket_agent_reply(ticket=complaint, agent=compliance_frank, body="We are on it")


def test_bob_cannot_reply_to_close_or_reopen_alices_ticket(client_alice, client_bob):
    ticket = open_ticket(client_alice)
    for call in (
        lambda: services.ticket_client_reply(ticket=ticket, client=client_bob, body="hi"),
        lambda: services.ticket_close(ticket=ticket, client=client_bob),
        lambda: services.ticket_reopen(ticket=ticket, client=client_bob),
    ):
        with pytest.raises(PermissionDenied):
            call()


def test_resolving_stops_every_clock_and_sends_a_survey(client_alice, agent_carol):
    ticket = open_ticket(client_alice)
    survey = services.ticket_resolve(ticket=ticket, agent=agent_carol)
    assert running(ticket) == {}
    assert all(clock.used is not None for clock in ticket.sla_clocks.all())
    notice = Notification.objects.get(recipient=client_alice, key="support_survey", channel="email")
    # The link answers the survey without signing in: sealed for the worker, not stored readable.
    assert survey.token not in str(notice.context) + notice.body
    assert survey.token in sealing.unseal(notice.sealed)["survey_url"]


def test_a_survey_is_answered_once(client_alice, agent_carol):
    survey = services.ticket_resolve(ticket=open_ticket(client_alice), agent=agent_carol)
    services.survey_answer(survey=survey, rating=5, comment="Quick")
    with pytest.raises(ValidationError):
        services.survey_answer(survey=survey, rating=1)
    assert Survey.objects.get().rating == 5


def test_reopening_is_allowed_within_seven_days_and_restarts_the_clocks(client_alice, agent_carol):
    with time_machine.travel(at("2026-11-24 10:00"), tick=False):
        ticket = open_ticket(client_alice)
        services.ticket_resolve(ticket=ticket, agent=agent_carol)
    with time_machine.travel(at("2026-12-01 09:59"), tick=False):
        services.ticket_reopen(ticket=ticket, client=client_alice)
    assert set(running(ticket)) == {NEXT, RESOLUTION}
    with time_machine.travel(at("2026-12-01 11:00"), tick=False):
        services.ticket_close(ticket=ticket, client=client_alice)
    with time_machine.travel(at("2026-12-08 11:01"), tick=False), pytest.raises(ValidationError):
        services.ticket_reopen(ticket=ticket, client=client_alice)


def test_merging_stops_the_duplicates_clocks_and_points_at_the_target(
    client_alice, client_bob, agent_carol
):
    target, duplicate = open_ticket(client_alice), open_ticket(client_alice)
    services.ticket_merge(source=duplicate, target=target, actor=agent_carol)
    duplicate.refresh_from_db()
    assert (duplicate.status, duplicate.merged_into) == (Ticket.Status.MERGED, target)
    assert running(duplicate) == {}
    assert set(running(target)) == {FIRST, RESOLUTION}
    with pytest.raises(ValidationError):
        services.ticket_merge(source=open_ticket(client_bob), target=target, actor=agent_carol)


def test_an_assignee_must_be_allowed_to_work_the_ticket(client_alice, agent_carol):
    complaint = open_ticket(client_alice, type=TicketType.COMPLAINT)
    frank = UserFactory(role="compliance")
    services.ticket_assign(ticket=complaint, actor=frank, assignee=frank)
    with pytest.raises(ValidationError):
        services.ticket_assign(ticket=complaint, actor=frank, assignee=agent_carol)
