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


def test_a_chart_with_nothing_to_draw_says_so_on_the_page():
    """A week without alerts or book snapshots: the charts of alerts by rule and of accounts at
    call read "本期无数据。" instead of a blank space a reader could take for a rendering fault
    (the outcome and risk charts still draw their categories at 0)."""
    row = evaluation.evaluation_render(period="week", starts_on=datetime.date(2026, 11, 23))
    reader = PdfReader(io.BytesIO(row.pdf.open("rb").read()))
    text = "".join(page.extract_text() for page in reader.pages)
    assert text.count("本期无数据。") == 2
