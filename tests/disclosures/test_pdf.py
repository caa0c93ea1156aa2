"""PDFs of published versions: Chinese comes out as Chinese text; files are stored by hash."""

import io
import time

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from pypdf import PdfReader

from disclosures import pdf

pytestmark = pytest.mark.django_db


def extract(data: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_the_chinese_pdf_carries_the_binding_text_and_the_hash(fees_v1):
    started = time.perf_counter()
    data = pdf.render_pdf(fees_v1, "zh-hans")
    elapsed = time.perf_counter() - started
    content = extract(data).replace(" ", "").replace("\n", "")
    assert "收费标准" in content
    assert "日利息=融资余额×年利率÷360" in content
    assert "融资年利率（二档）" in content and "8.35%" in content
    assert fees_v1.content_hash in content
    print(f"zh PDF rendered in {elapsed:.2f}s")


def test_the_english_pdf_says_the_chinese_is_binding(fees_v1):
    content = " ".join(extract(pdf.render_pdf(fees_v1, "en")).split())
    assert "The Chinese text is the legally binding version" in content
    assert "Financing rate, tier 2" in content


def test_pdfs_are_rendered_once_and_served_from_storage(client, fees_v1):
    written = pdf.render_version_pdfs(version_id=fees_v1.pk)
    assert sorted(written) == sorted(
        f"disclosures/pdf/{fees_v1.content_hash}-{lang}.pdf" for lang in ("zh-hans", "en")
    )
    assert pdf.render_version_pdfs(version_id=fees_v1.pk) == []
    response = client.get(reverse("disclosures:pdf", args=["fee_schedule", 1, "zh-hans"]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    body = b"".join(response.streaming_content)
    assert body == default_storage.open(pdf.pdf_path(fees_v1, "zh-hans")).read()
