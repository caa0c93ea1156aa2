"""Time rendering a one-page Chinese dispute history to PDF (DESIGN budget: ≤ 1.5 s median).

Runs on an in-memory SQLite database of its own; prints one JSON line.

    .venv/bin/python bench/ticket_pdf.py --runs 5
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings.test"
os.environ.pop("DATABASE_URL", None)

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

BUDGET_SECONDS = 1.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    setup_test_environment()
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)

    from accounts.models import User
    from support import services
    from support.models import TicketExport, TicketType

    client = User.objects.create_user("pdf-client@example.test", "x", full_name="林岚")
    ticket = services.ticket_open(
        client=client,
        type=TicketType.DISPUTE,
        subject="强制平仓成交价格争议",
        body="11月20日我的 600519.SH 持仓被强制平仓，成交价格低于当日最低价，请核查。",
    )
    runs = []
    for n in range(args.runs):
        export = TicketExport.objects.create(
            ticket=ticket, audience="client", content_hash=f"{n:064d}", requested_by=client
        )
        started = time.perf_counter()
        services.ticket_export_render(export_id=export.pk)
        runs.append(time.perf_counter() - started)
    median = statistics.median(runs)
    print(
        json.dumps(
            {
                "name": "ticket_pdf_one_page_zh",
                "font": "WenQuanYi Micro Hei",
                "median": round(median, 3),
                "runs": [round(r, 3) for r in runs],
                "budget": BUDGET_SECONDS,
                "within_budget": median <= BUDGET_SECONDS,
            }
        )
    )


if __name__ == "__main__":
    main()
