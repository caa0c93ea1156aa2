"""Time WeasyPrint rendering of disclosure PDFs (DESIGN budget: one-page Chinese ≤ 1.5 s median).

No database: the demo documents are built in memory. Renders the one-page Chinese risk disclosure
and the Chinese fee schedule (with its item table) --runs times each with the font the portal uses
(WenQuanYi Micro Hei), and the risk disclosure once with Noto Sans CJK SC as the baseline DESIGN.md
measured. Prints one JSON line per case; first_s is the first render in this process (cold fonts).

    .venv/bin/python bench/disclosure_pdf.py --runs 5
"""

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.test")

import django

django.setup()

from disclosures import demo_content, pdf  # noqa: E402
from disclosures.models import Document, DocumentVersion, FeeItem  # noqa: E402


def version_of(kind: str) -> tuple[DocumentVersion, list[FeeItem]]:
    zh, en, order = demo_content.TITLES[kind]
    text_zh, text_en, specs = demo_content.TEXTS[kind]
    document = Document(kind=kind, title_zh=zh, title_en=en, order=order)
    version = DocumentVersion(document=document, number=1, text_zh=text_zh, text_en=text_en)
    version.published_at = version.effective_at = datetime(2026, 1, 19, tzinfo=UTC)
    version.content_hash = "0" * 64
    items = [FeeItem(version=version, **spec.__dict__) for spec in specs]
    return version, items


def timed(version, items, font: str, runs: int) -> dict:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        data = pdf.render_pdf(version, "zh-hans", items=items, font_family=font)
        times.append(time.perf_counter() - started)
    return {
        "name": f"disclosure_pdf_{version.document.kind}",
        "font": font,
        "n": runs,
        "bytes": len(data),
        "median_s": round(statistics.median(times), 3),
        "first_s": round(times[0], 3),
        "max_s": round(max(times), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    # No warm-up: the first render in a fresh worker (font loading) is reported as first_s.
    for kind in ("risk_disclosure", "fee_schedule"):
        version, items = version_of(kind)
        print(json.dumps(timed(version, items, pdf.FONT_FAMILY, args.runs)))
    version, items = version_of("risk_disclosure")
    print(json.dumps(timed(version, items, "Noto Sans CJK SC", 1) | {"baseline": True}))


if __name__ == "__main__":
    main()
