"""The beat sweep: thresholds at 75/90/100%, each notice once, to staff only, in service hours."""

import threading

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.db import connection

from audit.models import AuditEntry
from audit.services import verify_chain
from notices.models import Notification
from support import services
from support.models import SlaClock, Ticket, TicketType
from tests.factories import UserFactory
from tests.support.conftest import at
from tests.support.factories import open_ticket

FIRST = SlaClock.Kind.FIRST_RESPONSE


@pytest.fixture
def supervisor(db):
    user = UserFactory(email="sue@example.test", role="agent", language="en")
    user.user_permissions.add(Permission.objects.get(codename="supervise_ticket"))
    return user


def keys(**filters) -> list[str]:
    return sorted(
        Notification.objects.filter(channel="email", **filters).values_list("key", flat=True)
    )


@pytest.mark.django_db
def test_the_assignee_is_warned_at_75_and_90_percent_and_the_breach_escalates(
    client_alice, agent_carol, supervisor
):
    with time_machine.travel(at("2026-11-24 09:00"), tick=False):
        ticket = open_ticket(client_alice)  # first response due 14:00 (4 service hours)
        services.ticket_assign(ticket=ticket, actor=agent_carol, assignee=agent_carol)
    with time_machine.travel(at("2026-11-24 13:00"), tick=False):  # 3 h used = 75%
        services.sla_sweep()
    assert keys(recipient=agent_carol) == ["support_sla_warning"]
    with time_machine.travel(at("2026-11-24 13:36"), tick=False):  # 90%
        services.sla_sweep()
        services.sla_sweep()  # running it twice is harmless
    assert keys(recipient=agent_carol) == ["support_sla_warning"] * 2
    with time_machine.travel(at("2026-11-24 14:00"), tick=False):
        services.sla_sweep()
    clock = ticket.sla_clocks.get(kind=FIRST)
    assert clock.breached_at == at("2026-11-24 14:00")
    assert keys(recipient=agent_carol) == ["support_sla_breach"] + ["support_sla_warning"] * 2
    assert keys(recipient=supervisor) == ["support_sla_breach"]
    ticket.refresh_from_db()
    assert ticket.escalated_at == at("2026-11-24 14:00")
    assert (
        AuditEntry.objects.filter(action="support.sla_breach", object_id=str(ticket.pk)).count()
        == 1
    )
    assert not Notification.objects.filter(recipient=client_alice).exists()


@pytest.mark.django_db
def test_a_complaint_breach_also_reaches_compliance(client_alice, compliance_frank, supervisor):
    with time_machine.travel(at("2026-11-24 09:00"), tick=False):
        open_ticket(client_alice, type=TicketType.COMPLAINT)
    with time_machine.travel(at("2026-11-24 11:00"), tick=False):
        services.sla_sweep()
    assert keys(recipient=compliance_frank) == ["support_sla_breach"]
    # Unassigned: the supervisor had the warnings too.
    assert keys(recipient=supervisor) == ["support_sla_breach"] + ["support_sla_warning"] * 2


@pytest.mark.django_db
def test_agent_notices_wait_for_service_hours_except_for_margin_call_appeals(
    client_alice, supervisor
):
    with time_machine.travel(at("2026-11-24 17:00"), tick=False):
        question = open_ticket(client_alice)
    with time_machine.travel(at("2026-11-24 18:30"), tick=False):  # 75% crossed at 09:00 next day
        pass
    with time_machine.travel(
        at("2026-11-25 20:00"), tick=False
    ):  # after hours: 75%, 90% and the breach all crossed
        services.sla_sweep()
        rows = Notification.objects.filter(
            recipient=supervisor, idempotency_key__startswith=f"support:sla:{question.pk}:"
        )
        assert rows and all(row.next_attempt_at == at("2026-11-26 09:00") for row in rows)
        assert all(row.status == "pending" for row in rows)
    with time_machine.travel(at("2026-11-24 14:50"), tick=False):
        appeal = open_ticket(client_alice, type=TicketType.MARGIN_CALL_APPEAL, subject="Appeal")
    with time_machine.travel(at("2026-11-25 09:55"), tick=False):  # 30 trading min: due 09:50
        services.sla_sweep()
        rows = Notification.objects.filter(idempotency_key__startswith=f"support:sla:{appeal.pk}:")
        assert rows and all(row.next_attempt_at <= at("2026-11-25 09:55") for row in rows)


@pytest.mark.django_db
def test_a_ticket_answered_in_time_is_never_warned(client_alice, agent_carol, supervisor):
    with time_machine.travel(at("2026-11-24 09:00"), tick=False):
        ticket = open_ticket(client_alice)
    with time_machine.travel(at("2026-11-24 10:00"), tick=False):
        services.ticket_agent_reply(
            ticket=ticket, agent=agent_carol, body="Done", wait_on_client=True
        )
    with time_machine.travel(at("2026-11-24 16:00"), tick=False):
        services.sla_sweep()
    assert not Notification.objects.filter(key__startswith="support_sla").exists()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_on_postgresql_send_each_warning_once(
    roles_and_policies, client_alice, supervisor
):
    assert connection.vendor == "postgresql"
    with time_machine.travel(at("2026-11-24 09:00"), tick=False):
        tickets = [open_ticket(client_alice, subject=f"T{n}") for n in range(8)]
    barrier = threading.Barrier(2)
    results, errors = [], []

    def sweep():
        from django.db import connection as thread_connection

        try:
            barrier.wait()
            results.append(services.sla_sweep(now=at("2026-11-24 13:00"), batch_size=3))
        except Exception as exc:
            errors.append(exc)
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    # 8 tickets × (first response + resolution) clocks due for 75% on the first-response only.
    assert sum(result.clocks for result in results) == len(tickets)
    warnings = Notification.objects.filter(
        recipient=supervisor, key="support_sla_warning", channel="email"
    )
    assert warnings.count() == len(tickets)
    assert len(set(warnings.values_list("idempotency_key", flat=True))) == len(tickets)
    assert Ticket.objects.count() == 8


def test_celery_beat_runs_the_sweep_every_minute(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["support-sla-sweep"]
    assert (entry["task"], entry["schedule"]) == ("support.tasks.sla_sweep", 60.0)


@pytest.mark.django_db
def test_the_sweep_task_records_thresholds(client_alice, agent_carol):
    from support.tasks import sla_sweep

    with time_machine.travel(at("2026-11-24 09:00"), tick=False):
        ticket = open_ticket(client_alice)
    with time_machine.travel(at("2026-11-24 14:30"), tick=False):
        sla_sweep.delay()
    assert ticket.sla_clocks.get(kind=FIRST).breached_at == at("2026-11-24 14:30")


@pytest.mark.django_db
def test_a_backlog_after_an_outage_is_recorded_in_the_same_few_statements_whatever_its_size(
    agent_carol, supervisor, django_assert_max_num_queries
):
    def backlog(count: int) -> None:
        with time_machine.travel(at("2026-11-24 09:00"), tick=False):
            for _ in range(count):
                ticket = open_ticket(UserFactory())
                services.ticket_assign(ticket=ticket, actor=agent_carol, assignee=agent_carol)

    backlog(2)
    # 75%, 90% and the breach of two tickets, then of twelve: the same statements.
    with time_machine.travel(at("2026-11-24 14:00"), tick=False), django_assert_max_num_queries(25):
        services.sla_sweep()
    backlog(12)
    with time_machine.travel(at("2026-11-24 16:00"), tick=False), django_assert_max_num_queries(25):
        result = services.sla_sweep()
    assert result.clocks >= 12
    breached = Ticket.objects.filter(escalated_at=at("2026-11-24 16:00"))
    assert breached.count() == 12
    # Each escalation audited once, in the chain; each notice names its own ticket's admin page.
    assert AuditEntry.objects.filter(action="support.sla_breach").count() == 14
    for ticket in breached:
        [notice] = Notification.objects.filter(
            recipient=agent_carol,
            channel="email",
            key="support_sla_breach",
            idempotency_key__startswith=f"support:sla:{ticket.pk}:",
        )
        assert notice.context["admin_url"].endswith(f"/support/ticket/{ticket.pk}/change/")
    assert verify_chain().ok
