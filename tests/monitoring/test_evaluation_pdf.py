"""The evaluation PDFs read in Chinese: page 1's text, extracted from the file, has the Chinese
title and headings, which it only can if a CJK font was embedded with its character map."""

import datetime
import io

import pytest
from pypdf import PdfReader

from monitoring import evaluation

pytestmark = pytest.mark.django_db
HEADINGS = ["告警及其处理结果", "应对措施及其效果", "追加保证金与强制平仓"]


@pytest.mark.parametrize(
    ("period", "starts_on", "title"),
    [
        ("week", datetime.date(2026, 11, 23), "市场监控评估（周度）"),
        ("month", datetime.date(2026, 11, 1), "市场监控评估（月度）"),
    ],
)
def test_page_one_of_the_evaluation_has_its_chinese_title_and_headings(period, starts_on, title):
    row = evaluation.evaluation_render(period=period, starts_on=starts_on)
    reader = PdfReader(io.BytesIO(row.pdf.open("rb").read()))
    text = reader.pages[0].extract_text()
    assert title in text
    for heading in HEADINGS:
        assert heading in text
    fonts = [font.get_object() for font in reader.pages[0]["/Resources"]["/Font"].values()]
    embedded = [
        f["/BaseFont"]
        for f in fonts
        for d in [
            f.get("/FontDescriptor") or f["/DescendantFonts"][0].get_object()["/FontDescriptor"]
        ]
        if any(k in d.get_object() for k in ("/FontFile", "/FontFile2", "/FontFile3"))
    ]
    assert embedded and all("/ToUnicode" in f for f in fonts)
