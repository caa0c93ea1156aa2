"""The admin index as each role's dashboard: what is waiting for them, and how the work is going.

Each panel is gated by the permission of the list it summarises, so a role sees its own job:
agents the ticket queue and SLA compliance, reviewers the KYC queue and its throughput, risk
officers margin levels, calls and the decisions waiting for them, compliance acknowledgement
rates and breaches. Charts are bars drawn by CSS from the counts below (no script, so they
print and read the same with a screen reader as a table).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.kyc_models import KycCase, ScreeningHit
from disclosures.models import Acknowledgement, ChangeNotice, DocumentVersion
from funds.models import WithdrawalRequest
from margin.models import LiquidationPlan, MarginAccount, MarginCall, VolatilityRegime
from margin.rules import Level
from portal.admin_display import ratio_text
from support import selectors as support_selectors
from support.models import SlaClock, Ticket

DAYS = 14
SLA_WINDOW = datetime.timedelta(days=30)


@dataclass
class Figure:
    label: Any
    value: Any
    url: str = ""
    alert: bool = False


@dataclass
class Chart:
    title: Any
    bars: list[dict] = field(default_factory=list)  # label, value, percent of the largest
    daily: bool = False  # one column a day, drawn side by side
    total: int = 0

    @classmethod
    def days(cls, title, pairs, kind: str = "") -> Chart:
        chart = cls.of(title, pairs, kind)
        chart.daily = True
        chart.total = sum(value for _label, value in pairs)
        for index, bar in enumerate(chart.bars):
            bar["x"] = index * 10
            bar["y"] = 40 - round(bar["width"] * 0.4)
            bar["height"] = round(bar["width"] * 0.4)
        return chart

    @classmethod
    def of(cls, title, pairs, kind: str = "") -> Chart:
        largest = max([value for _label, value in pairs] + [1])
        return cls(
            title,
            [
                {
                    "label": label,
                    "value": value,
                    "width": round(100 * value / largest),
                    "kind": kind,
                }
                for label, value in pairs
            ],
        )


@dataclass
class Panel:
    key: str
    title: Any
    figures: list[Figure] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    links: list[tuple[Any, str]] = field(default_factory=list)


def _changelist(model, query: str = "") -> str:
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    return f"{url}?{query}" if query else url


def _days(now: datetime.datetime) -> list[datetime.date]:
    today = timezone.localdate(now)
    return [today - datetime.timedelta(days=n) for n in range(DAYS - 1, -1, -1)]


def _per_day(queryset, field_name: str, now: datetime.datetime) -> list[tuple[str, int]]:
    days = _days(now)
    start = timezone.make_aware(datetime.datetime.combine(days[0], datetime.time.min))
    counts = dict(
        queryset.filter(**{f"{field_name}__gte": start})
        .annotate(day=TruncDate(field_name, tzinfo=timezone.get_current_timezone()))
        .values_list("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )
    return [(day.strftime("%m-%d"), counts.get(day, 0)) for day in days]


def support_panel(user, now) -> Panel | None:
    if not user.has_perm("support.view_ticket"):
        return None
    open_statuses = [Ticket.Status.OPEN, Ticket.Status.WAITING_ON_CLIENT]
    tickets = support_selectors.visible_tickets(
        user=user, queryset=Ticket.objects.filter(status__in=open_statuses)
    )
    running = Q(stopped_at=None, paused_at=None)
    clocks = SlaClock.objects.filter(ticket__in=tickets.values("pk"))
    breached_open = clocks.filter(running, due_at__lte=now).values("ticket").distinct().count()
    soon = clocks.filter(running, due_at__gt=now, due_at__lte=now + datetime.timedelta(hours=1))
    finished = SlaClock.objects.filter(stopped_at__gte=now - SLA_WINDOW)
    if not user.has_perm("support.view_compliance_ticket"):
        finished = finished.exclude(ticket__queue="compliance")
    done = finished.count()
    met = finished.filter(breached_at=None).count()
    per_agent = (
        tickets.exclude(assignee=None)
        .values("assignee__full_name", "assignee__email")
        .annotate(n=Count("pk"))
        .order_by("-n")
    )
    load = [(row["assignee__full_name"] or row["assignee__email"], row["n"]) for row in per_agent]
    load.append((_("Unassigned"), tickets.filter(assignee=None).count()))
    breaches = SlaClock.objects.filter(breached_at__isnull=False)
    if not user.has_perm("support.view_compliance_ticket"):
        breaches = breaches.exclude(ticket__queue="compliance")
    return Panel(
        "support",
        _("Tickets and service times"),
        [
            Figure(
                _("My open tickets"),
                tickets.filter(assignee=user).count(),
                _changelist(Ticket, "who=mine"),
            ),
            Figure(
                _("Unassigned"),
                tickets.filter(assignee=None).count(),
                _changelist(Ticket, "who=unassigned"),
            ),
            Figure(
                _("Due within 1 hour"),
                soon.values("ticket").distinct().count(),
                _changelist(Ticket, "due=1h"),
                alert=True,
            ),
            Figure(
                _("Breached, still open"),
                breached_open,
                _changelist(Ticket, "due=breached"),
                alert=breached_open > 0,
            ),
            Figure(
                _("Met on time, last 30 days"),
                ratio_text(Decimal(met) / Decimal(done)) if done else "—",
            ),
        ],
        [
            Chart.of(_("Open tickets per agent"), load),
            Chart.days(
                _("Service time breaches per day"), _per_day(breaches, "breached_at", now), "alert"
            ),
        ],
    )


def kyc_panel(user, now) -> Panel | None:
    if not user.has_perm("accounts.view_kyccase"):
        return None
    waiting = KycCase.objects.filter(status=KycCase.Status.SUBMITTED)
    decided = KycCase.objects.filter(decided_at__isnull=False)
    return Panel(
        "kyc",
        _("KYC review"),
        [
            Figure(
                _("Awaiting a decision"), waiting.count(), _changelist(KycCase, "needs=decision")
            ),
            Figure(
                _("Flagged for a second reviewer"),
                waiting.filter(flagged_by__isnull=False).count(),
                _changelist(KycCase, "needs=second"),
                alert=True,
            ),
            Figure(
                _("Screening hits open"),
                ScreeningHit.objects.exclude(status__in=["cleared", "confirmed"]).count(),
                _changelist(KycCase, "hits=open"),
            ),
        ],
        [
            Chart.days(
                _("Cases approved per day"),
                _per_day(decided.filter(status=KycCase.Status.APPROVED), "decided_at", now),
            ),
            Chart.days(
                _("Cases rejected or sent back per day"),
                _per_day(decided.exclude(status=KycCase.Status.APPROVED), "decided_at", now),
                "alert",
            ),
        ],
    )


def risk_panel(user, now) -> Panel | None:
    if not user.has_perm("margin.view_marginaccount"):
        return None
    levels = dict(
        MarginAccount.objects.values_list("current_level").annotate(n=Count("pk")).order_by()
    )
    figures = [
        Figure(
            _("Open margin calls"),
            MarginCall.objects.filter(status=MarginCall.Status.OPEN).count(),
            _changelist(MarginCall, "status__exact=open"),
            alert=True,
        ),
    ]
    links: list[tuple[Any, str]] = [
        (_("Stress tests"), reverse("admin:margin_marginaccount_stress")),
    ]
    if user.has_perm("margin.view_liquidationplan"):
        figures.append(
            Figure(
                _("Liquidation plans awaiting a decision"),
                LiquidationPlan.objects.filter(status=LiquidationPlan.Status.PROPOSED).count(),
                _changelist(LiquidationPlan, "status__exact=proposed"),
                alert=True,
            )
        )
    if user.has_perm("funds.approve_withdrawalrequest"):
        figures.append(
            Figure(
                _("Withdrawals awaiting approval"),
                WithdrawalRequest.objects.filter(
                    status=WithdrawalRequest.Status.AWAITING_APPROVAL
                ).count(),
                _changelist(WithdrawalRequest, "status__exact=awaiting_approval"),
            ),
        )
    if user.has_perm("margin.view_volatilityregime"):
        figures.append(
            Figure(
                _("Volatility regime proposals"),
                VolatilityRegime.objects.filter(status=VolatilityRegime.Status.PROPOSED).count(),
                _changelist(VolatilityRegime, "status__exact=proposed"),
            ),
        )
    if user.has_perm("margin.view_riskreport"):
        links.append((_("Weekly risk reports"), reverse("admin:margin_riskreport_changelist")))
    return Panel(
        "risk",
        _("Margin risk"),
        figures,
        [
            Chart.of(
                _("Accounts per margin level"),
                [(level.label, levels.get(level.value, 0)) for level in Level],
                "level",
            )
        ],
        links,
    )


def compliance_panel(user, now) -> Panel | None:
    if not user.has_perm("disclosures.view_changenotice"):
        return None
    notified = dict(ChangeNotice.objects.values_list("version").annotate(n=Count("pk")).order_by())
    answered = dict(
        Acknowledgement.objects.filter(version__in=list(notified))
        .values_list("version")
        .annotate(n=Count("client", distinct=True))
        .order_by()
    )
    versions = DocumentVersion.objects.filter(pk__in=list(notified)).select_related("document")
    rates = [
        (f"{v.document} {v.label}", round(100 * answered.get(v.pk, 0) / notified[v.pk]))
        for v in versions
    ]
    complaints = Ticket.objects.filter(
        queue="compliance", status__in=[Ticket.Status.OPEN, Ticket.Status.WAITING_ON_CLIENT]
    )
    figures = [Figure(_("Clients told of a change"), sum(notified.values()))]
    if user.has_perm("support.view_compliance_ticket"):
        figures.append(
            Figure(
                _("Open complaints and disputes"),
                complaints.count(),
                _changelist(Ticket, "queue__exact=compliance"),
            )
        )
    chart = Chart.of(_("Acknowledgement rate of each change (%)"), rates)
    return Panel("compliance", _("Disclosures and complaints"), figures, [chart])


def panels_for(user) -> list[Panel]:
    now = timezone.now()
    built = (
        support_panel(user, now),
        kyc_panel(user, now),
        risk_panel(user, now),
        compliance_panel(user, now),
    )
    return [panel for panel in built if panel is not None]
