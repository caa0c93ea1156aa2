"""Demo disclosures: every document in force since 2026-01-19, and a fee increase announced
through the real workflow (drafted by frank, approved by grace, a second compliance officer) so the
banner, the diff and the acknowledgement can be tried at once.

Clients accept the documents where real ones do: on the financing page before opening financing
(margin.demo). Idempotent: what exists is left alone.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from disclosures import demo_content, selectors, services
from disclosures.models import Document, DocumentKind, DocumentVersion, FeeItem, VersionStatus

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


def seed() -> list[str]:
    seed_documents()
    return seed_fee_change()


@transaction.atomic
def seed_documents() -> None:
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


@transaction.atomic
def seed_fee_change() -> list[str]:
    """A fee increase drafted, approved by a second officer and scheduled: notice is running."""
    fees = ensure_documents()[DocumentKind.FEE_SCHEDULE]
    if fees.versions.count() == 1:
        frank = User.objects.get(email="frank@demo.wangrun.test")
        grace = User.objects.get(email=SECOND_COMPLIANCE)
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
        services.version_approve(actor=grace, version=draft)
        effective = timezone.localtime(timezone.now() + timedelta(days=31)).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        services.version_schedule(actor=frank, version=draft, effective_at=effective)
    scheduled = selectors.scheduled_version(DocumentKind.FEE_SCHEDULE)
    if scheduled is None:
        return []
    return [
        f"  disclosures   fee schedule {scheduled.label} announced, in force from "
        f"{timezone.localtime(scheduled.effective_at):%Y-%m-%d %H:%M}: /disclosures/fees/"
    ]
