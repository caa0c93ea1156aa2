"""Disclosure test data: documents with a version in force, and changes through the workflow."""

from datetime import datetime, timedelta
from decimal import Decimal

from allauth.mfa.totp.internal.auth import TOTP
from django.utils import timezone

from disclosures import demo, demo_content, services
from disclosures.models import Document, DocumentKind, DocumentVersion
from disclosures.services import ItemSpec
from tests.factories import UserFactory

STAFF_SECRET = "JBSWY3DPEHPK3PXPTESTSTAFFSECRET2"


def ensure_roles() -> None:
    """The role groups come from a data migration, which a transactional test's flush empties."""
    from django.apps import apps

    from accounts.roles import sync_roles

    sync_roles(apps)


def staff(role: str = "compliance", **kwargs):
    ensure_roles()
    user = UserFactory(role=role, **kwargs)
    TOTP.activate(user, STAFF_SECRET)
    return user


def document(kind: str = DocumentKind.FEE_SCHEDULE) -> Document:
    return demo.ensure_documents()[kind]


def in_force(kind: str = DocumentKind.FEE_SCHEDULE, items=None, **texts) -> DocumentVersion:
    """A version of `kind` in force since 2026-01-19, with the demo text and items by default."""
    text_zh, text_en, default_items = demo_content.TEXTS[kind]
    return demo.publish_directly(
        document=document(kind),
        text_zh=texts.get("text_zh", text_zh),
        text_en=texts.get("text_en", text_en),
        items=default_items if items is None else items,
        published_at=demo.PUBLISHED,
        effective_at=demo.EFFECTIVE,
    )


def fees(**values) -> list[ItemSpec]:
    return demo_content.fee_items(**values)


def approved_change(
    *, maker, checker, kind=DocumentKind.FEE_SCHEDULE, items=None, text_zh=None, text_en=None
) -> DocumentVersion:
    """A change drafted and submitted by `maker`, approved by `checker`, ready to schedule."""
    version = services.version_draft_create(
        actor=maker,
        document=document(kind),
        text_zh=text_zh,
        text_en=text_en,
        summary_zh="二档利率上调。",
        summary_en="The tier 2 rate goes up.",
        items=items,
    )
    services.version_submit(actor=maker, version=version)
    services.version_approve(actor=checker, version=version)
    return version


def days_from_now(days: float, now: datetime | None = None) -> datetime:
    return (now or timezone.now()) + timedelta(days=days)


D = Decimal
