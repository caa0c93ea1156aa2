"""Demo disclosures: every document in force since 2026-01-19, accepted by the demo clients, and
a fee increase announced through the real workflow (drafted by frank, approved by grace, a second
compliance officer) so the banner, the diff and the acknowledgement can be tried at once.

Idempotent: what exists is left alone.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from accounts.demo import CLIENTS, DEMO_PASSWORD, STAFF_TOTP_SECRET
from accounts.models import User
from disclosures import demo_content, selectors, services
from disclosures.models import (
    Acknowledgement,
    Document,
    DocumentKind,
    DocumentVersion,
    FeeItem,
    VersionStatus,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
PUBLISHED = datetime(2026, 1, 5, 9, 0, tzinfo=SHANGHAI)
EFFECTIVE = datetime(2026, 1, 19, 0, 0, tzinfo=SHANGHAI)
SECOND_COMPLIANCE = "grace@demo.wangrun.test"


def ensure_documents() -> dict[str, Document]:
    documents = {}
    for kind, (zh, en, order) in demo_content.TITLES.items():
        documents[kind], _ = Document.objects.get_or_create(
            kind=kind, defaults={"title_zh": zh, "title_en": en, "order": order}
        )
    return documents


def publish_directly(
    *, document: Document, text_zh: str, text_en: str, items, published_at, effective_at
) -> DocumentVersion:
    """A version already in force, for seeding history; the workflow is for changes."""
    last = document.versions.order_by("-number").values_list("number", flat=True).first() or 0
    version = DocumentVersion.objects.create(
        document=document, number=last + 1, text_zh=text_zh, text_en=text_en
    )
    FeeItem.objects.bulk_create(
        FeeItem(version=version, order=i, **spec.__dict__) for i, spec in enumerate(items)
    )
    version.content_hash = version.compute_hash()
    version.status = VersionStatus.IN_FORCE
    version.published_at = published_at
    version.effective_at = effective_at
    version.in_force_at = effective_at
    version.notice_days = 0
    version.favourable = True
    version.save()
    services.pdfs_queue(version.pk)
    return version


def _second_compliance_officer() -> User:
    user, _ = User.objects.get_or_create(email=SECOND_COMPLIANCE)
    user.full_name = "葛蕾 (合规复核)"
    user.is_staff = True
    user.set_password(DEMO_PASSWORD)
    user.save()
    EmailAddress.objects.update_or_create(
        user=user, email=user.email, defaults={"verified": True, "primary": True}
    )
    user.groups.set([Group.objects.get(name="compliance")])
    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(user, STAFF_TOTP_SECRET)
    return user


@transaction.atomic
def seed() -> list[str]:
    documents = ensure_documents()
    for kind, (text_zh, text_en, items) in demo_content.TEXTS.items():
        if not documents[kind].versions.exists():
            publish_directly(
                document=documents[kind],
                text_zh=text_zh,
                text_en=text_en,
                items=items,
                published_at=PUBLISHED,
                effective_at=EFFECTIVE,
            )
    clients = list(User.objects.filter(email__in=[p.email for p in CLIENTS]))
    for client in clients:
        for kind in selectors.FINANCING_DOCUMENTS:
            version = selectors.version_in_force(kind)
            if version and not Acknowledgement.objects.filter(client=client, version=version):
                Acknowledgement.objects.create(
                    client=client,
                    version=version,
                    decision=Acknowledgement.Decision.ACCEPTED,
                    content_hash=version.content_hash,
                    displayed={"context": "account opening", "content_hash": version.content_hash},
                    acknowledged_at=EFFECTIVE,
                    user_agent="demo seed",
                )
    grace = _second_compliance_officer()
    lines = [f"  {'compliance':<13} {SECOND_COMPLIANCE:<28} {DEMO_PASSWORD}"]
    fees = documents[DocumentKind.FEE_SCHEDULE]
    if fees.versions.count() == 1:
        frank = User.objects.filter(email="frank@demo.wangrun.test").first() or grace
        draft = services.version_draft_create(
            actor=frank,
            document=fees,
            text_zh=demo_content.FEES_V2_ZH,
            text_en=demo_content.FEES_V2_EN,
            summary_zh=demo_content.FEES_V2_SUMMARY_ZH,
            summary_en=demo_content.FEES_V2_SUMMARY_EN,
            items=demo_content.fee_items(tier2="0.086000", tier3="0.092000", withdrawal="0.00"),
        )
        services.version_submit(actor=frank, version=draft)
        approver = grace if frank != grace else frank
        services.version_approve(actor=approver, version=draft)
        effective = timezone.localtime(timezone.now() + timedelta(days=31)).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        services.version_schedule(actor=frank, version=draft, effective_at=effective)
    scheduled = selectors.scheduled_version(DocumentKind.FEE_SCHEDULE)
    if scheduled:
        lines.append(
            f"  disclosures   fee schedule {scheduled.label} announced, in force from "
            f"{timezone.localtime(scheduled.effective_at):%Y-%m-%d %H:%M}: /disclosures/fees/"
        )
    return lines
