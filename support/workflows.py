"""A ticket's life: open, waiting on the client, resolved or closed (and reopened within the
window), or merged into another ticket of the same client."""

from portal.transitions import workflow

from .models import Ticket

S = Ticket.Status


def _resolved(ticket: Ticket) -> bool:
    """a resolved ticket records when"""
    return ticket.resolved_at is not None


def _closed(ticket: Ticket) -> bool:
    """a closed ticket records when"""
    return ticket.closed_at is not None


def _merged(ticket: Ticket) -> bool:
    """a merged ticket points at its target and records when"""
    return ticket.merged_into_id is not None and ticket.closed_at is not None


def _reopened(ticket: Ticket) -> bool:
    """a reopened ticket is neither resolved nor closed"""
    return ticket.resolved_at is None and ticket.closed_at is None


TICKET = workflow(
    "ticket",
    [
        (S.OPEN, S.WAITING_ON_CLIENT, None),
        # An agent may write again while waiting; the clocks stay paused.
        (S.WAITING_ON_CLIENT, S.WAITING_ON_CLIENT, None),
        (S.WAITING_ON_CLIENT, S.OPEN, None),  # the client answered
        (S.OPEN, S.RESOLVED, _resolved),
        (S.WAITING_ON_CLIENT, S.RESOLVED, _resolved),
        (S.OPEN, S.CLOSED, _closed),
        (S.WAITING_ON_CLIENT, S.CLOSED, _closed),
        (S.RESOLVED, S.CLOSED, _closed),
        (S.RESOLVED, S.OPEN, _reopened),
        (S.CLOSED, S.OPEN, _reopened),
        (S.OPEN, S.MERGED, _merged),
        (S.WAITING_ON_CLIENT, S.MERGED, _merged),
    ],
)
