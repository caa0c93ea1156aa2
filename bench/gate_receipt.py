"""Time WeasyPrint rendering of the gate's PDF receipt (DESIGN budget: a one-page Chinese receipt
≤ 1.5 s median, aim ≤ 1 s; ours carries the whole risk disclosure, so it runs to two pages).

No database: the confirmation, its risk disclosure and figures are built in memory. Prints one
JSON line; first_s is the first render in this process (cold fonts).

    .venv/bin/python bench/gate_receipt.py --runs 5
"""

import argparse
import io
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

from pypdf import PdfReader  # noqa: E402

from accounts.models import User  # noqa: E402
from disclosures import demo_content  # noqa: E402
from disclosures.models import Document, DocumentKind, DocumentVersion  # noqa: E402
from education import pdf, rules  # noqa: E402
from education.models import GateConfirmation  # noqa: E402

FIGURES = {
    "source": "defaults",
    "contract_number": "",
    "leverage_tier": 1,
    "annual_rate": "7.8%",
    "withdrawal_line": "300%",
    "warning_line": "150%",
    "call_line": "130%",
    "liquidation_line": "120%",
    "call_deadline_days": 2,
    "financing_cap": "50%",
    "example_own": False,
    "example_cash": "0.00",
    "example_market_value": "150,000.00",
    "example_liabilities": "50,000.00",
    "ratio_before": "300%",
    "ratio_after": "240%",
    "fall_to_call": "56.66%",
    "fall_to_liquidation": "60%",
}


def confirmation() -> GateConfirmation:
    kind = DocumentKind.RISK_DISCLOSURE
    zh, en, order = demo_content.TITLES[kind]
    text_zh, text_en, _ = demo_content.TEXTS[kind]
    document = Document(kind=kind, title_zh=zh, title_en=en, order=order)
    version = DocumentVersion(document=document, number=1, text_zh=text_zh, text_en=text_en)
    version.content_hash = "0" * 64
    now = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
    evidence = {
        "rating": "C4",
        "course": {"slug": "margin-basics", "number": 1, "content_hash": "1" * 64},
        "quiz": {"score": 100, "pass_mark": 75},
        "risk_warning": {"kind": kind, "number": 1, "content_hash": "0" * 64},
        "terms": {"kind": "terms", "number": 1, "content_hash": "2" * 64},
        "rendered_hash": "3" * 64,
        "language": "zh-hans",
        "figures": FIGURES,
        "sentence": rules.sentence_for("zh-hans"),
        "typed": rules.sentence_for("zh-hans"),
        "ip": "203.0.113.7",
        "user_agent": "Mozilla/5.0 (bench)",
    }
    return GateConfirmation(
        user=User(email="bench@example.test", full_name="林岚"),
        warning_version=version,
        evidence=evidence,
        evidence_hash=GateConfirmation.hash_evidence(evidence),
        confirmed_at=now,
        valid_until=now,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    item = confirmation()
    times, data = [], b""
    for _ in range(args.runs):
        started = time.perf_counter()
        data = pdf.render_receipt(item)
        times.append(time.perf_counter() - started)
    pages = len(PdfReader(io.BytesIO(data)).pages)
    print(
        json.dumps(
            {
                "name": "gate_receipt_pdf",
                "font": pdf.FONT_FAMILY,
                "n": args.runs,
                "pages": pages,
                "bytes": len(data),
                "median_s": round(statistics.median(times), 3),
                "first_s": round(times[0], 3),
                "max_s": round(max(times), 3),
            }
        )
    )


if __name__ == "__main__":
    main()
