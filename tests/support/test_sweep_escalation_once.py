"""A ticket whose two clocks breach in one sweep is escalated once and audited once (each clock
reads its own copy of the ticket, so the batch counts escalations by ticket, and audits only
the tickets its UPDATE actually escalated)."""

import pytest
import time_machine

from audit.models import AuditEntry
from support import services
from tests.support.conftest import at
from tests.support.factories import open_ticket


@pytest.mark.django_db
def test_two_clocks_of_one_ticket_breaching_in_one_sweep_audit_one_escalation(
    client_alice, agent_carol
):
    with time_machine.travel(at("2026-11-24 09:00"), tick=False):
        ticket = open_ticket(client_alice)
        services.ticket_assign(ticket=ticket, actor=agent_carol, assignee=agent_carol)
    kinds = set(ticket.sla_clocks.values_list("kind", flat=True))
    assert len(kinds) >= 2, kinds
    with time_machine.travel(at("2027-03-01 12:00"), tick=False):  # after an outage: all due
        services.sla_sweep()
    assert ticket.sla_clocks.filter(breached_at__isnull=False).count() >= 2
    assert (
        AuditEntry.objects.filter(action="support.sla_breach", object_id=str(ticket.pk)).count()
        == 1
    )
