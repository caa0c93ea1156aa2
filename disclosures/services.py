"""Writes: the publishing workflow, the switch at the effective time, and client decisions.

draft → in review → (approved by a second compliance officer) → scheduled → in force → superseded.
Scheduling is publication: the content hash is fixed, every affected client is notified, and the
effective time must respect the notice period the change calls for, computed on reference
scenarios against the version it starts from (disclosures/rules.py, disclosures/scenarios.py).

Versions of a document form a chain: a draft starts from the latest version in force or scheduled
(its base), only a version drafted from the end of the chain may be scheduled, and it takes effect
after its base. A draft overtaken by another publication is rebased, never scheduled as it is.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from audit import services as audit
from disclosures import diff, rebase, rules, selectors
from disclosures.models import (
    Acknowledgement,
    ChangeNotice,
    Document,
    DocumentVersion,
    FeeItem,
    VersionStatus,
)
from disclosures.signals import version_accepted, version_in_force_changed
from disclosures.workflows import VERSION
from notices import services as notices
from portal.refusals import Refused

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)
CHANGE_NOTICE_KEY = "disclosure_change"
REMINDER_KEY = "disclosure_reminder"


class DisclosureError(Refused, ValueError):
    """A workflow step that is not allowed; the message is translated and shown as is."""

    def __init__(self, message: Any, code: str = "disclosures.step") -> None:
        super().__init__(code, message)


class NotYours(LookupError):
    """The client has no notice for this version: shown to them as 404."""


@dataclass(frozen=True)
class ItemSpec:
    """An item to put in a draft. `kind` (disclosures.models.ItemKind) fixes which way hurts the
    client; an item keeps the kind it has in the version the draft starts from."""

    code: str
    name_zh: str
    name_en: str
    basis: str
    value: Decimal
    tier: int | None = None
    kind: str = ""
    note_zh: str = ""
    note_en: str = ""


# --- drafting and review -------------------------------------------------------------------------


@transaction.atomic
def version_draft_create(
    *,
    actor: User | None,
    document: Document,
    text_zh: str | None = None,
    text_en: str | None = None,
    summary_zh: str = "",
    summary_en: str = "",
    items: Iterable[ItemSpec] | None = None,
) -> DocumentVersion:
    """A new draft numbered after the last version, starting from the latest version in force or
    scheduled: texts and items default to that version's, so a compliance officer edits the
    change rather than retyping the document, and a change already scheduled is never undone."""
    document = _locked_document(document)
    base = selectors.latest_version(document.kind)
    specs = [item_spec(i) for i in selectors.items_of(base)] if items is None else list(items)
    _check_items(specs, base)
    last = document.versions.order_by("-number").values_list("number", flat=True).first() or 0
    version = DocumentVersion.objects.create(
        document=document,
        number=last + 1,
        base=base,
        text_zh=text_zh if text_zh is not None else (base.text_zh if base else ""),
        text_en=text_en if text_en is not None else (base.text_en if base else ""),
        summary_zh=summary_zh,
        summary_en=summary_en,
        created_by=actor,
    )
    _write_items(version, specs)
    audit.record(
        actor=actor,
        action="disclosures.draft",
        obj=version,
        data={"number": last + 1, "base": base.number if base else None},
    )
    return version


def item_spec(item: FeeItem) -> ItemSpec:
    """A published item as a spec, to start a new version from (change what must change)."""
    return ItemSpec(
        item.code,
        item.name_zh,
        item.name_en,
        item.basis,
        item.value,
        item.tier,
        item.kind,
        item.note_zh,
        item.note_en,
    )


def _write_items(version: DocumentVersion, specs: Iterable[ItemSpec]) -> None:
    FeeItem.objects.bulk_create(
        FeeItem(version=version, order=index, **spec.__dict__) for index, spec in enumerate(specs)
    )


def _check_items(items: Iterable[rules.ItemLike], base: DocumentVersion | None) -> None:
    """Refuse an item that is incomplete for its kind, or whose kind differs from the base's."""
    items = list(items)
    for item in items:
        problem = rules.item_problem(item)
        if problem:
            raise DisclosureError(problem)
    changed = rules.kind_changes(selectors.items_of(base), items)
    if changed and base is not None:
        raise DisclosureError(
            _(
                "Item %(code)s is of another kind in %(base)s. Which way an item hurts clients is "
                "fixed by its kind, so an item of another kind is a new item: give it a new code."
            )
            % {"code": changed[0], "base": base.label}
        )


@transaction.atomic
def version_submit(*, actor: User, version: DocumentVersion) -> DocumentVersion:
    """Send a complete draft to review. Both texts and both summaries are required."""
    version = _locked(version)
    if version.status != VersionStatus.DRAFT:
        raise DisclosureError(_("Only a draft can be submitted for review."))
    if not all([version.text_zh.strip(), version.text_en.strip()]):
        raise DisclosureError(_("Both the Chinese and the English text are required."))
    base = selectors.comparison_base(version)
    _check_items(selectors.items_of(version), base)
    if base is not None and not all([version.summary_zh.strip(), version.summary_en.strip()]):
        raise DisclosureError(
            _("Write the plain-language summary of what changed, in Chinese and in English.")
        )
    version.submitted_by = actor
    version.submitted_at = timezone.now()
    VERSION.move(version, VersionStatus.IN_REVIEW)
    version.save()
    audit.record(actor=actor, action="disclosures.submit", obj=version)
    return version


@transaction.atomic
def version_return_to_draft(*, actor: User, version: DocumentVersion, reason: str) -> None:
    """The reviewer sends a version back; any approval is void. Only compliance reviewers may."""
    version = _locked(version)
    if not actor.has_perm("disclosures.approve_documentversion"):
        raise DisclosureError(_("You are not allowed to send document versions back."))
    if version.status != VersionStatus.IN_REVIEW:
        raise DisclosureError(_("Only a version in review can be sent back."))
    version.approved_by, version.approved_at, version.approved_hash = None, None, ""
    VERSION.move(version, VersionStatus.DRAFT)
    version.save()
    audit.record(actor=actor, action="disclosures.return", obj=version, data={"reason": reason})


@transaction.atomic
def version_approve(*, actor: User, version: DocumentVersion) -> DocumentVersion:
    """Four-eyes: the approver must be a compliance officer other than the drafter and submitter."""
    version = _locked(version)
    if not actor.has_perm("disclosures.approve_documentversion"):
        raise DisclosureError(_("You are not allowed to approve document versions."))
    if version.status != VersionStatus.IN_REVIEW:
        raise DisclosureError(_("Only a version in review can be approved."))
    if version.approved_by_id is not None:
        raise DisclosureError(_("This version is already approved."))
    if actor.pk in (version.created_by_id, version.submitted_by_id):
        raise DisclosureError(
            _("A second compliance officer must approve: you drafted or submitted this version.")
        )
    version.approved_by = actor
    version.approved_at = timezone.now()
    version.approved_hash = version.compute_hash()
    version.save()
    audit.record(actor=actor, action="disclosures.approve", obj=version)
    return version


# --- publication ---------------------------------------------------------------------------------


@transaction.atomic
def version_schedule(
    *,
    actor: User,
    version: DocumentVersion,
    effective_at: datetime,
    now: datetime | None = None,
) -> DocumentVersion:
    """Publish an approved version with an effective time that respects its notice period.

    Only a version drafted from the end of the chain may be scheduled, after the version it
    starts from. The notice needed is computed here against that version, on the reference
    scenarios. Every client is notified now; a change that may apply at once is switched into
    force in this transaction.
    """
    now = now or timezone.now()
    version = _locked(version)
    _locked_document(version.document)
    if not actor.has_perm("disclosures.schedule_documentversion"):
        raise DisclosureError(_("You are not allowed to schedule document versions."))
    if version.status != VersionStatus.IN_REVIEW or version.approved_by_id is None:
        raise DisclosureError(_("Only a version approved by a second reviewer can be scheduled."))
    if version.compute_hash() != version.approved_hash:
        raise DisclosureError(
            _("This version was changed after it was approved; it must be reviewed again.")
        )
    kind = version.document.kind
    latest = selectors.latest_version(kind)
    if (latest.pk if latest else None) != version.base_id:
        raise DisclosureError(_chain_refusal(version, latest))
    base = version.base
    _check_items(selectors.items_of(version), base)
    effective = max(effective_at, now)
    _check_order(base, effective)
    comparison = selectors.comparison_for(version)
    decision = comparison.decision
    earliest = decision.earliest(now)
    if effective < earliest:
        raise DisclosureError(_refusal(comparison, earliest))
    version.content_hash = version.compute_hash()
    VERSION.move(version, VersionStatus.SCHEDULED)
    version.scheduled_by = actor
    version.published_at = now
    version.effective_at = effective
    version.notice_days = decision.days
    version.favourable = decision.favourable
    version.save()
    audit.record(
        actor=actor,
        action="disclosures.publish",
        obj=version,
        data={
            "document": kind,
            "number": version.number,
            "base": base.number if base else None,
            "content_hash": version.content_hash,
            "effective_at": version.effective_at.isoformat(),
            "notice_days": decision.days,
            "reason": decision.reason,
            "worse_scenarios": [row.key for row in comparison.worse],
            "worse_items": comparison.worse_items,
            "terms_changes": [f"{c.what}:{c.code}".rstrip(":") for c in comparison.terms],
            "approved_by": version.approved_by_id,
        },
    )
    if base is not None:
        _notify_clients(version=version, previous=base)
    pdfs_queue(version.pk)
    if version.effective_at <= now:
        if base is not None and base.status == VersionStatus.SCHEDULED:
            _switch(base, now=now)  # due already, the sweep has not reached it yet
        _switch(version, now=now)
    return version


def _local(moment: datetime) -> str:
    return date_format(timezone.localtime(moment), "Y-m-d H:i")


def _check_order(base: DocumentVersion | None, effective: datetime) -> None:
    """A version takes effect after the scheduled version it starts from, never with it."""
    if base is None or base.status != VersionStatus.SCHEDULED or base.effective_at is None:
        return
    if effective <= base.effective_at:
        raise DisclosureError(
            _(
                "Refused: %(base)s, which this version starts from, takes effect at %(when)s "
                "(Beijing time); this version must take effect after it."
            )
            % {"base": base.label, "when": _local(base.effective_at)}
        )


def _chain_refusal(version: DocumentVersion, latest: DocumentVersion | None) -> str:
    if latest is None:
        return _(
            "Refused: this version was drafted from a version that is no longer published. "
            "Start a new draft."
        )
    state = (
        _("scheduled for %(when)s") % {"when": _local(latest.effective_at)}
        if latest.status == VersionStatus.SCHEDULED and latest.effective_at
        else _("in force")
    )
    base = version.base
    return _(
        "Refused: this version was drafted from %(base)s, but %(latest)s (%(state)s) is now the "
        "latest version, and scheduling this one would undo it. Rebase the draft onto "
        "%(latest)s, then have it reviewed and approved again."
    ) % {
        "base": base.label if base else _("an older version"),
        "latest": latest.label,
        "state": state,
    }


def _refusal(comparison: selectors.Comparison, earliest: datetime) -> str:
    decision = comparison.decision
    when = _local(earliest)
    if decision.reason == "worse_for_clients":
        worse = [row.label for row in comparison.worse] or comparison.worse_items
        return _(
            "Refused: this change is worse for clients (%(what)s), so clients must have at least "
            "%(days)d days' notice. The earliest effective time is %(when)s (Beijing time)."
        ) % {"what": worse[0], "days": decision.days, "when": when}
    return _(
        "Refused: a change of terms needs at least %(days)d days' notice. "
        "The earliest effective time is %(when)s (Beijing time)."
    ) % {"days": decision.days, "when": when}


@transaction.atomic
def version_rebase(*, actor: User, version: DocumentVersion) -> DocumentVersion:
    """Move a draft (or a version in review) onto the latest version in force or scheduled.

    The draft's own changes against its old base are replayed on the latest version, so what was
    published in between is kept. The result is a draft again: any approval is void, and it must
    be submitted and approved against its new base. Refused, with nothing changed, where the draft
    and the newer version changed the same text or item differently.
    """
    version = _locked(version)
    document = _locked_document(version.document)
    if not actor.has_perm("disclosures.change_documentversion"):
        raise DisclosureError(_("You are not allowed to edit document versions."))
    if version.status not in (VersionStatus.DRAFT, VersionStatus.IN_REVIEW):
        raise DisclosureError(_("Only a draft or a version in review can be rebased."))
    latest = selectors.latest_version(document.kind)
    if latest is None or latest.pk == version.base_id:
        raise DisclosureError(_("This version already starts from the latest version."))
    # A draft from before bases were recorded started from the version in force when drafted.
    old_base = version.base or selectors.version_in_force(document.kind, at=version.created_at)
    texts = ("text_zh", "text_en")

    def by_code(v: DocumentVersion | None) -> dict[str, ItemSpec]:
        return {item.code: item_spec(item) for item in selectors.items_of(v)}

    merged = rebase.merge(
        base_texts={name: getattr(old_base, name, "") for name in texts},
        our_texts={name: getattr(version, name) for name in texts},
        their_texts={name: getattr(latest, name) for name in texts},
        base_items=by_code(old_base),
        our_items=by_code(version),
        their_items=by_code(latest),
    )
    if merged.conflicts:
        raise DisclosureError(
            _(
                "Cannot rebase onto %(latest)s: it changed the same parts as this draft "
                "(%(parts)s). Start a new draft from %(latest)s and make the change there."
            )
            % {"latest": latest.label, "parts": ", ".join(merged.conflicts)}
        )
    previous_base = old.number if (old := version.base) else None
    for name, text in merged.texts.items():
        setattr(version, name, text)
    version.base = latest
    version.approved_by, version.approved_at, version.approved_hash = None, None, ""
    VERSION.move(version, VersionStatus.DRAFT)
    version.save()
    version.items.all().delete()
    _write_items(version, merged.items)
    audit.record(
        actor=actor,
        action="disclosures.rebase",
        obj=version,
        data={"from": previous_base, "onto": latest.number},
    )
    return version


def _affected_clients() -> Iterable[User]:
    # Every active client is bound by every document; staff are not clients.
    return get_user_model().objects.filter(is_active=True, is_staff=False).order_by("pk")


def _notify_clients(*, version: DocumentVersion, previous: DocumentVersion) -> int:
    rows = [
        ChangeNotice(client=client, version=version, previous_version=previous)
        for client in _affected_clients()
    ]
    ChangeNotice.objects.bulk_create(rows, ignore_conflicts=True)
    count = 0
    for notice in ChangeNotice.objects.filter(version=version).select_related("client"):
        notices.enqueue(
            recipient=notice.client,
            key=CHANGE_NOTICE_KEY,
            context=_notice_context(notice),
            idempotency_key=f"disclosure-change:{notice.pk}",
        )
        count += 1
    return count


def _notice_context(notice: ChangeNotice) -> dict[str, Any]:
    version = notice.version
    document = version.document
    base = settings.PORTAL_BASE_URL.rstrip("/")
    return {
        "title_zh": document.title_zh,
        "title_en": document.title_en,
        "summary_zh": version.summary_zh,
        "summary_en": version.summary_en,
        "version": version.label,
        "effective": date_format(timezone.localtime(version.effective_at), "Y-m-d H:i"),
        "diff_url": base + reverse("disclosures:change", args=[notice.pk]),
    }


def pdfs_queue(version_id: int) -> None:
    def queue() -> None:
        from disclosures.tasks import render_version_pdfs

        render_version_pdfs.delay(version_id)

    # robust: a broker outage must not undo a publication; the PDF view queues it again.
    transaction.on_commit(queue, robust=True)


# --- the effective time --------------------------------------------------------------------------


def versions_switch_due(*, now: datetime | None = None) -> list[DocumentVersion]:
    """Put every scheduled version whose time has come into force. Safe to run twice, and from
    two workers at once: each version is claimed by a conditional update before anything else."""
    now = now or timezone.now()
    switched = []
    due = DocumentVersion.objects.filter(
        status=VersionStatus.SCHEDULED, effective_at__lte=now
    ).order_by("effective_at", "pk")
    for version_id in list(due.values_list("pk", flat=True)):
        with transaction.atomic():
            version = (
                DocumentVersion.objects.select_for_update(skip_locked=True)
                .select_related("document")
                .filter(pk=version_id, status=VersionStatus.SCHEDULED)
                .first()
            )
            if version is not None and _switch(version, now=now):
                switched.append(version)
    return switched


def _switch(version: DocumentVersion, *, now: datetime) -> bool:
    kind = version.document.kind
    claimed = DocumentVersion.objects.filter(pk=version.pk)
    old = selectors.version_in_force(kind)
    if version.base_id is not None and (old is None or old.pk != version.base_id):
        return False  # not its turn: the version it starts from is not in force yet
    if old is not None:
        VERSION.update(
            DocumentVersion.objects.filter(pk=old.pk),
            VersionStatus.IN_FORCE,
            VersionStatus.SUPERSEDED,
            superseded_at=now,
        )
    if not VERSION.update(
        claimed, VersionStatus.SCHEDULED, VersionStatus.IN_FORCE, in_force_at=now
    ):
        raise DisclosureError("the version was switched by someone else")  # rolls back the above
    version.refresh_from_db()
    audit.record(
        actor=None,
        action="disclosures.in_force",
        obj=version,
        data={"document": kind, "number": version.number, "replaces": old.number if old else None},
    )
    version_in_force_changed.send(
        sender=DocumentVersion, kind=kind, old_version=old, new_version=version
    )
    return True


def reminders_send_due(*, now: datetime | None = None) -> int:
    """Remind clients who have not answered, once, shortly before the effective time."""
    now = now or timezone.now()
    sent = 0
    for notice_id in list(selectors.reminder_due_notices(now=now).values_list("pk", flat=True)):
        with transaction.atomic():
            if not ChangeNotice.objects.filter(pk=notice_id, reminder_sent_at__isnull=True).update(
                reminder_sent_at=now
            ):
                continue  # another sweep got there first
            notice = ChangeNotice.objects.select_related("client", "version__document").get(
                pk=notice_id
            )
            notices.enqueue(
                recipient=notice.client,
                key=REMINDER_KEY,
                context=_notice_context(notice),
                idempotency_key=f"disclosure-reminder:{notice.pk}",
            )
            sent += 1
    return sent


# --- the client's decision -----------------------------------------------------------------------


@transaction.atomic
def change_notice_read(*, user: User, notice_id: int, now: datetime | None = None) -> bool:
    """Note the first time a client opens a change announced to them; later reads change nothing.

    Only the client's own notice: anyone else's is not touched (and not revealed).
    """
    updated = ChangeNotice.objects.filter(pk=notice_id, client=user, read_at__isnull=True).update(
        read_at=now or timezone.now()
    )
    return bool(updated)


def displayed_payload(notice: ChangeNotice, *, language: str) -> dict[str, Any]:
    """Exactly what the change page shows, by hash: recomputed when the client answers."""
    version, previous = notice.version, notice.previous_version
    rows = diff.side_by_side(
        previous.text_for(language) if previous else "", version.text_for(language)
    )
    return {
        "version_id": version.pk,
        "version": version.label,
        "content_hash": version.content_hash,
        "previous_version_id": previous.pk if previous else None,
        "previous_content_hash": previous.content_hash if previous else "",
        "language": language,
        "summary": version.summary_for(language),
        "diff_sha256": diff.fingerprint(rows),
        "items": [
            {
                "code": row.code,
                "old": str(row.old.value) if row.old else None,
                "new": str(row.new.value) if row.new else None,
            }
            for row in selectors.item_rows(previous, version)
        ],
    }


@transaction.atomic
def change_acknowledge(
    *,
    user: User,
    notice_id: int,
    decision: str,
    shown_hash: str,
    language: str,
    ip_address: str | None,
    user_agent: str,
) -> Acknowledgement:
    """Record a client's accept or decline of a change they were notified of.

    Refused: a notice that is not theirs (NotYours), a version not published, a page older than
    the version (the hash shown must be the version's), an answer after acceptance.
    """
    notice = (
        ChangeNotice.objects.select_for_update(of=("self",))
        .select_related("version__document", "previous_version")
        .filter(pk=notice_id, client=user)
        .first()
    )
    if notice is None:
        raise NotYours(notice_id)
    version = notice.version
    if version.status not in (VersionStatus.SCHEDULED, VersionStatus.IN_FORCE):
        raise DisclosureError(_("This version cannot be acknowledged."))
    if decision not in Acknowledgement.Decision.values:
        raise DisclosureError(_("Choose to accept the new terms or to keep the old ones."))
    if shown_hash != version.content_hash:
        raise DisclosureError(_("The page you answered is out of date; please read it again."))
    last = selectors.latest_decision(user=user, version=version)
    if last is not None and last.decision == Acknowledgement.Decision.ACCEPTED:
        raise DisclosureError(_("You have already accepted this version."))
    if decision == Acknowledgement.Decision.DECLINED and last is not None:
        raise DisclosureError(_("You have already declined this version."))
    return _acknowledge(
        user=user,
        version=version,
        decision=decision,
        displayed=displayed_payload(notice, language=language),
        ip_address=ip_address,
        user_agent=user_agent,
    )


@transaction.atomic
def version_accept(
    *,
    user: User,
    version: DocumentVersion,
    displayed: Mapping[str, Any],
    ip_address: str | None,
    user_agent: str,
) -> Acknowledgement:
    """Accept the version in force outside a change notice (sign-up, a new contract)."""
    version = _locked(version)
    if version.status != VersionStatus.IN_FORCE:
        raise DisclosureError(_("Only the version in force can be accepted."))
    return _acknowledge(
        user=user,
        version=version,
        decision=Acknowledgement.Decision.ACCEPTED,
        displayed=dict(displayed),
        ip_address=ip_address,
        user_agent=user_agent,
    )


def _acknowledge(
    *,
    user: User,
    version: DocumentVersion,
    decision: str,
    displayed: dict[str, Any],
    ip_address: str | None,
    user_agent: str,
) -> Acknowledgement:
    ack = Acknowledgement.objects.create(
        client=user,
        version=version,
        decision=decision,
        content_hash=version.content_hash,
        displayed=displayed,
        ip_address=ip_address or None,
        user_agent=(user_agent or "")[:500],
    )
    audit.record(
        actor=user,
        action=f"disclosures.{decision}",
        obj=ack,
        data={"version": version.pk, "content_hash": version.content_hash},
    )
    if decision == Acknowledgement.Decision.ACCEPTED:
        version_accepted.send(
            sender=Acknowledgement, user=user, version=version, acknowledgement=ack
        )
    return ack


def _locked(version: DocumentVersion) -> DocumentVersion:
    return DocumentVersion.objects.select_for_update().select_related("document").get(pk=version.pk)


def _locked_document(document: Document) -> Document:
    # Drafting, rebasing and scheduling read the end of a document's chain and extend it: one at a
    # time per document, or two could start from, or be scheduled after, the same version.
    return Document.objects.select_for_update().get(pk=document.pk)
