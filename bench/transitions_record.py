"""The 8% fall's transitions stage alone, split by sub-stage, wall and CPU time.

``bench/tick_to_screen.py`` times the whole risk step (``transitions_record`` is one stage of
it) and needs both cores for five minutes at 100,000 accounts. This builds the same book (its
``build_book``/``load_book``) at a smaller size, runs the real ``RiskRunner`` through the same
falls (back to the base, then every price down 8%), and times only
``margin_transitions_record`` of each fall, with the time of each of its parts (moving the
accounts, inserting the events, the calls, the audit entries, the notices, ...), nested parts
included in their callers; with the batches recorded on several connections at once, a part's
wall time is summed over them (it can exceed the stage's). ``--profile`` prints a cProfile (CPU
time, this thread's only) of the last fall.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/x REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/transitions_record.py --accounts 20000 --runs 3

The database named by DATABASE_URL gets ``_trs`` appended and is dropped and rebuilt; Redis
database 14 is flushed. Never point it at data you keep.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import tick_to_screen as tts

# (module, attribute, sub-stage name): each timed where the transitions stage calls it.
PARTS = [
    ("margin.transitions", "margin_transitions_record_batch", "batch"),
    ("margin.transitions", "_move_accounts", "batch.move_accounts"),
    ("margin.transitions", "_insert_events", "batch.insert_events"),
    ("margin.transitions", "_after_transitions_recorded", "batch.after"),
    ("margin.transitions", "contract_lines", "after.contract_lines"),
    ("margin.contracts", "sell_costs_by_account", "after.sell_costs"),
    ("margin.transitions", "_open_calls", "after.open_calls"),
    ("margin.transitions", "_restrict_many", "after.restrict"),
    ("margin.transitions", "_notice_context", "after.notice_context"),
    ("audit.services", "record_many", "audit.record_many"),
    ("notices.services", "enqueue_many", "notices.enqueue_many"),
    ("margin.transitions", "liquidation_plans_queue", "after.plans_queue"),
    ("margin.transitions", "margin_calls_restore", "calls_restore"),
    ("margin.concentration", "concentration_changes_record", "concentration"),
]


def _timer(totals: dict, name: str, func):
    def wrapper(*args, **kwargs):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return func(*args, **kwargs)
        finally:
            spent = totals.setdefault(name, [0.0, 0.0, 0])
            spent[0] += time.perf_counter() - wall
            spent[1] += time.process_time() - cpu
            spent[2] += 1

    wrapper.__wrapped__ = func
    return wrapper


def _patch(totals: dict) -> None:
    import importlib

    for module_name, attribute, name in PARTS:
        module = importlib.import_module(module_name)
        original = getattr(module, attribute, None)
        if original is not None:
            setattr(module, attribute, _timer(totals, name, original))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20261205)
    parser.add_argument("--profile", action="store_true", help="cProfile of the last fall")
    parser.add_argument("--sql", action="store_true", help="the step's slowest statements")
    args = parser.parse_args()
    database = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    if not database.startswith("postgres") or not redis_url:
        sys.exit("Set DATABASE_URL (PostgreSQL) and REDIS_URL.")
    database = database.rstrip("/") + "_trs"
    redis_url = redis_url.rsplit("/", 1)[0] + "/14"
    tts._recreate_database(database)
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    tts._setup_django(database, redis_url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    book = tts.build_book(args.accounts, args.seed)
    tts.load_book(book)

    from django.db import connection, connections
    from django.db.backends.signals import connection_created

    from margin.feed import ManualFeed
    from margin.models import MarginEvent
    from margin.runner import RiskRunner

    clock = [1000.0]
    runner = RiskRunner(feed=ManualFeed(), clock=lambda: clock[0], push_to_watched_only=True)
    runner.start()
    runner.step(now=clock[0])
    runner.settle()
    codes = tts.symbol_codes()
    base = book["prices"]

    def prices(fen: np.ndarray) -> dict[str, Decimal]:
        return {code: Decimal(int(p)).scaleb(-2) for code, p in zip(codes, fen, strict=True)}

    totals: dict = {}
    _patch(totals)
    record = runner._record
    at = tts.START
    for run in range(args.runs + 1):
        at += datetime.timedelta(seconds=3)
        clock[0] += 1.0
        runner.feed.put(prices(base), at=at)  # back to the base (not measured)
        runner.step(now=clock[0])
        runner.settle()  # as RiskRunner.run does after the pushes
        at += datetime.timedelta(seconds=3)
        clock[0] += 1.0
        runner.feed.put(prices(np.round(base * 0.92).astype(np.int64)), at=at)
        totals.clear()
        spent: dict = {}
        profile = None
        if args.profile and run == args.runs:
            import cProfile

            profile = cProfile.Profile(time.process_time)

        def timed_record(result, occurred_at=None, *, profile=profile, spent=spent):
            wall, cpu = time.perf_counter(), time.process_time()
            if profile is not None:
                profile.enable()
            try:
                return record(result, occurred_at)
            finally:
                if profile is not None:
                    profile.disable()
                # Summed: a fall's watched accounts in the step, the rest in settle().
                spent["wall"] = spent.get("wall", 0) + time.perf_counter() - wall
                spent["cpu"] = spent.get("cpu", 0) + time.process_time() - cpu

        runner._record = timed_record
        before = MarginEvent.objects.count()
        statements: dict = {}

        def sql_clock(execute, sql, params, many, context, statements=statements):
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                name = " ".join(sql.split())[:70]
                spent = statements.setdefault(name, [0.0, 0])
                spent[0] += time.perf_counter() - started
                spent[1] += 1

        # The batches go over several connections at once (margin.transitions.CONNECTIONS): the
        # statements of each, this thread's and those the recording threads open, are counted.
        wrapper_class = type(connections["default"])
        class_commit = wrapper_class._commit

        def any_commit(self, statements=statements, class_commit=class_commit):
            started = time.perf_counter()
            try:
                return class_commit(self)
            finally:
                spent = statements.setdefault("COMMIT", [0.0, 0])
                spent[0] += time.perf_counter() - started
                spent[1] += 1

        def clock_new(sender, connection, sql_clock=sql_clock, **kwargs):
            connection.execute_wrappers.append(sql_clock)

        wrapper_class._commit = any_commit
        connection_created.connect(clock_new)
        with connection.execute_wrapper(sql_clock):
            runner.step(now=clock[0])
            runner.settle()  # what the step left for after its pushes (nobody watches here)
        connection_created.disconnect(clock_new)
        wrapper_class._commit = class_commit
        del runner._record
        line = {
            "run": run,
            "warm": run > 0,
            "accounts": args.accounts,
            "transitions": MarginEvent.objects.count() - before,
            "wall_ms": round(spent.get("wall", 0) * 1000, 1),
            "cpu_ms": round(spent.get("cpu", 0) * 1000, 1),
            "parts": {
                name: {"wall_ms": round(w * 1000, 1), "cpu_ms": round(c * 1000, 1), "calls": n}
                for name, (w, c, n) in totals.items()
            },
            "load": os.getloadavg()[0],
        }
        if args.sql:  # the step's statements by wall time (the whole step's, over all connections)
            slowest = sorted(statements.items(), key=lambda item: -item[1][0])[:12]
            line["sql_ms"] = {name: [round(w * 1000, 1), n] for name, (w, n) in slowest}
        print(json.dumps(line), flush=True)
        if profile is not None:
            import io
            import pstats

            out = io.StringIO()
            if os.environ.get("TRS_PROFILE_OUT"):  # for pstats' callers and callees
                profile.dump_stats(os.environ["TRS_PROFILE_OUT"])
            stats = pstats.Stats(profile, stream=out)
            stats.sort_stats("tottime").print_stats(30)
            stats.sort_stats("cumulative").print_stats(60)
            print(out.getvalue(), file=sys.stderr)


if __name__ == "__main__":
    main()
