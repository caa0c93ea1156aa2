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
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

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


def scheduled_version(kind: str) -> DocumentVersion | None:
    """The published version waiting for its effective time, if any."""
    return (
        DocumentVersion.objects.select_related("document")
        .filter(document__kind=kind, status=VersionStatus.SCHEDULED)
        .order_by("effective_at")
        .first()
    )


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


def notice_decision_for(version: DocumentVersion) -> rules.NoticeDecision:
    """The notice the version needs against the version in force, decided from the items."""
    current = version_in_force(version.document.kind)
    if current is not None and current.pk == version.pk:
        current = None
    return rules.notice_decision(
        has_prior=current is not None,
        changes=rules.compare_items(items_of(current), items_of(version)),
    )


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
    """What the banner shows: notices with no answer at all (a decline also silences it)."""
    answered = Exists(
        Acknowledgement.objects.filter(client=OuterRef("client"), version=OuterRef("version"))
    )
    return list(pending_notices(user=user).exclude(answered)[:5])


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
