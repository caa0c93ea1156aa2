"""Twenty clients writing on the embedded SQLite while the risk engine ticks: how long requests and
engine steps take, and how long the engine holds the write lock. The same world and journeys as
tests/portal/test_sqlite_under_load.py (which asserts only that nothing fails), timed.

A fresh SQLite file (WAL, busy timeout, IMMEDIATE transactions: portal.settings.services.sqlite)
is migrated first. Prints one JSON line.

    .venv/bin/python bench/sqlite_contention.py
"""

import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
for name in ("DATABASE_URL", "REDIS_URL"):
    os.environ.pop(name, None)  # always the embedded database
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.test")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def main() -> None:
    setup_test_environment()
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    from tests.portal import test_sqlite_under_load as load

    requests: list[float] = []
    original = Client.request

    def timed(self, **request):
        started = time.perf_counter()
        try:
            return original(self, **request)
        finally:
            requests.append(time.perf_counter() - started)

    Client.request = timed
    people = load.build_world()
    errors: list[str] = []
    with load.Engine() as engine:
        steps: list[float] = []
        locks: list[float] = []
        runner = engine.runner
        counted_step, save_prices = runner.step, runner._save_prices

        def step(now=None):
            started = time.perf_counter()
            try:
                return counted_step(now)
            finally:
                steps.append(time.perf_counter() - started)

        def save(prices, at):
            started = time.perf_counter()
            try:
                return save_prices(prices, at)
            finally:
                locks.append(time.perf_counter() - started)

        runner.step, runner._save_prices = step, save
        started = time.perf_counter()
        threads = [threading.Thread(target=load.act, args=(p, engine, errors)) for p in people]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
    connection.creation.destroy_test_db(connection.settings_dict["NAME"], verbosity=0)
    ms = 1000
    print(
        json.dumps(
            {
                "clients": len(people),
                "requests": len(requests),
                "errors": len(errors),
                "wall_s": round(wall, 1),
                "request_p50_ms": round(percentile(requests, 0.50) * ms),
                "request_p95_ms": round(percentile(requests, 0.95) * ms),
                "request_max_ms": round(max(requests) * ms),
                "engine_steps": len(steps),
                "engine_step_p50_ms": round(statistics.median(steps) * ms, 1),
                "engine_step_max_ms": round(max(steps) * ms, 1),
                "engine_price_write_p50_ms": round(statistics.median(locks) * ms, 1),
                "engine_price_write_max_ms": round(max(locks) * ms, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
