"""Server time of the list pages a heavy client and staff see (DESIGN budget: p95 ≤ 50 ms).

Builds a database of its own (Django's test-database machinery, named `bench_pages`, dropped at
the end) from DJANGO_SETTINGS_MODULE (default portal.settings.test: PostgreSQL when DATABASE_URL
is set). One client opens --tickets tickets through the support service (clocks, first message,
audit, agent notices) and receives --notices in-app notices; then each page is requested --runs
times through Django's test client (the whole middleware stack, no network) and timed, first the
client's pages, then the admin lists staff work from (an agent's ticket queue, a compliance
officer's audit log and outbox). Prints one JSON object per page: p50, p95, max (ms) and the
number of SQL queries, then a summary.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/x .venv/bin/python bench/pages.py
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.test")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from accounts.models import User  # noqa: E402
from notices import services as notices  # noqa: E402
from support import services as support  # noqa: E402

BUDGET_MS = 50.0


def build(tickets: int, inapp: int) -> tuple[User, int]:
    client = User.objects.create_user("heavy-client@example.test", "bench-password-0123")
    ticket = None
    # Months of history, opened here in one go: the per-hour opening limit is not the point.
    with mock.patch("support.tickets._count_opening", lambda client: None):
        for n in range(tickets):
            ticket = support.ticket_open(
                client=client,
                type="question",
                subject=f"Statement question {n}",
                body="Where is it?",
            )
    notices.enqueue_many(
        [
            notices.NoticeRequest(
                recipient=client,
                key="announcement",
                context={"title": f"Notice {n}", "body": "Service hours change."},
                idempotency_key=f"bench-pages:{n}",
                channels=["inapp"],
            )
            for n in range(inapp)
        ]
    )
    return client, ticket.pk if ticket else 0


def _staff(role: str) -> Client:
    from allauth.mfa.totp.internal.auth import TOTP
    from django.contrib.auth.models import Group

    person = User.objects.create_user(f"bench-{role}@example.test", "bench-password-0123")
    person.is_staff = True
    person.save(update_fields=["is_staff"])
    person.groups.add(Group.objects.get(name=role))
    TOTP.activate(person, "JBSWY3DPEHPK3PXP")  # staff without TOTP are sent to set it up
    browser = Client()
    browser.force_login(person)
    return browser


def measure(browser: Client, url: str, runs: int) -> dict:
    browser.get(url)  # templates and caches warm
    queries = []
    with connection.execute_wrapper(
        lambda execute, sql, *args: queries.append(sql) or execute(sql, *args)
    ):
        status = browser.get(url).status_code
    times, cpu = [], []
    for _ in range(runs):
        started, cpu_started = time.perf_counter(), time.process_time()
        browser.get(url)
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - cpu_started) * 1000)
    times.sort()
    return {
        "name": "page",
        "url": url,
        "status": status,
        "queries": len(queries),
        # This process's CPU per request (the database's excluded): steadier than wall time
        # on a machine whose cores are shared.
        "cpu_p50_ms": round(statistics.median(cpu), 1),
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[min(len(times) - 1, int(0.95 * len(times)))], 1),
        "max_ms": round(times[-1], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=200)
    parser.add_argument("--notices", type=int, default=500)
    parser.add_argument("--runs", type=int, default=60)
    args = parser.parse_args()

    setup_test_environment()
    connection.settings_dict.setdefault("TEST", {})["NAME"] = "bench_pages"
    real_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        client, ticket_pk = build(args.tickets, args.notices)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        browser = Client()
        browser.force_login(client)
        staff = {role: _staff(role) for role in ("agent", "compliance")}
        urls = [
            "/support/",
            "/support/?page=5",
            "/support/?page=abc",
            f"/support/{ticket_pk}/",
            "/notices/",
            "/notices/?page=10",
            "/disclosures/changes/",
            "/funds/",
            "/trading/orders/",
        ]
        results = [measure(browser, url, args.runs) for url in urls]
        staff_pages = [
            ("agent", "/admin/support/ticket/"),
            ("agent", "/admin/support/ticket/?p=3"),
            ("compliance", "/admin/audit/auditentry/"),
            ("compliance", "/admin/notices/notification/"),
        ]
        results += [
            {**measure(staff[role], url, args.runs), "as": role} for role, url in staff_pages
        ]
        for result in results:
            print(json.dumps(result), flush=True)
        worst = max(r["p95_ms"] for r in results)
        print(
            json.dumps(
                {
                    "name": "pages_summary",
                    "database": connection.vendor,
                    "tickets": args.tickets,
                    "notices": args.notices,
                    "runs": args.runs,
                    "worst_p95_ms": worst,
                    "budget_ms": BUDGET_MS,
                    "within_budget": worst <= BUDGET_MS,
                }
            ),
            flush=True,
        )
    finally:
        connection.creation.destroy_test_db(real_name, verbosity=0)


if __name__ == "__main__":
    main()
