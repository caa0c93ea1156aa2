"""One page per client (客户全景): everything the platform holds about one client, each part
linked to where staff work it, and each part shown only to a role whose job reads it.

A part is gated by the same view permission as the admin list it summarises, so this page never
shows a role more than the admin already does: an agent sees tickets and margin status, a KYC
reviewer the case and the rating, compliance the evidence and the audit trail. Contact details
are masked here for everyone (the ticket page shows them to the agent working the ticket).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from accounts.kyc_models import (
    AssetDeclaration,
    Consent,
    EligibilityOverride,
    KycCase,
    SuitabilityAssessment,
)
from accounts.models import User
from audit.labels import action_label
from audit.models import AuditEntry
from disclosures.models import Acknowledgement
from education.models import GateConfirmation
from education.products import product_label
from funds.models import BankAccount, CustodianTransaction, WithdrawalRequest
from margin.models import (
    AccountFreeze,
    LiquidationPlan,
    MarginAccount,
    MarginCall,
    MarginContract,
    MarginEvent,
    Restriction,
)
from notices.models import Notification
from notices.registry import notice_label
from portal.admin_display import ratio_text, yuan_text
from support import selectors as support_selectors
from support.models import Ticket

ROWS = 10
HISTORY = 30


@dataclass
class Part:
    """One part of the page: a heading, rows of cells, a link to the full list."""

    key: str
    title: Any
    columns: list[Any]
    rows: list[dict] = field(default_factory=list)
    more_url: str = ""


def _change_url(obj) -> str:
    """The object's admin page, or "" for a model the admin does not list."""
    try:
        return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return ""


def _list_url(model, **filters) -> str:
    query = "&".join(f"{key}={value}" for key, value in filters.items())
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    return f"{url}?{query}" if query else url


def _row(obj, *cells) -> dict:
    return {"url": _change_url(obj), "cells": list(cells)}


def mask_phone(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 8 else ("*" * len(phone))


def mask_email(email: str) -> str:
    name, _at, domain = email.partition("@")
    return f"{name[:1]}***@{domain}" if domain else "***"


def is_client(user: User | None) -> bool:
    return user is not None and not user.is_staff and not user.is_superuser


def client_of(obj) -> User | None:
    """The client an admin object belongs to, or None (staff, reference data)."""
    paths = ("client", "user", "recipient", "account.client", "margin_account.client")
    paths += ("ticket.client", "case.user")
    for path in paths:
        value = obj
        for attribute in path.split("."):
            value = getattr(value, attribute, None)
            if value is None:
                break
        if isinstance(value, User):
            return value if is_client(value) else None
    if isinstance(obj, User):
        return obj if is_client(obj) else None
    return None


def _levels_chart(events: list[MarginEvent]) -> dict | None:
    """The maintenance ratio at each level change, as points of a small line chart."""
    points = [(e.occurred_at, e.ratio) for e in events if e.ratio is not None]
    if len(points) < 2:
        return None
    ratios = [float(r) for _t, r in points]
    top, bottom = max([*ratios, 1.6]), min([*ratios, 1.1])
    width, height = 300, 80
    span = (top - bottom) or 1.0

    def y(value: float) -> float:
        return round(height - (value - bottom) / span * height, 1)

    step = width / (len(points) - 1)
    return {
        "points": " ".join(f"{round(i * step, 1)},{y(r)}" for i, r in enumerate(ratios)),
        "warning_y": y(1.5),
        "call_y": y(1.3),
        "liquidation_y": y(1.2),
        "width": width,
        "height": height,
        "first": points[0][0],
        "last": points[-1][0],
    }


def client_page(*, viewer, client: User) -> dict:
    """Everything on the page for ``client`` as ``viewer`` may see it."""
    can = viewer.has_perm
    parts: list[Part] = []
    case = KycCase.objects.filter(user=client).first()
    accounts = list(MarginAccount.objects.filter(client=client).order_by("opened_at"))
    account_ids = [a.pk for a in accounts]
    summary: dict[str, Any] = {
        "name": (case.legal_name if case and case.legal_name else "") or client.full_name,
        "phone": mask_phone(client.phone or ""),
        "email": mask_email(client.email),
        "joined": client.date_joined,
        "accounts": [
            {"number": a.number, "level": a.get_current_level_display()} for a in accounts
        ],
    }

    if can("accounts.view_kyccase") and case is not None:
        summary["kyc"] = {
            "status": case.get_status_display(),
            "id_number": case.masked_id_number,
            "url": _change_url(case),
            "risk_score": case.risk_score,
        }
        consents = Consent.objects.filter(user=client).order_by("-decided_at")[:ROWS]
        parts.append(
            Part(
                "consents",
                _("Consents"),
                [_("purpose"), _("granted"), _("decided at")],
                [
                    {
                        "url": _change_url(case),
                        "cells": [c.get_purpose_display(), c.granted, c.decided_at],
                    }
                    for c in consents
                ],
            )
        )
    if can("accounts.view_suitabilityassessment"):
        assessment = (
            SuitabilityAssessment.objects.filter(user=client).order_by("-assessed_at").first()
        )
        if assessment is not None:
            summary["rating"] = {
                "rating": assessment.rating,
                "score": assessment.score,
                "assessed_at": assessment.assessed_at,
                "valid_until": assessment.valid_until,
                # Assessments are read on the KYC case page, beside the answers.
                "url": _change_url(case) if case is not None else "",
            }
    if can("accounts.view_assetdeclaration"):
        declarations = AssetDeclaration.objects.filter(user=client).order_by("-declared_at")
        parts.append(
            Part(
                "assets",
                _("Asset declarations"),
                [_("declared at"), _("20-trading-day average assets (RMB)"), _("status")],
                [
                    _row(d, d.declared_at, yuan_text(d.average_assets), d.get_status_display())
                    for d in declarations[:ROWS]
                ],
                _list_url(AssetDeclaration, user__id__exact=client.pk),
            )
        )
    if can("accounts.view_eligibilityoverride"):
        overrides = EligibilityOverride.objects.filter(user=client).order_by("-requested_at")
        if overrides:
            parts.append(
                Part(
                    "overrides",
                    _("Eligibility overrides"),
                    [_("requested at"), _("status"), _("reason")],
                    [
                        _row(o, o.requested_at, o.get_status_display(), o.reason)
                        for o in overrides[:ROWS]
                    ],
                )
            )
    if can("education.view_gateconfirmation"):
        gates = GateConfirmation.objects.filter(user=client).order_by("-confirmed_at")
        parts.append(
            Part(
                "gate",
                _("Gate confirmations"),
                [_("product"), _("confirmed at"), _("valid until"), _("status")],
                [
                    _row(
                        g,
                        product_label(g.product) or g.get_kind_display(),
                        g.confirmed_at,
                        g.valid_until,
                        _("withdrawn")
                        if g.withdrawn_at
                        else (_("expired") if g.expired_at else _("valid")),
                    )
                    for g in gates[:ROWS]
                ],
                _list_url(GateConfirmation, user__id__exact=client.pk),
            )
        )
    if can("disclosures.view_acknowledgement"):
        acks = (
            Acknowledgement.objects.filter(client=client)
            .select_related("version__document")
            .order_by("-acknowledged_at")
        )
        parts.append(
            Part(
                "acknowledgements",
                _("Acknowledgements"),
                [_("document"), _("decision"), _("time")],
                [
                    _row(
                        a,
                        f"{a.version.document} {a.version.label}",
                        a.get_decision_display(),
                        a.acknowledged_at,
                    )
                    for a in acks[:ROWS]
                ],
                _list_url(Acknowledgement, client__id__exact=client.pk),
            )
        )
    if can("margin.view_margincontract"):
        contracts = MarginContract.objects.filter(account_id__in=account_ids).order_by("-starts_on")
        parts.append(
            Part(
                "contracts",
                _("Margin contracts"),
                [
                    _("contract number"),
                    _("status"),
                    _("leverage tier"),
                    _("annual financing rate"),
                    _("rollover date"),
                ],
                [
                    _row(
                        c,
                        c.number,
                        c.get_status_display(),
                        c.leverage_tier,
                        ratio_text(c.annual_rate),
                        c.rollover_on,
                    )
                    for c in contracts[:ROWS]
                ],
            )
        )
    chart = None
    if can("margin.view_marginaccount"):
        summary["margin"] = [
            {
                "url": _change_url(a),
                "number": a.number,
                "level": a.get_current_level_display(),
                "level_key": a.current_level,
                "ratio": ratio_text(a.last_ratio),
                "cash": yuan_text(a.cash),
                "debt": yuan_text(a.debt),
                "interest": yuan_text(a.accrued_interest),
                "fees": yuan_text(a.fees_owed),
                "net": yuan_text(a.cash - a.debt - a.accrued_interest - a.fees_owed),
            }
            for a in accounts
        ]
    if can("margin.view_marginevent"):
        events = list(
            MarginEvent.objects.filter(account_id__in=account_ids).order_by("-occurred_at")[
                :HISTORY
            ]
        )
        chart = _levels_chart(list(reversed(events)))
        parts.append(
            Part(
                "events",
                _("Margin level history"),
                [_("time"), _("from"), _("to"), _("maintenance ratio")],
                [
                    _row(
                        e,
                        e.occurred_at,
                        e.get_from_level_display(),
                        e.get_to_level_display(),
                        ratio_text(e.ratio),
                    )
                    for e in events[:ROWS]
                ],
                _list_url(MarginEvent, account__id__in=",".join(map(str, account_ids)))
                if account_ids
                else "",
            )
        )
    if can("margin.view_margincall"):
        calls = MarginCall.objects.filter(account_id__in=account_ids).order_by("-issued_at")
        parts.append(
            Part(
                "calls",
                _("Margin calls"),
                [_("issued at"), _("status"), _("deadline"), _("deposit needed")],
                [
                    _row(
                        c,
                        c.issued_at,
                        c.get_status_display(),
                        c.deadline,
                        yuan_text(c.deposit_needed),
                    )
                    for c in calls[:ROWS]
                ],
            )
        )
    if can("margin.view_restriction"):
        restrictions = Restriction.objects.filter(account_id__in=account_ids).order_by(
            "-imposed_at"
        )
        parts.append(
            Part(
                "restrictions",
                _("Restrictions"),
                [_("kind"), _("imposed at"), _("lifted at")],
                [
                    _row(r, r.get_kind_display(), r.imposed_at, r.lifted_at)
                    for r in restrictions[:ROWS]
                ],
            )
        )
    if can("margin.view_accountfreeze"):
        freezes = AccountFreeze.objects.filter(account_id__in=account_ids).order_by("-pk")
        if freezes:
            parts.append(
                Part(
                    "freezes",
                    _("Account freezes"),
                    [_("status")],
                    [_row(f, f.get_status_display()) for f in freezes[:ROWS]],
                )
            )
    if can("margin.view_liquidationplan"):
        plans = LiquidationPlan.objects.filter(account_id__in=account_ids).order_by("-proposed_at")
        parts.append(
            Part(
                "plans",
                _("Liquidation plans"),
                [_("proposed at"), _("status"), _("expected proceeds")],
                [
                    _row(p, p.proposed_at, p.get_status_display(), yuan_text(p.expected_proceeds))
                    for p in plans[:ROWS]
                ],
            )
        )
    if can("funds.view_withdrawalrequest"):
        withdrawals = WithdrawalRequest.objects.filter(margin_account_id__in=account_ids)
        parts.append(
            Part(
                "withdrawals",
                _("Withdrawals"),
                [_("requested at"), _("amount"), _("status")],
                [
                    _row(w, w.requested_at, yuan_text(w.amount), w.get_status_display())
                    for w in withdrawals.order_by("-requested_at")[:ROWS]
                ],
            )
        )
    if can("funds.view_custodiantransaction"):
        receipts = CustodianTransaction.objects.filter(margin_account_id__in=account_ids)
        parts.append(
            Part(
                "receipts",
                _("Deposits received"),
                [_("value date"), _("bank reference"), _("amount")],
                [
                    _row(t, t.value_date, t.bank_reference, yuan_text(t.amount))
                    for t in receipts.order_by("-value_date")[:ROWS]
                ],
            )
        )
    if can("funds.view_bankaccount"):
        banks = BankAccount.objects.filter(client=client)
        parts.append(
            Part(
                "banks",
                _("Bank accounts"),
                [_("bank"), _("account number"), _("verified at")],
                [_row(b, b.bank_name, b.masked_number, b.verified_at) for b in banks[:ROWS]],
            )
        )
    if can("support.view_ticket"):
        tickets = support_selectors.visible_tickets(
            user=viewer, queryset=Ticket.objects.filter(client=client)
        ).order_by("-created_at")
        parts.append(
            Part(
                "tickets",
                _("Tickets"),
                ["#", _("subject"), _("status"), _("created at")],
                [
                    _row(t, f"#{t.pk}", t.subject, t.get_status_display(), t.created_at)
                    for t in tickets[:ROWS]
                ],
                _list_url(Ticket, client__id__exact=client.pk, active="all"),
            )
        )
    if can("notices.view_notification"):
        sent = Notification.objects.filter(recipient=client).order_by("-created_at")
        parts.append(
            Part(
                "notices",
                _("Notices sent"),
                [_("time"), _("notice"), _("channel"), _("status")],
                [
                    _row(
                        n,
                        n.created_at,
                        notice_label(n.key),
                        n.get_channel_display(),
                        n.get_status_display(),
                    )
                    for n in sent[:ROWS]
                ],
                _list_url(Notification, recipient__id__exact=client.pk),
            )
        )
    if can("audit.view_auditentry"):
        parts.append(_audit_part(client, case, accounts))
    return {"client": client, "summary": summary, "parts": parts, "chart": chart}


def _audit_part(client: User, case: KycCase | None, accounts: list[MarginAccount]) -> Part:
    """The audit entries about the client: done by them, or to their user, case or accounts."""
    about = Q(actor_id=client.pk) | Q(object_type="accounts.user", object_id=str(client.pk))
    if case is not None:
        about |= Q(object_type="accounts.kyccase", object_id=str(case.pk))
    if accounts:
        about |= Q(object_type="margin.marginaccount", object_id__in=[str(a.pk) for a in accounts])
    tickets = [str(pk) for pk in Ticket.objects.filter(client=client).values_list("pk", flat=True)]
    if tickets:
        about |= Q(object_type="support.ticket", object_id__in=tickets)
    entries = AuditEntry.objects.filter(about).order_by("-seq")[:ROWS]
    return Part(
        "audit",
        _("Audit trail"),
        ["#", _("time"), _("actor"), _("action")],
        [
            _row(
                e,
                e.seq,
                e.created_at,
                _("the client") if e.actor_id == client.pk else e.actor_repr,
                action_label(e.action),
            )
            for e in entries
        ],
    )
