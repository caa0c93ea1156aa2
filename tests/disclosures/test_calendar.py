"""Compliance sees every change coming and how clients answered; the approver sees the scenarios.

The clock is fixed at 2027-03-10 10:00 Beijing; the fee schedule v1 is in force since 2026-01-19.
"""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from disclosures import selectors, services
from disclosures.models import ChangeNotice, DocumentVersion
from tests.disclosures.factories import approved_change, fees, staff
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2027, 3, 10, 2, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def answer(client, version, decision):
    notice = version.change_notices.get(client=client)
    return services.change_acknowledge(
        user=client,
        notice_id=notice.pk,
        decision=decision,
        shown_hash=version.content_hash,
        language="en",
        ip_address="127.0.0.1",
        user_agent="pytest",
    )


@pytest.fixture
def people():
    return staff(email="f@example.test"), staff(email="g@example.test")


@pytest.fixture
def clients():
    return [UserFactory() for _ in range(4)]


@pytest.fixture
def v2(people, clients, fees_v1):
    frank, grace = people
    version = approved_change(maker=frank, checker=grace, items=fees(tier2="0.086000"))
    return services.version_schedule(
        actor=frank, version=version, effective_at=NOW + timedelta(days=31)
    )


def test_the_calendar_counts_notices_reads_answers_reminders_and_movers(
    client, people, clients, v2, _clock
):
    reader, accepter, decliner, _silent = clients
    for c in (reader, accepter, decliner):
        notice = v2.change_notices.get(client=c)
        services.change_notice_read(user=c, notice_id=notice.pk)
    answer(accepter, v2, "accepted")
    answer(decliner, v2, "declined")
    _clock.move_to(NOW + timedelta(days=28))  # the reminder is due from 3 days before
    [fees] = [row for row in selectors.change_calendar() if row.document.kind == "fee_schedule"]
    in_force, change = fees.changes
    assert (in_force.version.number, change.version.number) == (1, 2)
    assert (change.notified, change.read, change.accepted, change.declined) == (4, 3, 1, 1)
    assert (change.unanswered, change.moving_at_rollover) == (2, 3)
    assert (change.read_share, change.accepted_share, change.declined_share) == (75, 25, 25)
    assert (change.reminders_sent, change.reminders_due) == (0, 2)  # reader and silent
    assert change.notice_given == timedelta(days=31) and change.version.notice_days == 30
    assert change.reminder_at == NOW + timedelta(days=28)

    services.reminders_send_due()
    client.force_login(people[0])
    page = text(client.get(reverse("admin:disclosures_documentversion_calendar")))
    row = page.split('data-version="v2"')[1].split("</tr>")[0]
    assert 'data-testid="notified">4<' in row
    assert "3 (75.0%)" in row and "1 (25.0%)" in row
    assert "2 sent, 0 due now" in row
    assert f"?version__id__exact={v2.pk}&amp;answer=not_accepted" in row
    assert "2027-04-10 10:00" in row  # effective, Beijing time


def test_the_calendar_shows_chained_versions_in_order(client, people, v2):
    frank, grace = people
    v3 = approved_change(maker=frank, checker=grace, items=fees(tier2="0.090000"))
    services.version_schedule(actor=frank, version=v3, effective_at=NOW + timedelta(days=45))
    [fees_row] = [r for r in selectors.change_calendar() if r.document.kind == "fee_schedule"]
    assert [(c.version.number, c.version.base_id) for c in fees_row.changes] == [
        (1, None),
        (2, fees_row.changes[0].version.pk),
        (3, v2.pk),
    ]


def test_the_calendar_takes_a_fixed_number_of_queries(
    client, people, v2, django_assert_max_num_queries
):
    frank, grace = people
    v3 = approved_change(maker=frank, checker=grace, items=fees(tier2="0.090000"))
    services.version_schedule(actor=frank, version=v3, effective_at=NOW + timedelta(days=45))
    with django_assert_max_num_queries(4):
        rows = selectors.change_calendar()
        [change.unanswered for row in rows for change in row.changes]


def test_the_notices_admin_filters_clients_who_move_at_rollover(client, people, clients, v2):
    reader, accepter, decliner, silent = clients
    answer(accepter, v2, "accepted")
    answer(decliner, v2, "declined")
    notices = ChangeNotice.objects.filter(version=v2)
    moving = selectors.notices_by_answer(notices, "not_accepted")
    assert set(moving.values_list("client", flat=True)) == {reader.pk, decliner.pk, silent.pk}
    assert list(
        selectors.notices_by_answer(notices, "declined").values_list("client", flat=True)
    ) == [decliner.pk]
    assert not selectors.notices_by_answer(notices, "bogus").exists()
    client.force_login(people[0])
    url = reverse("admin:disclosures_changenotice_changelist")
    response = client.get(url, {"version__id__exact": v2.pk, "answer": "not_accepted"})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 3


def test_an_agent_may_read_the_calendar_but_a_client_may_not(client, v2):
    client.force_login(staff("agent", email="carol2@example.test"))
    assert client.get(reverse("admin:disclosures_documentversion_calendar")).status_code == 200
    client.force_login(UserFactory())
    response = client.get(reverse("admin:disclosures_documentversion_calendar"))
    assert response.status_code == 302  # to the admin login


def test_opening_the_change_page_is_a_read_once_and_only_for_its_client(client, clients, v2):
    reader, other, *_ = clients
    notice = v2.change_notices.get(client=reader)
    client.force_login(other)
    assert client.get(reverse("disclosures:change", args=[notice.pk])).status_code == 404
    notice.refresh_from_db()
    assert notice.read_at is None
    client.force_login(reader)
    assert client.get(reverse("disclosures:change", args=[notice.pk])).status_code == 200
    notice.refresh_from_db()
    assert notice.read_at == NOW
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        client.get(reverse("disclosures:change", args=[notice.pk]))
    notice.refresh_from_db()
    assert notice.read_at == NOW


def test_the_approver_sees_the_scenarios_and_the_notice_they_imply(client, people, fees_v1):
    frank, grace = people
    draft = services.version_draft_create(
        actor=frank,
        document=fees_v1.document,
        summary_zh="改为日利率。",
        summary_en="Now a daily rate.",
        items=[
            spec.__class__(**{**spec.__dict__, "basis": "daily", "value": "0.000300"})
            if spec.code == "financing_rate_tier2"
            else spec
            for spec in fees()
        ],
    )
    services.version_submit(actor=frank, version=draft)
    client.force_login(grace)
    page = text(client.get(reverse("admin:disclosures_documentversion_change", args=[draft.pk])))
    assert 'data-testid="approve"' in page
    assert "Worse for clients: at least 30 days' notice." in page
    row = page.split('data-scenario="financing:2:365"')[1].split("</tr>")[0]
    assert "CNY 8,464.35 · 8.466% a year" in row  # 23.19 a day for 365 days
    assert "CNY 10,950.00 · 10.95% a year" in row  # 30.00 a day for 365 days
    assert "Worse" in row
    assert "Item financing_rate_tier2 is stated on another basis." in page
    assert "2027-04-09 10:00" in page  # the earliest effective time if scheduled now


def test_the_comparison_is_computed_against_the_base(people, v2):
    frank, _grace = people
    draft = DocumentVersion.objects.get(
        pk=services.version_draft_create(actor=frank, document=v2.document).pk
    )
    assert selectors.comparison_for(draft).base == v2
