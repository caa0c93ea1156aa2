"""Time the SLA sweep over N open tickets (DESIGN budget: ≤ 2 s for 100,000).

Builds a database of its own (Django's test-database machinery, named `bench_sla_sweep`, dropped at
the end) from DJANGO_SETTINGS_MODULE (default portal.settings.test: PostgreSQL when DATABASE_URL is
set, SQLite otherwise). Each open ticket, assigned to one agent, gets an answered first-response
clock, a running next-response clock and a running resolution clock; a tenth of the tickets wait
on the client. Thresholds fall over the ten days around "now". The data is in the steady state of
a beat sweep that ran every minute: thresholds passed more than a minute ago are recorded already.

It times, median of --runs runs, each rolled back so every run sees the same rows:
- `sweep_1min`: one full `services.sla_sweep(now=...)` (claim, record, enqueue notices, audit)
  after one minute since the last sweep, the beat cadence;
- `sweep_1h_backlog`: the same after a one-hour outage of the beat;
- `selection_backlog`: loading every clock with a threshold in the past (a tenth of the running
  ones), the cost of the selection however far behind the sweep is.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/sla_sweep.py
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.test")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.db.models import F  # noqa: E402

from accounts.models import User  # noqa: E402
from support.models import SlaClock, Ticket, TicketType  # noqa: E402
from support.selectors import sla_clocks_due_for_check  # noqa: E402
from support.services import sla_sweep  # noqa: E402

NOW = datetime(2026, 11, 25, 14, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
BUDGET_SECONDS = 2.0
BATCH = 5000


def build(tickets: int, rng: random.Random) -> None:
    client = User.objects.create_user("bench-client@example.test", "bench-password-0123")
    agent = User.objects.create_user(
        "bench-agent@example.test", "bench-password-0123", is_staff=True
    )
    types = [TicketType.QUESTION, TicketType.KYC_ISSUE]
    rows = [
        Ticket(
            client=client,
            assignee=agent,
            type=rng.choice(types),
            subject=f"Bench {n}",
            created_at=NOW,
        )
        for n in range(tickets)
    ]
    created = Ticket.objects.bulk_create(rows, batch_size=BATCH)
    clocks = []
    for ticket in created:
        waiting = rng.random() < 0.1
        clocks.append(_clock(ticket, SlaClock.Kind.FIRST_RESPONSE, rng, stopped=True))
        clocks.append(_clock(ticket, SlaClock.Kind.NEXT_RESPONSE, rng, paused=waiting))
        clocks.append(_clock(ticket, SlaClock.Kind.RESOLUTION, rng, paused=waiting))
        if len(clocks) >= BATCH:
            SlaClock.objects.bulk_create(clocks)
            clocks = []
    SlaClock.objects.bulk_create(clocks)


def _clock(ticket, kind, rng, *, stopped=False, paused=False) -> SlaClock:
    # Field values are drawn, not computed through the calendar: the selection reads only the
    # stored times, and drawing them keeps building 300,000 clocks to seconds.
    started = NOW - timedelta(minutes=rng.randrange(0, 5 * 24 * 60))
    due = NOW + timedelta(minutes=rng.randrange(-24 * 60, 9 * 24 * 60))
    clock = SlaClock(
        ticket=ticket,
        kind=kind,
        calendar="service",
        target=timedelta(hours=4),
        started_at=started,
        due_75_at=due - timedelta(hours=1),
        due_90_at=due - timedelta(minutes=24),
        due_at=due,
    )
    if stopped:
        clock.stopped_at = started + timedelta(hours=1)
    elif paused:
        clock.paused_at, clock.due_75_at, clock.due_90_at, clock.due_at = NOW, None, None, None
    else:
        # The steady state of a sweep every minute: what passed before the last run is recorded.
        last_sweep = NOW - timedelta(minutes=1)
        for field, due_at in (
            ("warned_75_at", clock.due_75_at),
            ("warned_90_at", clock.due_90_at),
            ("breached_at", clock.due_at),
        ):
            if due_at <= last_sweep:
                setattr(clock, field, due_at)
            elif clock.next_check_at is None:
                clock.next_check_at = due_at
    return clock


def _sweep_rolled_back(behind: timedelta, counts: list) -> None:
    with transaction.atomic():
        if behind:
            # As if the beat had stopped `behind` ago: thresholds since then are unrecorded again.
            _unrecord_since(NOW - timedelta(minutes=1) - behind)
        counts.append(sla_sweep(now=NOW))
        transaction.set_rollback(True)


def _unrecord_since(since: datetime) -> None:
    running = SlaClock.objects.filter(stopped_at=None, paused_at=None)
    running.filter(breached_at__gt=since).update(breached_at=None, next_check_at=F("due_at"))
    running.filter(warned_90_at__gt=since).update(warned_90_at=None, next_check_at=F("due_90_at"))
    running.filter(warned_75_at__gt=since).update(warned_75_at=None, next_check_at=F("due_75_at"))


def timed(fn, runs: int) -> list[float]:
    results = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        results.append(time.perf_counter() - started)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    test_settings = connection.settings_dict.setdefault("TEST", {})
    if connection.vendor == "sqlite":
        test_settings["NAME"] = str(
            Path(__file__).resolve().parent.parent / "var" / "bench.sqlite3"
        )
    else:
        test_settings["NAME"] = "bench_sla_sweep"
    real_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        started = time.perf_counter()
        build(args.tickets, random.Random(6))  # noqa: S311 - reproducible data, not secrets
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        build_seconds = time.perf_counter() - started

        backlog = SlaClock.objects.filter(
            stopped_at=None, paused_at=None, due_75_at__lte=NOW
        ).order_by("due_75_at")
        sweeps = {}
        for name, behind in (
            ("sweep_1min", timedelta(0)),
            ("sweep_1h_backlog", timedelta(hours=1)),
        ):
            counts: list = []
            runs = timed(
                lambda behind=behind, counts=counts: _sweep_rolled_back(behind, counts), args.runs
            )
            sweeps[name] = {
                "clocks": counts[0].clocks,
                "notices": counts[0].notices,
                "median": round(statistics.median(runs), 4),
                "max": round(max(runs), 4),
            }
        selection = timed(lambda: list(backlog.all()), args.runs)
        plan = sla_clocks_due_for_check(now=NOW).explain()
        sweep = sweeps["sweep_1min"]["median"]
        result = {
            "name": "sla_sweep",
            "database": connection.vendor,
            "n": args.tickets,
            "clocks": SlaClock.objects.count(),
            "running_clocks": SlaClock.objects.filter(stopped_at=None).count(),
            **sweeps,
            "selection_backlog": {
                "clocks": backlog.count(),
                "median": round(statistics.median(selection), 4),
            },
            "uses_index": "support_clock_next_check" in plan,
            "budget": BUDGET_SECONDS,
            "within_budget": sweep <= BUDGET_SECONDS,
            "build_seconds": round(build_seconds, 1),
        }
    finally:
        connection.creation.destroy_test_db(real_name, verbosity=0)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
