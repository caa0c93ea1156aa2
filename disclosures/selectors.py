"""Reads shared by views and by other apps. The only place rates and versions are looked up.

For other apps:

- `version_in_force(kind, at=None)`: the DocumentVersion in force (None if none). Without `at`,
  the version the sweep has switched into force; with `at`, the version whose effective time is
  the latest at or before `at` (for computing a past day's interest).
- `fee_item_in_force(code, at=None)` -> `FeeQuote` (value, basis, and the version that justifies
  it, so a charge line can name fee item + version). Raises `FeeItemNotFound`.
- `contract_item_in_force(code, at=None)`: the same for the margin contract terms (lines, caps).
- `financing_rate_in_force(tier, at=None)` and `penalty_rate_in_force(at=None)`.
- `may_open_financing(user)`, `may_close_without_fee(user)`, `accepted_version(user, kind)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import JSONObject
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from disclosures import rules
from disclosures.models import (
    PUBLISHED_STATUSES,
    Acknowledgement,
    ChangeNotice,
    Document,
    DocumentKind,
    DocumentVersion,
    FeeItem,
    VersionStatus,
)
from disclosures.scenarios import Scenario, assess
from portal import rows

if TYPE_CHECKING:
    from accounts.models import User

FINANCING_RATE_CODE = "financing_rate_tier{tier}"
PENALTY_RATE_CODE = "penalty_rate"
TRADE_FEE_CODE = "trade_service_fee"
# What a client must have accepted, in the version in force, before new financing.
FINANCING_DOCUMENTS = (DocumentKind.TERMS, DocumentKind.MARGIN_CONTRACT, DocumentKind.FEE_SCHEDULE)


class FeeItemNotFound(LookupError):
    """No version in force carries this code: nothing may be charged for it."""


@dataclass(frozen=True)
class FeeQuote:
    code: str
    value: Decimal
    basis: str
    tier: int | None
    item: FeeItem
    version: DocumentVersion

    @property
    def reference(self) -> str:
        """How a charge line names its justification: `fee_schedule v3 financing_rate_tier2`."""
        return f"{self.version.document.kind} v{self.version.number} {self.code}"

    @property
    def citation(self) -> str:
        """The same justification for a client, in the active language (see `citation`)."""
        return citation(self.version, self.item)


def citation(version: DocumentVersion, item: FeeItem | None = None) -> str:
    """A document version (and one of its items) as a client reads it, in the active language:
    the document's title, its version and the item's name, never the internal codes."""
    language = get_language() or settings.LANGUAGE_CODE
    text = f"{version.document.title_for(language)} {version.label}"
    return f"{text} · {item.name_for(language)}" if item is not None else text


def published_versions(kind: str) -> QuerySet[DocumentVersion]:
    return (
        DocumentVersion.objects.filter(document__kind=kind, status__in=PUBLISHED_STATUSES)
        .select_related("document")
        .order_by("-number")
    )


def version_in_force(kind: str, at: datetime | None = None) -> DocumentVersion | None:
    """The version of `kind` in force now (as switched), or at time `at` (by effective time)."""
    versions = DocumentVersion.objects.select_related("document").filter(document__kind=kind)
    if at is None:
        return versions.filter(status=VersionStatus.IN_FORCE).first()
    return (
        versions.filter(status__in=PUBLISHED_STATUSES, effective_at__lte=at)
        .order_by("-effective_at", "-number")
        .first()
    )


# The texts are not read with a version as a column of another app's statement: what reads it so
# decides by the version's number and id (a gate, a rate); its texts load if asked for.
_TEXTS = {"text_zh", "text_en", "summary_zh", "summary_en"}


def version_in_force_column(kind: str) -> Subquery:
    """``version_in_force(kind)`` (now) as a column of a larger statement: its row and its
    document's as JSON, without the texts; ``version_from`` reads it."""
    fields = [f.attname for f in DocumentVersion._meta.concrete_fields if f.attname not in _TEXTS]
    return Subquery(
        DocumentVersion.objects.filter(document__kind=kind, status=VersionStatus.IN_FORCE).values(
            row=JSONObject(
                version=rows.row(DocumentVersion, only=fields),
                document=rows.row(Document, "document__"),
            )
        )[:1]
    )


def version_from(value: Any) -> DocumentVersion | None:
    """The version ``version_in_force_column`` read (its texts deferred)."""
    found = rows.load(value)
    if found is None:
        return None
    return rows.instance(
        DocumentVersion, found["version"], document=rows.instance(Document, found["document"])
    )


def fee_item_in_force_column(code: str) -> Subquery:
    """The item ``fee_item_in_force(code)`` (now) quotes, as a column of a larger statement
    (its row as JSON, NULL when the version in force has none); ``fee_item_from`` reads it."""
    in_force = DocumentVersion.objects.filter(
        document__kind=DocumentKind.FEE_SCHEDULE, status=VersionStatus.IN_FORCE
    )
    return Subquery(
        FeeItem.objects.filter(version=Subquery(in_force.values("pk")[:1]), code=code)
        .order_by("order", "code")
        .values(row=rows.row(FeeItem))[:1]
    )


def fee_item_from(value: Any) -> FeeItem | None:
    return rows.instance(FeeItem, rows.load(value))


def scheduled_version(kind: str) -> DocumentVersion | None:
    """The next published version waiting for its effective time, if any."""
    return (
        DocumentVersion.objects.select_related("document")
        .filter(document__kind=kind, status=VersionStatus.SCHEDULED)
        .order_by("effective_at")
        .first()
    )


def latest_version(kind: str) -> DocumentVersion | None:
    """The end of the chain: the scheduled version taking effect last, else the one in force.

    A new draft starts from it and is compared against it; only a version drafted from it may be
    scheduled next.
    """
    versions = DocumentVersion.objects.select_related("document").filter(document__kind=kind)
    scheduled = (
        versions.filter(status=VersionStatus.SCHEDULED).order_by("-effective_at", "-number").first()
    )
    return scheduled or versions.filter(status=VersionStatus.IN_FORCE).first()


def _item_in_force(kind: str, code: str, at: datetime | None) -> FeeQuote:
    version = version_in_force(kind, at)
    item = version.items.filter(code=code).first() if version else None
    if version is None or item is None:
        raise FeeItemNotFound(f"No {kind} version in force has an item {code!r}.")
    return FeeQuote(code, item.value, item.basis, item.tier, item, version)


def fee_item_in_force(code: str, at: datetime | None = None) -> FeeQuote:
    return _item_in_force(DocumentKind.FEE_SCHEDULE, code, at)


def contract_item_in_force(code: str, at: datetime | None = None) -> FeeQuote:
    return _item_in_force(DocumentKind.MARGIN_CONTRACT, code, at)


def financing_rate_in_force(tier: int, at: datetime | None = None) -> FeeQuote:
    return fee_item_in_force(FINANCING_RATE_CODE.format(tier=tier), at)


def penalty_rate_in_force(at: datetime | None = None) -> FeeQuote:
    return fee_item_in_force(PENALTY_RATE_CODE, at)


def items_of(version: DocumentVersion | None) -> list[FeeItem]:
    return list(version.items.all()) if version else []


def financing_tiers(at: datetime | None = None) -> list[FeeItem]:
    """The financing rate items in force, one per leverage tier, in tier order."""
    version = version_in_force(DocumentKind.FEE_SCHEDULE, at)
    if version is None:
        return []
    return list(
        version.items.filter(code__startswith="financing_rate_tier", tier__isnull=False).order_by(
            "tier"
        )
    )


# --- documents for the public pages ---------------------------------------------------------------


@dataclass(frozen=True)
class DocumentRow:
    document: Document
    in_force: DocumentVersion | None
    scheduled: DocumentVersion | None


def document_rows() -> list[DocumentRow]:
    """Every document with its version in force and its scheduled change, in two queries."""
    documents = list(Document.objects.all())
    versions = DocumentVersion.objects.filter(
        status__in=[VersionStatus.IN_FORCE, VersionStatus.SCHEDULED]
    ).order_by("effective_at")
    in_force: dict[int, DocumentVersion] = {}
    scheduled: dict[int, DocumentVersion] = {}
    for version in versions:
        target = in_force if version.status == VersionStatus.IN_FORCE else scheduled
        target.setdefault(version.document_id, version)
    return [DocumentRow(d, in_force.get(d.pk), scheduled.get(d.pk)) for d in documents]


@dataclass(frozen=True)
class ItemRow:
    code: str
    old: FeeItem | None
    new: FeeItem | None
    effect: str


def item_rows(old: DocumentVersion | None, new: DocumentVersion | None) -> list[ItemRow]:
    """Items of two versions as old → new rows, with each change's effect for the client."""
    old_items, new_items = items_of(old), items_of(new)
    by_code_old = {i.code: i for i in old_items}
    by_code_new = {i.code: i for i in new_items}
    return [
        ItemRow(
            change.code, by_code_old.get(change.code), by_code_new.get(change.code), change.effect
        )
        for change in rules.compare_items(old_items, new_items)
    ]


@dataclass(frozen=True)
class Comparison:
    """A version against the one it is compared with: scenarios, other changes and the notice."""

    version: DocumentVersion
    base: DocumentVersion | None
    latest: DocumentVersion | None
    scenarios: list[Scenario]
    items: list[rules.ItemChange]
    terms: list[rules.TermsChange]
    decision: rules.NoticeDecision

    @property
    def on_latest(self) -> bool:
        """Whether the version starts from the end of the chain, as scheduling requires."""
        return (self.latest.pk if self.latest else None) == self.version.base_id

    @property
    def worse(self) -> list[Scenario]:
        return [row for row in self.scenarios if row.effect == rules.WORSE]

    @property
    def worse_items(self) -> list[str]:
        return [change.code for change in self.items if change.effect == rules.WORSE]


def comparison_base(version: DocumentVersion) -> DocumentVersion | None:
    """What a version is compared against: the version it was drafted from.

    Versions from before bases were recorded: a published one against the published version
    numbered before it (one was scheduled at a time then); a draft against the latest, which it
    must be rebased onto before it can be scheduled.
    """
    if version.base_id is not None:
        return version.base
    if version.is_published:
        return published_versions(version.document.kind).filter(number__lt=version.number).first()
    latest = latest_version(version.document.kind)
    return latest if latest is not None and latest.pk != version.pk else None


def comparison_for(version: DocumentVersion) -> Comparison:
    base = comparison_base(version)
    latest = latest_version(version.document.kind)
    if latest is not None and latest.pk == version.pk:
        latest = base
    assessment = assess(
        has_prior=base is not None,
        old_texts=(base.text_zh, base.text_en) if base else (),
        new_texts=(version.text_zh, version.text_en),
        old_items=items_of(base),
        new_items=items_of(version),
    )
    return Comparison(
        version,
        base,
        latest,
        assessment.scenarios,
        assessment.items,
        assessment.terms,
        assessment.decision,
    )


def notice_decision_for(version: DocumentVersion) -> rules.NoticeDecision:
    """The notice the version needs against the version it starts from."""
    return comparison_for(version).decision


# --- the client's side ----------------------------------------------------------------------------


def _accepted() -> Exists:
    return Exists(
        Acknowledgement.objects.filter(
            client=OuterRef("client"),
            version=OuterRef("version"),
            decision=Acknowledgement.Decision.ACCEPTED,
        )
    )


def pending_notices(*, user: User) -> QuerySet[ChangeNotice]:
    """Changes the client was told about and has not accepted, scheduled or in force."""
    return (
        ChangeNotice.objects.filter(
            client=user, version__status__in=[VersionStatus.SCHEDULED, VersionStatus.IN_FORCE]
        )
        .exclude(_accepted())
        .select_related("version__document", "previous_version")
        .order_by("version__effective_at")
    )


def banner_notices(*, user: User) -> list[ChangeNotice]:
    """What the banner shows: notices with no answer at all (a decline also silences it).

    It runs on every page a client opens, and almost always finds nothing: so first the ids,
    over the notice, its version and the answers only (PostgreSQL plans the six-table join of
    `pending_notices` in about 5 ms, this in 0.2 ms), then the rows to show, if any.
    """
    answered = Exists(
        Acknowledgement.objects.filter(client=OuterRef("client"), version=OuterRef("version"))
    )
    ids = list(
        ChangeNotice.objects.filter(
            client=user, version__status__in=[VersionStatus.SCHEDULED, VersionStatus.IN_FORCE]
        )
        .exclude(answered)
        .order_by("version__effective_at", "pk")
        .values_list("pk", flat=True)[:5]
    )
    if not ids:
        return []
    return list(
        ChangeNotice.objects.filter(pk__in=ids)
        .select_related("version__document", "previous_version")
        .order_by("version__effective_at", "pk")
    )


def notice_for_user(*, user: User, pk: int) -> ChangeNotice | None:
    return (
        ChangeNotice.objects.filter(client=user, pk=pk)
        .select_related("version__document", "previous_version__document")
        .first()
    )


def latest_decision(*, user: User, version: DocumentVersion) -> Acknowledgement | None:
    return Acknowledgement.objects.filter(client=user, version=version).order_by("-id").first()


def accepted_version(user: User, kind: str) -> DocumentVersion | None:
    """The latest version of `kind` the client accepted: what their existing contract runs on."""
    ack = (
        Acknowledgement.objects.filter(
            client=user, version__document__kind=kind, decision=Acknowledgement.Decision.ACCEPTED
        )
        .select_related("version__document")
        .order_by("-version__number")
        .first()
    )
    return ack.version if ack else None


def accepted_client_ids(version: DocumentVersion) -> QuerySet[Acknowledgement, int]:
    """The ids of the clients who accepted `version` (a values_list, usable in a subquery)."""
    return Acknowledgement.objects.filter(
        version=version, decision=Acknowledgement.Decision.ACCEPTED
    ).values_list("client_id", flat=True)


def may_open_financing(user: User) -> bool:
    """New financing needs the versions in force of the terms, contract and fees accepted."""
    for kind in FINANCING_DOCUMENTS:
        current = version_in_force(kind)
        if current is None:
            return False
        accepted = accepted_version(user, kind)
        if accepted is None or accepted.pk != current.pk:
            return False
    return True


def may_close_without_fee(user: User) -> bool:
    """A client who declined a published change may close their financing without a fee."""
    declined = Acknowledgement.objects.filter(
        client=user,
        decision=Acknowledgement.Decision.DECLINED,
        version__status__in=[VersionStatus.SCHEDULED, VersionStatus.IN_FORCE],
    ).values_list("version_id", flat=True)
    accepted_after = set(
        Acknowledgement.objects.filter(
            client=user, decision=Acknowledgement.Decision.ACCEPTED, version_id__in=list(declined)
        ).values_list("version_id", flat=True)
    )
    return any(v not in accepted_after for v in declined)


# --- the calendar of changes, for compliance -----------------------------------------------------

ANSWER_CHOICES = (
    ("read", _("read")),
    ("unread", _("not read")),
    ("accepted", _("accepted")),
    ("declined", _("declined")),
    ("unanswered", _("no answer")),
    ("not_accepted", _("not accepted: moves at rollover")),
)


def _acks(decision: str | None = None) -> Exists:
    acks = Acknowledgement.objects.filter(client=OuterRef("client"), version=OuterRef("version"))
    return Exists(acks.filter(decision=decision) if decision else acks)


def notices_by_answer(notices: QuerySet[ChangeNotice], answer: str) -> QuerySet[ChangeNotice]:
    """Notices narrowed to one answer (ANSWER_CHOICES); an unknown answer narrows to none."""
    accepted, declined = (
        _acks(Acknowledgement.Decision.ACCEPTED),
        _acks(Acknowledgement.Decision.DECLINED),
    )
    conditions = {
        "read": Q(read_at__isnull=False),
        "unread": Q(read_at__isnull=True),
        "accepted": Q(accepted),
        "declined": Q(declined) & ~Q(accepted),
        "unanswered": ~Q(_acks()),
        "not_accepted": ~Q(accepted),
    }
    if answer not in conditions:
        return notices.none()
    return notices.filter(conditions[answer])


@dataclass(frozen=True)
class CalendarChange:
    """One published version in a document's calendar, and how clients answered it."""

    version: DocumentVersion
    notified: int
    read: int
    accepted: int
    declined: int
    reminders_sent: int
    reminders_due: int

    @property
    def unanswered(self) -> int:
        return self.notified - self.accepted - self.declined

    @property
    def moving_at_rollover(self) -> int:
        """Clients who have not accepted: their existing contracts keep the old terms until
        rollover and move to this version then."""
        return self.notified - self.accepted

    @property
    def notice_given(self) -> timedelta | None:
        v = self.version
        return v.effective_at - v.published_at if v.effective_at and v.published_at else None

    @property
    def reminder_at(self) -> datetime | None:
        v = self.version
        if v.status != VersionStatus.SCHEDULED or v.effective_at is None:
            return None
        return v.effective_at - rules.REMINDER_LEAD

    def share(self, count: int) -> Decimal | None:
        if not self.notified:
            return None
        return (Decimal(count) * 100 / self.notified).quantize(Decimal("0.1"))

    @property
    def read_share(self) -> Decimal | None:
        return self.share(self.read)

    @property
    def accepted_share(self) -> Decimal | None:
        return self.share(self.accepted)

    @property
    def declined_share(self) -> Decimal | None:
        return self.share(self.declined)


@dataclass(frozen=True)
class CalendarDocument:
    document: Document
    changes: list[CalendarChange]  # the version in force, then the scheduled ones in chain order


def change_calendar(*, now: datetime | None = None) -> list[CalendarDocument]:
    """Every document with its version in force and its scheduled versions, each with notices
    sent, answers, reminders and clients moving at rollover: a fixed number of queries."""
    now = now or timezone.now()
    documents = list(Document.objects.all())
    versions = list(
        DocumentVersion.objects.filter(status__in=[VersionStatus.IN_FORCE, VersionStatus.SCHEDULED])
        .select_related("document", "base", "scheduled_by", "approved_by")
        .order_by("effective_at", "number")
    )
    ids = [v.pk for v in versions]
    accepted = _acks(Acknowledgement.Decision.ACCEPTED)
    declined = _acks(Acknowledgement.Decision.DECLINED)
    stats: dict[int, Any] = {
        row["version"]: row
        for row in ChangeNotice.objects.filter(version__in=ids)
        .annotate(was_accepted=accepted, was_declined=declined)
        .values("version")
        .annotate(
            notified=Count("pk"),
            read=Count("pk", filter=Q(read_at__isnull=False)),
            accepted=Count("pk", filter=Q(was_accepted=True)),
            declined=Count("pk", filter=Q(was_declined=True, was_accepted=False)),
            reminded=Count("pk", filter=Q(reminder_sent_at__isnull=False)),
        )
        .order_by()
    }
    due = dict(
        reminder_due_notices(now=now)
        .filter(version__in=ids)
        .values("version")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("version", "n")
    )
    by_document: dict[int, list[CalendarChange]] = {d.pk: [] for d in documents}
    for version in versions:
        row = stats.get(version.pk, {})
        by_document[version.document_id].append(
            CalendarChange(
                version=version,
                notified=row.get("notified", 0),
                read=row.get("read", 0),
                accepted=row.get("accepted", 0),
                declined=row.get("declined", 0),
                reminders_sent=row.get("reminded", 0),
                reminders_due=due.get(version.pk, 0),
            )
        )
    for changes in by_document.values():
        changes.sort(key=lambda c: c.version.status != VersionStatus.IN_FORCE)
    return [CalendarDocument(d, by_document[d.pk]) for d in documents]


def reminder_due_notices(*, now: datetime | None = None) -> QuerySet[ChangeNotice]:
    now = now or timezone.now()
    answered = Exists(
        Acknowledgement.objects.filter(client=OuterRef("client"), version=OuterRef("version"))
    )
    return (
        ChangeNotice.objects.filter(
            version__status=VersionStatus.SCHEDULED,
            version__effective_at__lte=now + rules.REMINDER_LEAD,
            version__effective_at__gt=now,
            reminder_sent_at__isnull=True,
        )
        .exclude(answered)
        .order_by("pk")
    )
