"""Reads shared by the client pages, the admin, the public statistics and the sweep."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.db.models import Avg, Count, Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _

from support.models import Attachment, Message, SlaClock, SlaPolicy, Survey, Ticket, TicketType

if TYPE_CHECKING:
    from accounts.models import User

STATS_CACHE_SECONDS = 300
STATS_WINDOWS = (30, 90)


def sla_clocks_due_for_check(*, now: datetime) -> QuerySet[SlaClock]:
    """Clocks with a threshold (75%, 90% or breach) to record at `now`, oldest first.

    The sweep's selection: one range scan of the partial index on `next_check_at`, which holds
    only clocks with something left to record, however many tickets are open.
    """
    return SlaClock.objects.filter(next_check_at__lte=now).order_by("next_check_at")


# --- the client's tickets ----------------------------------------------------------------------


def tickets_for_client(*, client: User) -> QuerySet[Ticket]:
    """The client's own tickets, newest first (pk breaks ties, so pages never overlap)."""
    return (
        Ticket.objects.filter(client=client)
        .order_by("-created_at", "-pk")
        .prefetch_related(
            # Soonest promise first: the list shows the next thing the client is owed.
            Prefetch(
                "sla_clocks",
                queryset=SlaClock.objects.filter(stopped_at=None).order_by(
                    F("due_at").asc(nulls_last=True)
                ),
            )
        )
    )


def ticket_for_client(*, client: User, pk: int) -> Ticket:
    """The client's own ticket, or 404: nobody else's ticket exists for them."""
    return get_object_or_404(Ticket.objects.select_related("merged_into"), pk=pk, client=client)


def attachment_for_client(*, client: User, pk: int) -> Attachment:
    """An attachment on a message the client may see of their own ticket, or 404."""
    return get_object_or_404(
        Attachment.objects.select_related("message__ticket"),
        pk=pk,
        message__ticket__client=client,
        message__kind__in=[Message.Kind.CLIENT, Message.Kind.PUBLIC],
    )


def conversation(*, ticket: Ticket, for_client: bool) -> list[Message]:
    """The ticket's messages in order, with authors and attachments in a constant 3 queries."""
    messages = ticket.messages.select_related("author").prefetch_related("attachments")
    if for_client:
        messages = messages.exclude(kind=Message.Kind.INTERNAL)
    return list(messages)


@dataclass(frozen=True)
class Promise:
    """What the client is told about one clock."""

    kind: str
    label: str
    state: str  # running, paused, met, late
    due_at: datetime | None
    stopped_at: datetime | None


def promises(*, ticket: Ticket) -> list[Promise]:
    """One line per promise: the running clock of each kind, else the latest stopped one."""
    latest: dict[str, SlaClock] = {}
    for clock in ticket.sla_clocks.order_by("started_at", "pk"):
        if clock.kind not in latest or latest[clock.kind].stopped_at is not None:
            latest[clock.kind] = clock
    result = []
    for kind in SlaClock.Kind:
        found = latest.get(kind)
        if found is None:
            continue
        if found.stopped_at is None:
            state = "paused" if found.paused_at else "running"
        else:
            state = "met" if found.met_target else "late"
        result.append(Promise(kind, str(kind.label), state, found.due_at, found.stopped_at))
    return result


def survey_by_token(*, token: str) -> Survey:
    return get_object_or_404(Survey.objects.select_related("ticket"), token=token)


def policy_targets() -> dict[str, SlaPolicy]:
    """The normal-priority policy of each type: the targets published to everyone."""
    return {policy.ticket_type: policy for policy in SlaPolicy.objects.filter(priority="normal")}


# --- public statistics -------------------------------------------------------------------------


@dataclass(frozen=True)
class TypeStatistics:
    ticket_type: str
    tickets: int
    median_first_response: timedelta | None
    answered_in_time: float | None  # share, 0..1
    median_resolution: timedelta | None
    satisfaction: float | None  # mean rating 1..5
    ratings: int

    @property
    def label(self) -> str:
        """The type's name in the reader's language (the figures are cached for everyone)."""
        return str(TicketType(self.ticket_type).label)


def sla_statistics(*, days: int, now: datetime | None = None) -> list[TypeStatistics]:
    """Per ticket type, over tickets opened in the last `days` days: computed, then cached."""
    now = now or timezone.now()
    key = f"support:sla-stats:{days}:{now:%Y%m%d%H}{now.minute // 5}"
    cached = cache.get(key)
    if cached is None:
        cached = _compute_statistics(days=days, now=now)
        cache.set(key, cached, STATS_CACHE_SECONDS)
    return cached


def _compute_statistics(*, days: int, now: datetime) -> list[TypeStatistics]:
    since = now - timedelta(days=days)
    stopped = SlaClock.objects.filter(
        ticket__created_at__gte=since, stopped_at__isnull=False, used__isnull=False
    ).exclude(ticket__status=Ticket.Status.MERGED)
    first: dict[str, list[timedelta]] = {}
    in_time: dict[str, list[bool]] = {}
    resolution: dict[str, list[timedelta]] = {}
    # Only a public agent reply answers a ticket. A first-response clock also stops when the
    # client closes the ticket, or it is merged or resolved without a word to the client: those
    # were never answered, on time or otherwise.
    answered = Exists(
        Message.objects.filter(
            ticket=OuterRef("ticket"),
            kind=Message.Kind.PUBLIC,
            created_at__lte=OuterRef("stopped_at"),
        )
    )
    rows = (
        stopped.filter(kind__in=[SlaClock.Kind.FIRST_RESPONSE, SlaClock.Kind.RESOLUTION])
        .annotate(answered=answered)
        .values_list(
            "ticket__type", "kind", "used", "stopped_at", "due_at", "ticket__status", "answered"
        )
    )
    for ticket_type, kind, used, stopped_at, due_at, status, was_answered in rows:
        if used is None or stopped_at is None:
            continue
        if kind == SlaClock.Kind.FIRST_RESPONSE:
            if not was_answered:
                continue
            first.setdefault(ticket_type, []).append(used)
            in_time.setdefault(ticket_type, []).append(due_at is None or stopped_at <= due_at)
        elif status in (Ticket.Status.RESOLVED, Ticket.Status.CLOSED):
            resolution.setdefault(ticket_type, []).append(used)
    counts = dict(
        Ticket.objects.filter(created_at__gte=since)
        .exclude(status=Ticket.Status.MERGED)
        .values_list("type")
        .annotate(n=Count("pk"))
        .values_list("type", "n")
    )
    ratings = {
        row["ticket__type"]: row
        for row in Survey.objects.filter(ticket__created_at__gte=since, rating__isnull=False)
        .values("ticket__type")
        .annotate(mean=Avg("rating"), n=Count("pk"))
    }
    return [
        TypeStatistics(
            ticket_type=ticket_type.value,
            tickets=counts.get(ticket_type, 0),
            median_first_response=_median(first.get(ticket_type)),
            answered_in_time=(
                sum(in_time[ticket_type]) / len(in_time[ticket_type])
                if in_time.get(ticket_type)
                else None
            ),
            median_resolution=_median(resolution.get(ticket_type)),
            satisfaction=(float(ratings[ticket_type]["mean"]) if ticket_type in ratings else None),
            ratings=ratings[ticket_type]["n"] if ticket_type in ratings else 0,
        )
        for ticket_type in TicketType
    ]


def _median(values: list[timedelta] | None) -> timedelta | None:
    if not values:
        return None
    return timedelta(seconds=statistics.median(v.total_seconds() for v in values))


# --- the agents' queue -------------------------------------------------------------------------


def visible_tickets(*, user: User, queryset: QuerySet[Ticket] | None = None) -> QuerySet[Ticket]:
    """Tickets a staff member may see: the compliance queue needs its own permission."""
    queryset = Ticket.objects.all() if queryset is None else queryset
    if not user.has_perm("support.view_compliance_ticket"):
        queryset = queryset.exclude(queue="compliance")
    return queryset


def next_due_filter(*, now: datetime, within: timedelta) -> Q:
    """Tickets with a running clock due before now + within (breached ones included)."""
    return Q(
        sla_clocks__stopped_at=None,
        sla_clocks__paused_at=None,
        sla_clocks__due_at__lte=now + within,
    )


# --- the client's context on the agent's ticket page -------------------------------------------


@dataclass(frozen=True)
class AccountContext:
    number: str
    level: str
    level_label: str
    ratio: str
    in_margin_call: bool


@dataclass(frozen=True)
class NoticeSent:
    created_at: datetime
    description: str
    channel: str
    status: str


@dataclass(frozen=True)
class ClientContext:
    kyc_state: str | None
    accounts: list[AccountContext]
    open_margin_calls: int
    open_tickets: int
    # The agent's only view of the client's contact details and of what the client was sent:
    # through the ticket, never the user list or the outbox wholesale.
    phone: str = ""
    recent_notices: list[NoticeSent] = field(default_factory=list)


def client_context(*, client: User) -> ClientContext:
    """What an agent needs to know about the client while answering: KYC, margin, other tickets.

    KYC is the state of the client's onboarding case (accounts). A margin call is open while an
    account's recorded level is CALL or LIQUIDATION.
    """
    from accounts import selectors as accounts_selectors
    from margin import selectors as margin_selectors
    from margin.rules import Level

    case = accounts_selectors.kyc_case(client)
    kyc_state = case.get_status_display() if case is not None else _("No onboarding case yet")
    accounts = [
        AccountContext(
            number=account.number,
            level=account.current_level,
            level_label=str(Level(account.current_level).label),
            ratio=f"{account.last_ratio * 100:.2f}%" if account.last_ratio is not None else "∞",
            in_margin_call=account.current_level in (Level.CALL, Level.LIQUIDATION),
        )
        for account in margin_selectors.client_accounts(client)
    ]
    from notices import selectors as notices_selectors
    from notices.registry import UnknownNoticeType, get_notice_type

    def describe(key: str) -> str:
        try:
            return str(get_notice_type(key).description) or key
        except UnknownNoticeType:
            return key

    return ClientContext(
        phone=client.phone,
        recent_notices=[
            NoticeSent(
                n.created_at, describe(n.key), n.get_channel_display(), n.get_status_display()
            )
            for n in notices_selectors.recent_to(user_id=client.pk)
        ],
        kyc_state=str(kyc_state) if kyc_state is not None else None,
        accounts=accounts,
        open_margin_calls=sum(account.in_margin_call for account in accounts),
        open_tickets=Ticket.objects.filter(
            client=client,
            status__in=[Ticket.Status.OPEN, Ticket.Status.WAITING_ON_CLIENT],
        ).count(),
    )


def agents():
    """Staff who may answer tickets: the only people a ticket can be assigned to."""
    may_reply = Q(codename="reply_ticket", content_type__app_label="support")
    return (
        get_user_model()
        .objects.filter(is_active=True, is_staff=True)
        .filter(
            Q(is_superuser=True)
            | Q(groups__permissions__in=Permission.objects.filter(may_reply))
            | Q(user_permissions__in=Permission.objects.filter(may_reply))
        )
        .distinct()
        .order_by("full_name", "email")
    )
