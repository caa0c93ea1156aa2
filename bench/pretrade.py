"""Time the pre-trade check for one order with N accounts in the database (budget: p99 ≤ 5 ms).

Builds a database of its own (Django's test-database machinery, named `bench_pretrade`, dropped at
the end) from DJANGO_SETTINGS_MODULE (default portal.settings.test: PostgreSQL when DATABASE_URL
is set, SQLite otherwise): the disclosures in force, 1,000 instruments, N clients with a margin
account, an active contract and two positions each, and three closed orders per account from
earlier days (so the order lookups run against a full table), all with bulk inserts. A few clients
(--gated) walk the real education gate, so the check reads a current gate for them.

It prints first `pretrade_snapshot_plan`: EXPLAIN ANALYZE of the check's one statement for a
buy (its sequential scans, and those left with sequential scans switched off: none means every
table has an index path). Then it times, excluding any HTTP round trip, interleaved in rounds:
- `pretrade_check` / `pretrade_check_sell`: ``trading.pretrade.check`` for a buy on financing
  / a sale, as the ticket and submission run it (one statement for the account: the contract,
  holdings, open orders, today's fills, restrictions, the gate; the market-wide part kept a
  second), --samples times, half over the gated accounts and half over any account, with the
  number of queries, the time spent waiting on the database and the rest (Python);
- `pretrade_check_tables` / `_tables_sell`: the same read table by table (how submission read
  before the one statement), and `pretrade_check_fresh`: table by table, everything fresh;
- `order_submit`: the whole submission (lock, check, order row, audit entry), for comparison;
- `fill_record`: one fill through the venue path: the check again, the ledger entry, costs, the
  position, the notice.

Each check reading also prints where its slowest 1% went (`tail_median_ms` against
`all_median_ms`): the parts of the check (`market`: the market-wide part when it was read
apart, `statement`: the one statement sent, waited for and fetched, `decode`: its row into
instances, `rules_read`/`restrictions`: the gate's and the restrictions' decisions, `assemble`:
the snapshot with its fee schedule, `evaluate`: the rules), the database's wait (`db`), this
thread's CPU time (`cpu`: the rest was waiting on the database or the OS), how many of the tail
ran a garbage collection (`tail_with_gc`, by generation), read more than one statement
(`tail_reloading_market`), were preempted by the OS (`tail_preempted`) or were on accounts
through the gate, and the five slowest. PRETRADE_RECORDS=<file> writes every sample as JSON.

PRETRADE_KEEP_DB=1 (PostgreSQL) saves the 4-minute build: the first run keeps the built and
analysed database as a template (`<test database>_kept`, labelled with the arguments, the source
of the build functions and every migration) before measuring; a later run whose label matches
copies it (CREATE DATABASE ... TEMPLATE, seconds) and measures a fresh copy, so what one run
writes never reaches the next. A copy starts with none of its pages in PostgreSQL's shared
buffers (the OS has them cached); `database_reused` in the output says which it was. Drop the
template by hand (DROP DATABASE) when done.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/x .venv/bin/python bench/pretrade.py
"""

import argparse
import datetime
import json
import os
import random
import resource
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.test")

import django

django.setup()

import time_machine  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from accounts.models import User  # noqa: E402
from margin.models import Instrument, MarginAccount, MarginContract, Position  # noqa: E402
from portal.calendars import SHANGHAI  # noqa: E402
from trading import pretrade, services  # noqa: E402
from trading.models import Order  # noqa: E402
from trading.venue import VenueFill  # noqa: E402

D = Decimal
NOW = datetime.datetime(2026, 12, 3, 10, 0, tzinfo=SHANGHAI)  # a Thursday session
BUDGET_MS = 5.0
BATCH = 5000
POSITIONS = 5  # 100,000 accounts hold 500,000 positions (DESIGN's budgets)


def _codes(n: int) -> list[str]:
    codes = [f"{600000 + i}.SH" for i in range(n // 2)]
    return codes + [f"{i + 1:06d}.SZ" for i in range(n - len(codes))]


def build(accounts: int, gated: int, rng: random.Random) -> list[int]:
    from tests.education import factories as education

    education.documents_in_force()
    instruments = Instrument.objects.bulk_create(
        Instrument(
            code=code,
            name_zh=f"股票{code[:6]}",
            name_en=f"Stock {code[:6]}",
            previous_close=D(rng.randrange(500, 10000)) / 100,
        )
        for code in _codes(1000)
    )
    for instrument in instruments:
        instrument.last_price = instrument.previous_close
    Instrument.objects.bulk_update(instruments, ["last_price"])
    from tests.factories import PASSWORD

    password = make_password(PASSWORD)  # the gate re-authenticates with it
    for start in range(0, accounts, BATCH):
        users = User.objects.bulk_create(
            User(email=f"bench{n}@example.test", password=password)
            for n in range(start, min(start + BATCH, accounts))
        )
        rows = MarginAccount.objects.bulk_create(
            MarginAccount(
                client=user,
                number=f"MA{start + i:08d}",
                cash=D(rng.randrange(0, 500_000)),
                debt=D(rng.randrange(0, 300_000)),
            )
            for i, user in enumerate(users)
        )
        MarginContract.objects.bulk_create(
            MarginContract(
                account=account,
                number=f"RZ-{account.number}",
                annual_rate=D("0.078000"),
                credit_limit=D("1000000.00"),
                starts_on=datetime.date(2026, 11, 2),
                rollover_on=datetime.date(2027, 5, 2),
            )
            for account in rows
        )
        positions, orders = [], []
        for n, account in enumerate(rows):
            held = rng.sample(instruments, POSITIONS)
            for instrument in held:
                quantity = rng.randrange(1, 50) * 100
                price = instrument.previous_close
                positions.append(
                    Position(
                        account=account,
                        instrument=instrument,
                        quantity=quantity,
                        cost=price * quantity,
                    )
                )
                for day in (1, 2):
                    orders.append(_old_order(account, instrument, quantity, price, day))
            orders.append(_old_order(account, instrument, quantity, price, 3))
            if n % 10 == 0:  # one account in ten has an order resting today
                orders.append(_open_order(account, held[0], rng))
        Position.objects.bulk_create(positions)
        Order.objects.bulk_create(orders)
    accounts_gated = []
    for account in MarginAccount.objects.order_by("pk")[:gated]:
        education.rate(account.client, "C5")
        education.through_gate(account.client)
        accounts_gated.append(account.pk)
    return accounts_gated


def _old_order(account, instrument, quantity, price, days_ago):
    day = NOW.date() - datetime.timedelta(days=days_ago)
    return Order(
        account=account,
        instrument=instrument,
        side="buy",
        kind="limit",
        quantity=quantity,
        limit_price=price,
        filled_quantity=quantity,
        status="filled",
        client_token=f"old-{days_ago}-{instrument.pk}",
        trading_day=day,
        submitted_at=NOW - datetime.timedelta(days=days_ago),
    )


def _open_order(account, instrument, rng):
    return Order(
        account=account,
        instrument=instrument,
        side=rng.choice(["buy", "sell"]),
        kind="limit",
        quantity=100,
        limit_price=instrument.previous_close,
        status="accepted",
        client_token=f"open-{instrument.pk}",
        trading_day=NOW.date(),
        submitted_at=NOW - datetime.timedelta(minutes=5),
    )


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(name: str, samples: list[float], **extra) -> dict:
    ms = [s * 1000 for s in samples]
    return {
        "name": name,
        "samples": len(ms),
        "p50_ms": round(statistics.median(ms), 3),
        "p95_ms": round(percentile(ms, 0.95), 3),
        "p99_ms": round(percentile(ms, 0.99), 3),
        "max_ms": round(max(ms), 3),
        **extra,
    }


def _check(way: str):
    """The check as ``way`` reads: "snapshot" (one statement: the ticket and submission),
    "tables" (table by table, the market-wide part kept a second: how submission read before),
    "fresh" (table by table, everything fresh: execution)."""
    if way == "snapshot":
        return lambda account, request: pretrade.check(account, request, at=NOW)
    return lambda account, request: pretrade.evaluate(
        pretrade.load(account, request, at=NOW, fresh=way == "fresh"), request
    )


def explain(account_id: int) -> dict:
    """EXPLAIN ANALYZE of the snapshot's statement for a buy of one account through the gate:
    every table must be reached through an index."""
    from unittest import mock

    from django.test.utils import CaptureQueriesContext

    from portal import rows

    account = MarginAccount.objects.select_related("client").get(pk=account_id)
    code = Position.objects.filter(account=account).values_list("instrument__code", flat=True)[0]
    request = pretrade.OrderRequest("buy", "limit", code, 100, D("10.00"))
    pretrade.check(account, request, at=NOW)  # the market-wide part kept
    # Bound on the client for this one run, so the captured SQL carries its values (the check
    # binds on the server, portal.rows._bound_cursor, and Django's log holds no SQL for it).
    with (
        mock.patch.object(rows, "_bound_cursor", lambda connection: connection.cursor()),
        CaptureQueriesContext(connection) as captured,
    ):
        pretrade.check(account, request, at=NOW)
    plans, forced = [], []
    for query in captured.captured_queries:
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
            plans.append([line for (line,) in cursor.fetchall()])
            # The tables the bench leaves nearly empty (ratings, restrictions: a few rows) are
            # cheaper to scan whole; with scans off, every table must still have an index path.
            with transaction.atomic():
                cursor.execute("SET LOCAL enable_seqscan = off")
                cursor.execute("EXPLAIN " + query["sql"])
                forced.extend(line for (line,) in cursor.fetchall())
    lines = [line for plan in plans for line in plan]
    return {
        "name": "pretrade_snapshot_plan",
        "statements": len(plans),
        "seq_scans": [line.strip() for line in lines if "Seq Scan" in line],
        "seq_scans_when_off": [line.strip() for line in forced if "Seq Scan" in line],
        "index_scans": sum("Index" in line for line in lines),
        "execution": [line.strip() for line in lines if "Execution Time" in line],
        "plan": lines,
    }


def profile(gated: list[int], samples: int) -> None:
    """Where the snapshot check's own time goes (cProfile, by cumulative time)."""
    import cProfile
    import pstats

    accounts = [MarginAccount.objects.select_related("client").get(pk=pk) for pk in gated]
    codes = list(Instrument.objects.values_list("code", "previous_close")[:200])
    check = _check("snapshot")
    profiler = cProfile.Profile()
    for n in range(samples):
        code, close = codes[n % len(codes)]
        request = pretrade.OrderRequest("buy", "limit", code, 100, close)
        profiler.enable()
        check(accounts[n % len(accounts)], request)
        profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)


class _Parts:
    """Where each sample's time goes, without touching the check: the check's parts wrapped
    while it is timed (a wrapper costs about a microsecond), the database's answers timed at
    the cursor, and every garbage collection that ran during the sample (``gc.callbacks``)."""

    PARTS = {  # part → (object, attribute) wrapped
        "phase": (pretrade, "phase_at"),
        "market": (pretrade, "market"),  # the market-wide part: kept a second, then reloaded
        "statement": ("rows.Statement", "run"),  # the one statement: send, wait, fetch
        "decode": ("margin_holdings", "snapshot_from"),  # its row into model instances
        "rules_read": ("gate", "decide_from"),  # the gate's decision on the row
        "restrictions": ("restrictions", "buy_refusal"),
        "assemble": (pretrade, "_snapshot"),  # the Snapshot (the fee schedule, kept)
        "evaluate": (pretrade, "evaluate"),  # every rule, no database
    }

    def __init__(self) -> None:
        from education import gate
        from margin import holdings as margin_holdings
        from margin import restrictions
        from portal import rows

        named = {
            "rows.Statement": rows.Statement,
            "margin_holdings": margin_holdings,
            "gate": gate,
            "restrictions": restrictions,
        }
        self.targets = {
            part: (named.get(owner, owner), name) for part, (owner, name) in self.PARTS.items()
        }
        self.sample: dict = {}
        self._gc_started = 0.0

    def _wrap(self, part: str, function):
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.sample[part] = self.sample.get(part, 0.0) + time.perf_counter() - started

        return timed

    def _gc(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.sample.setdefault("gc", []).append(
                (info["generation"], time.perf_counter() - self._gc_started)
            )

    def __enter__(self):
        import gc

        self.saved = {}
        for part, (owner, name) in self.targets.items():
            self.saved[part] = owner.__dict__[name]
            setattr(owner, name, self._wrap(part, self.saved[part]))
        gc.callbacks.append(self._gc)
        return self

    def __exit__(self, *exc) -> None:
        import gc

        gc.callbacks.remove(self._gc)
        for part, (owner, name) in self.targets.items():
            setattr(owner, name, self.saved[part])


def _timed_checks(accounts: list[int], samples: int, rng, *, side: str, way: str) -> dict:
    """``samples`` checks of one order each, on the accounts in turn, each with a random code
    (a sale: of a code the account holds); the time, the queries and the database's share,
    and each sample's parts (``_Parts``)."""
    codes = list(Instrument.objects.values_list("code", "previous_close"))
    run = _check(way)
    times: list[float] = []
    waits: list[float] = []
    queries: list[int] = []
    records: list[dict] = []
    parts = _Parts()

    def timed_query(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            waits[-1] += time.perf_counter() - started
            queries[-1] += 1

    with parts:
        for n in range(samples):
            account = MarginAccount.objects.select_related("client").get(
                pk=accounts[n % len(accounts)]
            )
            if side == "sell":
                code, close = rng.choice(
                    list(
                        Position.objects.filter(account=account).values_list(
                            "instrument__code", "instrument__previous_close"
                        )
                    )
                )
            else:
                code, close = codes[rng.randrange(len(codes))]
            request = pretrade.OrderRequest(side, "limit", code, 100, close)
            waits.append(0.0)
            queries.append(0)
            parts.sample = {}
            with connection.execute_wrapper(timed_query):
                at = time.monotonic()
                switches = resource.getrusage(resource.RUSAGE_THREAD).ru_nivcsw
                cpu = time.thread_time()
                started = time.perf_counter()
                run(account, request)
                times.append(time.perf_counter() - started)
                cpu = time.thread_time() - cpu
                switches = resource.getrusage(resource.RUSAGE_THREAD).ru_nivcsw - switches
            records.append(
                {
                    **parts.sample,
                    "total": times[-1],
                    "db": waits[-1],
                    "cpu": cpu,  # this thread's CPU time: the rest is waiting (DB, OS)
                    "preempted": switches,  # involuntary context switches (the OS)
                    "queries": queries[-1],
                    "account": account.pk,
                    "code": code,
                    "at": at,
                }
            )
    return {
        "samples": times,
        "records": records,
        "queries": statistics.median(queries),
        "queries_max": max(queries),
        "db_wait_p50_ms": round(statistics.median(waits) * 1000, 3),
        "python_p50_ms": round(
            statistics.median([c - w for c, w in zip(times, waits, strict=True)]) * 1000, 3
        ),
    }


def tail(records: list[dict], gated: set[int]) -> dict:
    """Where the slowest 1% of the samples spent their time, against the median sample: each
    part's median (ms), the database's wait, the Python rest, and how many of them ran a
    garbage collection (by generation), reloaded the market-wide part (more than one query)
    or were on an account through the gate."""
    ordered = sorted(records, key=lambda record: record["total"])
    cut = ordered[min(len(ordered) - 1, int(0.99 * len(ordered))) :]

    def split(group: list[dict]) -> dict:
        names = ["total", "db", "cpu", *_Parts.PARTS, "gc"]
        found = {}
        for name in names:
            values = [
                sum(t for _g, t in r.get("gc", [])) if name == "gc" else r.get(name, 0.0)
                for r in group
            ]
            found[name] = round(statistics.median(values) * 1000, 3)
        found["python"] = round(statistics.median([r["total"] - r["db"] for r in group]) * 1000, 3)
        return found

    def share(group: list[dict], test) -> str:
        return f"{sum(1 for r in group if test(r))}/{len(group)}"

    return {
        "tail_from_ms": round(cut[0]["total"] * 1000, 3),
        "tail_median_ms": split(cut),
        "all_median_ms": split(ordered),
        "tail_with_gc": {
            f"gen{g}": share(cut, lambda r, g=g: any(gen == g for gen, _t in r.get("gc", [])))
            for g in (0, 1, 2)
        },
        "all_with_gc": {
            f"gen{g}": share(ordered, lambda r, g=g: any(gen == g for gen, _t in r.get("gc", [])))
            for g in (0, 1, 2)
        },
        "tail_reloading_market": share(cut, lambda r: r["queries"] > 1),
        "tail_preempted": share(cut, lambda r: r["preempted"] > 0),
        "all_preempted": share(ordered, lambda r: r["preempted"] > 0),
        "tail_gated": share(cut, lambda r: r["account"] in gated),
        "slowest": [
            {
                "ms": round(r["total"] * 1000, 2),
                "db_ms": round(r["db"] * 1000, 2),
                "cpu_ms": round(r["cpu"] * 1000, 2),
                "preempted": r["preempted"],
                "queries": r["queries"],
                "gc": [(g, round(t * 1000, 2)) for g, t in r.get("gc", [])],
                "statement_ms": round(r.get("statement", 0.0) * 1000, 2),
                "market_ms": round(r.get("market", 0.0) * 1000, 2),
                "account": r["account"],
                "code": r["code"],
            }
            for r in reversed(cut[-5:])
        ],
    }


def measure(gated: list[int], samples: int, orders: int, rng: random.Random) -> list[dict]:
    everyone = list(MarginAccount.objects.values_list("pk", flat=True))
    # Half the checks on clients through the gate (every rule read), half on any of the N
    # accounts (cold rows; most are refused at suitability, which reads a little less).
    mixed = [gated[n % len(gated)] if n % 2 == 0 else rng.choice(everyone) for n in range(samples)]
    results = []
    readings = {
        "snapshot": "one statement, the market-wide part among its columns (ticket, submission)",
        "tables": "table by table; market-wide part kept 1 s (submission before this change)",
        "fresh": "table by table, everything read fresh (as at execution)",
    }
    # Interleaved in rounds, so the readings share the machine's load as it changes.
    rounds = 4
    found_by: dict[tuple[str, str, str], list[dict]] = {}
    plan = [
        ("pretrade_check", "buy", "snapshot"),
        ("pretrade_check_sell", "sell", "snapshot"),
        ("pretrade_check_tables", "buy", "tables"),
        ("pretrade_check_tables_sell", "sell", "tables"),
        ("pretrade_check_fresh", "buy", "fresh"),
    ]
    for n in range(rounds):
        part = mixed[n::rounds]
        for key in plan:
            found_by.setdefault(key, []).append(
                _timed_checks(part, len(part), rng, side=key[1], way=key[2])
            )
    for (name, _side, way), parts in found_by.items():
        samples_all = [t for part in parts for t in part["samples"]]
        results.append(
            summary(
                name,
                samples_all,
                budget_ms=BUDGET_MS,
                reading=readings[way],
                queries=statistics.median([part["queries"] for part in parts]),
                queries_max=max(part["queries_max"] for part in parts),
                db_wait_p50_ms=statistics.median([part["db_wait_p50_ms"] for part in parts]),
                python_p50_ms=statistics.median([part["python_p50_ms"] for part in parts]),
                **tail([r for part in parts for r in part["records"]], set(gated)),
            )
        )
    if os.environ.get("PRETRADE_RECORDS"):  # every sample, for a closer look
        with open(os.environ["PRETRADE_RECORDS"], "w") as out:
            for (name, _side, _way), parts in found_by.items():
                for part in parts:
                    for record in part["records"]:
                        print(json.dumps({"name": name, **record}), file=out)
    codes = list(Instrument.objects.values_list("code", "previous_close"))
    submits, fills = [], []
    counted = {"submit": [], "fill": []}
    count = [0]
    tables: dict[str, int] = {}  # a fill's statements by table (what the fill's time is spent on)

    def counting(execute, sql, params, many, context):
        count[0] += 1
        words = sql.replace('"', " ").split()
        verb = words[0].upper() if words else "?"
        table = next((w for w in words[1:] if "_" in w and "." not in w), "?")
        tables[f"{verb} {table}"] = tables.get(f"{verb} {table}", 0) + 1
        return execute(sql, params, many, context)

    for n in range(orders):
        code, close = codes[rng.randrange(len(codes))]
        started = time.perf_counter()
        count[0] = 0
        try:
            with connection.execute_wrapper(counting):
                submitted = services.order_submit(
                    account_id=gated[n % len(gated)],
                    side="buy",
                    kind="limit",
                    code=code,
                    quantity=100,
                    price=close,
                    client_token=f"bench-{n}",
                    at=NOW,
                )
        except services.OrderRefused:
            continue
        submits.append(time.perf_counter() - started)
        counted["submit"].append(count[0])
        fill = VenueFill(
            submitted.order.pk, 100, close, NOW + datetime.timedelta(seconds=1), f"bench-{n}"
        )
        started = time.perf_counter()
        count[0] = 0
        tables.clear()
        with connection.execute_wrapper(counting):
            services.fill_record(fill=fill)
        fills.append(time.perf_counter() - started)
        counted["fill"].append(count[0])
    if submits:
        results.append(
            summary("order_submit", submits, queries=statistics.median(counted["submit"]))
        )
    if fills:
        results.append(
            summary(
                "fill_record",
                fills,
                queries=statistics.median(counted["fill"]),
                last_fill_statements=dict(sorted(tables.items(), key=lambda item: -item[1])),
            )
        )
    return results


class _Kept:
    """A built database kept as a template (PRETRADE_KEEP_DB=1, PostgreSQL only), named
    ``<test database>_kept`` and labelled with what it was built from: the arguments, the
    source of the build functions and the migrations on disk. A run whose label matches copies
    it (CREATE DATABASE ... TEMPLATE, seconds) instead of building; any difference builds anew
    and keeps the new build. The copy is a fresh database for every run, so the submissions and
    fills one run writes never reach the next."""

    def __init__(self, test_name: str, label: str) -> None:
        self.test_name, self.name, self.label = test_name, f"{test_name}_kept", label

    def _admin(self, sql: str, params=()) -> list:
        import psycopg

        settings_dict = dict(connection.settings_dict)
        with psycopg.connect(
            dbname="postgres",
            user=settings_dict["USER"],
            password=settings_dict["PASSWORD"] or None,
            host=settings_dict["HOST"] or None,
            port=settings_dict["PORT"] or None,
            autocommit=True,
        ) as admin:
            cursor = admin.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def clone(self) -> bool:
        found = self._admin(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            (self.name,),
        )
        if not found or found[0][0] != self.label:
            return False
        connection.close()
        self._admin(f'DROP DATABASE IF EXISTS "{self.test_name}"')
        self._admin(f'CREATE DATABASE "{self.test_name}" TEMPLATE "{self.name}"')
        settings.DATABASES[connection.alias]["NAME"] = self.test_name
        connection.settings_dict["NAME"] = self.test_name
        return True

    def keep(self) -> None:
        """Copy the database just built (and analysed), before the measurement writes to it."""
        connection.close()
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}"')
        self._admin(f'CREATE DATABASE "{self.name}" TEMPLATE "{self.test_name}"')
        self._admin(f"COMMENT ON DATABASE \"{self.name}\" IS '{self.label}'")


def _kept(args) -> _Kept | None:
    import hashlib
    import inspect

    from django.db.migrations.loader import MigrationLoader

    if connection.vendor != "postgresql":
        return None
    built_from = [
        repr((args.accounts, args.gated, POSITIONS)),
        *(inspect.getsource(f) for f in (_codes, build, _old_order, _open_order)),
        *(
            inspect.getsource(sys.modules[migration.__module__])
            for _key, migration in sorted(MigrationLoader(None).disk_migrations.items())
        ),
    ]
    label = hashlib.sha256("\n".join(built_from).encode()).hexdigest()
    return _Kept(connection.settings_dict["TEST"]["NAME"], label)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--gated", type=int, default=50)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--profile", action="store_true", help="profile snapshot checks only")
    parser.add_argument("--brief", action="store_true", help="without the full query plan")
    args = parser.parse_args()

    # Production keeps market-wide reference data a second per process; the test settings the
    # bench starts from turn that off.
    settings.TRADING_REFERENCE_SECONDS = 1.0
    test_settings = connection.settings_dict.setdefault("TEST", {})
    if connection.vendor == "sqlite":
        test_settings["NAME"] = str(
            Path(__file__).resolve().parent.parent / "var" / "bench.sqlite3"
        )
    else:
        # Named after the configured database: helpers sharing one server do not collide.
        test_settings["NAME"] = f"{connection.settings_dict['NAME']}_bench_pretrade"
    real_name = connection.settings_dict["NAME"]
    rng = random.Random(17)  # noqa: S311 - reproducible data, not secrets
    kept = _kept(args) if os.environ.get("PRETRADE_KEEP_DB") == "1" else None
    reused = kept is not None and kept.clone()
    if not reused:
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        with time_machine.travel(NOW, tick=True):
            started = time.perf_counter()
            if reused:
                gated = list(
                    MarginAccount.objects.order_by("pk").values_list("pk", flat=True)[: args.gated]
                )
            else:
                with transaction.atomic():
                    gated = build(args.accounts, args.gated, rng)
                if connection.vendor == "postgresql":
                    with connection.cursor() as cursor:
                        cursor.execute("ANALYZE")
                if kept is not None:
                    kept.keep()
            build_seconds = time.perf_counter() - started
            rng = random.Random(18)  # noqa: S311 - the same draws whether built or copied
            if args.profile:
                profile(gated, args.samples)
                return
            results = measure(gated, args.samples, args.orders, rng)
            if connection.vendor == "postgresql":
                results.insert(0, explain(gated[0]))
        for result in results:
            result.update(
                database=connection.vendor,
                accounts=MarginAccount.objects.count(),
                positions=Position.objects.count(),
                orders=Order.objects.count(),
                build_seconds=round(build_seconds, 1),
                database_reused=reused,
            )
            if args.brief:
                result.pop("plan", None)
            if "budget_ms" in result:
                result["within_budget"] = result["p99_ms"] <= result["budget_ms"]
            result["load_average"] = os.getloadavg()
            print(json.dumps(result))
    finally:
        connection.creation.destroy_test_db(real_name, verbosity=0)


if __name__ == "__main__":
    main()
