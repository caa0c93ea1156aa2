"""PDFs of published versions, rendered by WeasyPrint in a worker and stored by content hash.

The font is WenQuanYi Micro Hei, not Noto Sans CJK: on these machines WeasyPrint spends about
6.6 s subsetting Noto's 65,000-glyph collection for any Chinese page, against about 1.4 s for
Micro Hei (DESIGN.md, measured 2026-11-25). A published version never changes, so its file is
rendered once and served from storage; requests never render.
"""

from __future__ import annotations

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.template.loader import render_to_string
from django.utils import translation

from disclosures.models import PUBLISHED_STATUSES, DocumentVersion
from portal.background import finished, queue_once

LANGUAGES = ("zh-hans", "en")
FONT_FAMILY = "WenQuanYi Micro Hei"


def pdf_path(version: DocumentVersion, language: str) -> str:
    return f"disclosures/pdf/{version.content_hash}-{language}.pdf"


def pdf_ready(version: DocumentVersion, language: str) -> bool:
    return bool(version.content_hash) and default_storage.exists(pdf_path(version, language))


def render_pdf(
    version: DocumentVersion,
    language: str,
    *,
    items: list | None = None,
    font_family: str = FONT_FAMILY,
) -> bytes:
    from weasyprint import HTML  # heavy import, only in workers

    with translation.override(language):
        html = render_to_string(
            "disclosures/pdf/version.html",
            {
                "version": version,
                "document_title": version.document.title_for(language),
                "paragraphs": [p for p in version.text_for(language).split("\n\n") if p.strip()],
                "items": list(version.items.all()) if items is None else items,
                "language": language,
                "font_family": font_family,
            },
        )
    return HTML(string=html).write_pdf()


def render_version_pdfs(*, version_id: int) -> list[str]:
    """Render the missing PDFs of a published version; returns the paths written."""
    version = DocumentVersion.objects.select_related("document").get(pk=version_id)
    if not version.is_published:
        return []
    written = []
    for language in LANGUAGES:
        if pdf_ready(version, language):
            continue
        path = pdf_path(version, language)
        default_storage.save(path, ContentFile(render_pdf(version, language)))
        written.append(path)
    finished(f"disclosure-pdf:{version.pk}")
    return written


def pdfs_requeue(*, before) -> int:
    """Stuck work: versions published before `before` whose PDFs are still missing."""
    from disclosures.tasks import render_version_pdfs

    published = DocumentVersion.objects.filter(
        status__in=PUBLISHED_STATUSES, published_at__lt=before
    ).only("pk", "content_hash")
    return sum(
        queue_once(f"disclosure-pdf:{version.pk}", render_version_pdfs, version.pk)
        for version in published
        if not all(pdf_ready(version, language) for language in LANGUAGES)
    )
