"""From a market-wide tick to the client's socket, through the real risk runner.

The numpy core's figure (``bench/revalue.py``, reported there as "core") is a footnote to what a
client feels: this script drives the real ``RiskRunner`` on PostgreSQL and Redis and measures the
whole path. Per book size N (1k, 10k, 100k accounts, five positions each over 4,000 instruments)
it builds the book in a database of its own, starts one runner (one partition, one core), and
then, for every instrument moving at once (an exchange Level-1 snapshot):

- the step's time split by stage (checks and the engine's revaluation, the price write, the
  transitions recorded, the statuses built and cached, the publish), the SQL statements and the
  Redis commands of one step;
- tick-to-socket p50/p99: M sockets (``--sockets``, default min(N, 5,000)) are held by a real
  ``margin.push.Hub`` in a second process subscribed to the push channel, as a web process holds
  them; each socket stamps the moment its status reaches it, against the moment the tick arrived;
- an "8% drop" scenario: every price down 8% in one tick, thousands of level transitions
  recorded (events, notices, audit entries): the watched accounts' before any status is pushed,
  the others' after the publish, as ``RiskRunner.run`` does (``settle``), timed apart
  ("after_publish_record_rest"; "tick_to_all_recorded" is the whole fall recorded). The first
  fall, which opens the margin calls, is reported apart ("first_...").

Prints one JSON object per measurement (medians of ``--runs`` steps) and a ``core`` line from the
engine's own revaluation of the same book, for reference.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/x REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/tick_to_screen.py --accounts 1000 10000 100000

The database named by DATABASE_URL gets ``_tts`` appended and is dropped and rebuilt per N; the
Redis database is flushed per N. Never point it at data you keep.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import multiprocessing
import os
import queue
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.test")

import numpy as np  # noqa: E402

SYMBOLS = 4_000
POSITIONS_PER_ACCOUNT = 5
START = datetime.datetime(2026, 11, 26, 2, 0, tzinfo=datetime.UTC)  # a Thursday, 10:00 Beijing


def symbol_codes() -> list[str]:
    """4,000 main-board Shanghai codes (600…, 601…, 603…, 605…)."""
    return [f"{prefix}{i:03d}.SH" for prefix in (600, 601, 603, 605) for i in range(1000)]


def _bench_urls() -> tuple[str, str]:
    database = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    if not database.startswith("postgres") or not redis_url:
        sys.exit("Set DATABASE_URL (PostgreSQL) and REDIS_URL: this measures the real path.")
    # Its own Redis database (15): the script flushes it, and the test suite flushes its own.
    redis_url = redis_url.rsplit("/", 1)[0] + "/15" if redis_url.count("/") > 2 else redis_url
    return database.rstrip("/") + "_tts", redis_url


def _recreate_database(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _setup_django(database: str, redis_url: str) -> None:
    os.environ["DATABASE_URL"] = database
    os.environ["REDIS_URL"] = redis_url
    import django

    django.setup()
    from django.conf import settings

    # A real engine process: notices are delivered by workers, not inline in the step.
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.MARGIN_TICK_OBSERVERS = []
    settings.DEBUG = False
    from margin import push

    # Its own push channel: Redis channels are server-wide, and tests may be running.
    push.CHANNEL = "margin:push:bench"


# --- the book -------------------------------------------------------------------------------------


def build_book(accounts: int, seed: int) -> dict:
    """Five positions an account over 4,000 symbols (popular ones held more), ratios spread so
    that an 8% fall moves about 7% of the accounts down a level."""
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, SYMBOLS + 1) ** 0.8
    popularity /= popularity.sum()
    held = np.empty((accounts, POSITIONS_PER_ACCOUNT), dtype=np.int64)
    for column in range(POSITIONS_PER_ACCOUNT):
        held[:, column] = rng.choice(SYMBOLS, size=accounts, p=popularity)
    held.sort(axis=1)
    # Duplicates within an account: move them to a neighbouring symbol.
    for column in range(1, POSITIONS_PER_ACCOUNT):
        clash = held[:, column] <= held[:, column - 1]
        held[clash, column] = held[clash, column - 1] + 1
    held %= SYMBOLS
    prices = np.clip(np.round(np.exp(rng.normal(np.log(20.0), 0.8, SYMBOLS)) * 100), 200, 200_000)
    prices = prices.astype(np.int64)
    quantities = rng.integers(1, 50, (accounts, POSITIONS_PER_ACCOUNT)) * 100
    market_value = (quantities * prices[held]).sum(axis=1)
    cash = np.round(market_value * rng.uniform(0.0, 0.3, accounts)).astype(np.int64)
    ratio = rng.uniform(1.25, 4.0, accounts)
    owed = np.where(rng.random(accounts) < 0.05, 0, np.round((market_value + cash) / ratio))
    return {
        "held": held,
        "quantities": quantities,
        "prices": prices,
        "cash": cash,
        "owed": owed.astype(np.int64),
    }


def load_book(book: dict) -> list[int]:
    """Write the book with COPY (users, accounts, instruments, positions) at the levels the
    engine would give them, so start-up records nothing."""
    from django.db import connection

    from margin.engine import LEVELS, RiskEngine
    from margin.rules import DEFAULT_LINES

    accounts = len(book["cash"])
    codes = symbol_codes()
    engine = RiskEngine(
        account_ids=np.arange(accounts),
        cash_fen=book["cash"],
        liabilities_fen=book["owed"],
        severity=np.zeros(accounts, dtype=np.int64),
        event_sequence=np.zeros(accounts, dtype=np.int64),
        lines=[DEFAULT_LINES],
        lines_index=np.zeros(accounts, dtype=np.int64),
        symbols=codes,
        prices_fen=book["prices"],
        holder_rows=np.repeat(np.arange(accounts), POSITIONS_PER_ACCOUNT),
        symbol_rows=book["held"].ravel(),
        quantities=book["quantities"].ravel(),
    )
    settled = engine.revalue_all()
    levels = settled.severity
    # Positions already over the concentration limit, recorded as a running portal would have
    # them: otherwise start-up records one restriction per position, one at a time.
    breaches = [(c.account_id, c.symbol) for c in settled.concentration if c.breached]
    now = START.isoformat()

    def yuan(fen: int) -> str:
        return str(Decimal(int(fen)).scaleb(-2))

    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(
            "COPY accounts_user (password, is_superuser, "
            "is_staff, is_active, date_joined, email, full_name, language, phone, "
            "phone_verified, name_pinyin, name_pinyin_given_first, name_initials) FROM STDIN"
        ) as copy:
            for i in range(accounts):
                copy.write_row(
                    ("!", False, False, True, now, f"c{i}@bench.test",
                     f"Client {i}", "zh-hans", f"138{i:08d}", True,
                     f"client {i}", f"client {i}", "c")
                )  # fmt: skip
        cursor.execute("SELECT id FROM accounts_user ORDER BY id")
        users = [row[0] for row in cursor.fetchall()]
        with raw.copy(
            "COPY margin_marginaccount (client_id, number, cash, debt, accrued_interest, "
            "fees_owed, current_level, event_sequence, opened_at) FROM STDIN"
        ) as copy:
            for i, user in enumerate(users):
                copy.write_row(
                    (user, f"B{i:09d}", yuan(book["cash"][i]), yuan(book["owed"][i]), "0.00",
                     "0.00", LEVELS[int(levels[i])].value, 0, now)
                )  # fmt: skip
        cursor.execute("SELECT id FROM margin_marginaccount ORDER BY id")
        account_ids = [row[0] for row in cursor.fetchall()]
        with raw.copy(
            "COPY margin_instrument (code, name_zh, name_en, is_st, risk_warning, suspension, "
            "is_high_risk, collateral_eligible, status_note, sector, float_shares, "
            "previous_close, last_price) FROM STDIN"
        ) as copy:
            for i, code in enumerate(codes):
                price = yuan(book["prices"][i])
                copy.write_row(
                    (code, f"股票{i}", f"Stock {i}", False, "", "", False, True, "", "",
                     0, price, price)
                )  # fmt: skip
        cursor.execute("SELECT code, id FROM margin_instrument")
        instrument_id = dict(cursor.fetchall())
        with raw.copy(
            "COPY margin_position (account_id, instrument_id, quantity, cost) FROM STDIN"
        ) as copy:
            for i, account_id in enumerate(account_ids):
                for symbol, quantity in zip(book["held"][i], book["quantities"][i], strict=True):
                    copy.write_row(
                        (account_id, instrument_id[codes[symbol]], int(quantity),
                         yuan(quantity * book["prices"][symbol]))
                    )  # fmt: skip
        with raw.copy(
            "COPY margin_restriction (account_id, kind, instrument_id, reason, reason_code, "
            "reason_params, imposed_at, lift_reason) FROM STDIN"
        ) as copy:
            for row, code in breaches:
                copy.write_row(
                    (account_ids[row], "concentration", instrument_id[code], "", "concentration",
                     json.dumps({"code": code}), now, "")
                )  # fmt: skip
        cursor.execute("ANALYZE")
        # The build's writes flushed before anything is measured: a production book is not
        # bulk-loaded a moment before a fall, and the checkpoint the load's WAL calls for would
        # land on the first measured steps (on this machine's stock settings, shared_buffers
        # 128 MB and max_wal_size 1 GB, it did: the first fall's wall time varied by 0.7 s).
        cursor.execute("CHECKPOINT")
    return account_ids


# --- the sockets ----------------------------------------------------------------------------------


def sockets_process(database, redis_url, account_ids, ready, stamps, stop) -> None:
    """A web process: one Hub, one fake socket per account, each stamping what reaches it."""
    _setup_django(database, redis_url)
    import asyncio

    # Imported here, once: the hub's listener and the watching thread importing redis at the
    # same moment deadlocked the import system (and no socket was ever reached).
    import redis
    import redis.asyncio  # noqa: F401

    from margin import push

    try:
        from margin import watching
    except ImportError:  # the runner before watching existed pushed every account
        watching = None

    class Socket:
        def __init__(self, account_id: int, seen: list) -> None:
            self.account_id, self.seen = account_id, seen

        async def push_text(self, text: str) -> None:
            self.seen.append(time.time())

    async def main() -> None:
        hub = push.Hub()
        seen: list[float] = []
        for account_id in account_ids:
            hub.join(account_id, Socket(account_id, seen))
        if watching is not None:
            await asyncio.to_thread(watching.watch, account_ids)
        await hub.wait_subscribed(10)
        ready.set()
        refreshed = time.monotonic()
        while not stop.is_set():
            await asyncio.sleep(0.02)
            if watching is not None and time.monotonic() - refreshed > watching.REFRESH:
                # As the consumers' refresher does for open sockets.
                await asyncio.to_thread(watching.watch, account_ids)
                refreshed = time.monotonic()
            if seen:
                batch, seen[:] = list(seen), []
                stamps.put(batch)
        await hub.stop()

    asyncio.run(main())


# --- measuring ------------------------------------------------------------------------------------


class Counters:
    """SQL statements (an execute wrapper) and Redis commands (the server's own count)."""

    def __init__(self, redis_url: str) -> None:
        import redis

        self.redis = redis.Redis.from_url(redis_url)
        self.sql = 0
        self.timings: list[tuple[float, str]] = []

    def __call__(self, execute, sql, params, many, context):
        self.sql += 1
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.timings.append((time.perf_counter() - started, sql[:160]))

    def redis_commands(self) -> int:
        return int(self.redis.info("stats")["total_commands_processed"])


def timed(stages: dict, name: str, func):
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            stages[name] = stages.get(name, 0.0) + time.perf_counter() - started

    wrapper.__wrapped__ = func
    return wrapper


def instrument(runner, stages: dict) -> None:
    from margin import status

    runner.engine.tick = timed(stages, "revalue_core", runner.engine.tick)
    for method, stage in (
        ("_save_prices", "prices_write"),
        ("_record", "transitions_record"),
        ("due_pushes", "statuses_due_build_cache"),
        ("_chart", "chart_points"),
    ):
        if hasattr(runner, method):
            setattr(runner, method, timed(stages, stage, getattr(runner, method)))
    for function in ("store", "store_many"):
        if hasattr(status, function):
            original = getattr(status, function)
            setattr(status, function, timed(stages, "cache_write", original))
    # A fall's statuses built while its transitions are recorded, in a thread of their own: this
    # stage overlaps transitions_record (its wall time is within that stage's, not added to it).
    prebuild = getattr(importlib.import_module("margin.runner"), "_Prebuild", None)
    if prebuild is not None:
        prebuild._run = timed(stages, "statuses_prebuild_overlapped", prebuild._run)


def run_scenario(name, runner, counters, stamps, ticks, accounts, sockets, publisher) -> None:
    import asyncio
    import gc

    from django.db import connection

    from margin.models import MarginEvent

    if _gc_clock not in gc.callbacks:
        gc.callbacks.append(_gc_clock)
    loop = asyncio.new_event_loop()
    lines = []
    for tick_prices, at in ticks:
        stages: dict[str, float] = {}
        instrument(runner, stages)
        runner.feed.put(tick_prices, at=at)
        events_before = MarginEvent.objects.count()
        counters.sql, counters.timings = 0, []
        redis_before = counters.redis_commands()
        tick_wall = time.time()
        profile = _profiler(name)
        collecting.clear()
        started, cpu = time.perf_counter(), time.process_time()
        with connection.execute_wrapper(counters):
            if profile is not None:
                profile.enable()
            pushes = runner.step(now=runner.clock())
            if profile is not None:
                profile.disable()
        stepped, cpu = time.perf_counter(), time.process_time() - cpu
        if profile is not None:
            _profile_report(profile, name, len(lines))
            slowest = sorted(counters.timings, reverse=True)[:15]
            print("--- slowest statements ---", file=sys.stderr)
            for seconds, sql in slowest:
                print(f"{seconds * 1000:8.1f} ms  {sql}", file=sys.stderr)
            print(f"all: {sum(t for t, _ in counters.timings) * 1000:.1f} ms", file=sys.stderr)
        loop.run_until_complete(publisher.publish([payload for _, payload in pushes]))
        published = time.perf_counter()
        # What the step left for after its pushes (a fall's unwatched accounts), recorded as
        # ``RiskRunner.run`` does before the next tick: the whole fall is recorded at "settled".
        settle = getattr(runner, "settle", None)
        if settle is not None:
            with connection.execute_wrapper(counters):
                settle()
        settled = time.perf_counter()
        redis_commands = counters.redis_commands() - redis_before - 1
        watched = sum(1 for _, payload in pushes if payload["account_id"] in sockets)
        latencies = []
        deadline = time.time() + 30
        while len(latencies) < watched and time.time() < deadline:
            try:
                latencies.extend(t - tick_wall for t in stamps.get(timeout=1))
            except queue.Empty:
                continue
        stages["publish"] = published - stepped
        stages["step"] = stepped - started
        if settle is not None:
            stages["after_publish_record_rest"] = settled - published
            stages["tick_to_all_recorded"] = settled - started
        stages["cpu"] = cpu
        stages["gc"] = sum(collecting)
        transitions = MarginEvent.objects.count() - events_before
        lines.append((stages, counters.sql, redis_commands, len(pushes), transitions, latencies,
                      watched))  # fmt: skip
        _restore(runner)
    if publisher._client is not None:  # closed on the loop it connected on
        loop.run_until_complete(publisher._client.aclose())
    loop.close()
    skip = 1 if len(lines) > 2 else 0  # the first step after start-up warms caches
    kept = lines[skip:]
    stage_names = sorted({k for stages, *_ in kept for k in stages})
    all_latencies = [x for line in kept for x in line[5]]
    result = {
        "name": name,
        "accounts": accounts,
        "sockets": len(sockets),
        "runs": len(kept),
        "step_ms": _median_ms([s["step"] for s, *_ in kept]),
        "first_step_ms": _median_ms([lines[0][0]["step"]]),
        # The first step of a scenario apart: for the drop it is the first fall, the one that
        # opens the margin calls (the later falls find them open), which a market meets first.
        "first_stages_ms": {k: _median_ms([v]) for k, v in sorted(lines[0][0].items())},
        "first_sql_statements": lines[0][1],
        "first_redis_commands": lines[0][2],
        "first_transitions_recorded": lines[0][4],
        "first_tick_to_socket_p50_ms": _pct_ms(lines[0][5], 50),
        "first_tick_to_socket_p99_ms": _pct_ms(lines[0][5], 99),
        "first_delivered": f"{len(lines[0][5])}/{lines[0][6]}",
        "step_cpu_ms": _median_ms([s["cpu"] for s, *_ in kept]),
        "stages_ms": {k: _median_ms([s.get(k, 0.0) for s, *_ in kept]) for k in stage_names},
        "sql_statements": int(statistics.median(line[1] for line in kept)),
        "redis_commands": int(statistics.median(line[2] for line in kept)),
        "statuses_pushed": int(statistics.median(line[3] for line in kept)),
        "transitions_recorded": int(statistics.median(line[4] for line in kept)),
        "delivered": f"{len(all_latencies)}/{sum(line[6] for line in kept)}",
        "tick_to_socket_p50_ms": _pct_ms(all_latencies, 50),
        "tick_to_socket_p99_ms": _pct_ms(all_latencies, 99),
        "load": os.getloadavg()[0],
    }
    print(json.dumps(result, ensure_ascii=False), flush=True)


collecting: list[float] = []  # seconds of each garbage collection during the step
_gc_started = [0.0]


def _gc_clock(phase: str, info: dict) -> None:
    if phase == "start":
        _gc_started[0] = time.perf_counter()
    else:
        collecting.append(time.perf_counter() - _gc_started[0])


def _profiler(name: str):
    """A cProfile.Profile when TTS_PROFILE names this scenario (e.g. TTS_PROFILE=drop_8pct)."""
    if os.environ.get("TTS_PROFILE") != name:
        return None
    import cProfile

    # CPU time, not wall time: on a shared machine the waits would land on whatever function ran.
    return cProfile.Profile(time.process_time)


def _profile_report(profile, name: str, run: int) -> None:
    """The step's functions by their own time and by cumulative time, to stderr."""
    import io
    import pstats

    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(45)
    print(f"--- profile of {name} run {run} ---\n{out.getvalue()}", file=sys.stderr, flush=True)


def _restore(runner) -> None:
    from margin import status

    for attribute in ("tick",):
        if attribute in vars(runner.engine):
            delattr(runner.engine, attribute)
    for method in ("_save_prices", "_record", "due_pushes", "_chart"):
        if method in vars(runner):
            delattr(runner, method)
    for function in ("store", "store_many"):
        original = getattr(status, function, None)
        if hasattr(original, "__wrapped__"):
            setattr(status, function, original.__wrapped__)
    prebuild = getattr(importlib.import_module("margin.runner"), "_Prebuild", None)
    if prebuild is not None and hasattr(prebuild._run, "__wrapped__"):
        prebuild._run = prebuild._run.__wrapped__


def _median_ms(values) -> float:
    return round(statistics.median(values) * 1000, 1)


def _pct_ms(values, q) -> float | None:
    return round(float(np.percentile(values, q)) * 1000, 1) if values else None


def core_line(runner, accounts: int) -> None:
    """The numpy core alone on the same book (see bench/revalue.py), for reference."""
    engine = runner.engine
    rows = np.arange(len(engine.symbols), dtype=np.int64)
    base = engine.book().price_fen.copy()
    vectors = [np.maximum(base + 1, 1), base]
    times = []
    for i in range(9):
        started = time.perf_counter()
        engine.tick_fen(rows, vectors[i % 2])
        times.append(time.perf_counter() - started)
    print(json.dumps({"name": "core", "accounts": accounts, "full_market_tick_ms":
                      _median_ms(times)}), flush=True)  # fmt: skip


def bench(
    accounts: int, sockets_wanted: int | None, runs: int, seed: int, drop: bool = True
) -> None:
    database, redis_url = _bench_urls()
    _recreate_database(database)
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    _setup_django(database, redis_url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    book = build_book(accounts, seed)
    started = time.perf_counter()
    account_ids = load_book(book)
    loaded = time.perf_counter() - started

    from margin import runner as runner_module
    from margin.feed import ManualFeed
    from margin.push import Publisher
    from margin.runner import RiskRunner

    # Knobs to compare the overlaps of issue 19 on the same machine: TTS_PREBUILD=0 builds every
    # status after the recording; TTS_CONNECTIONS=1 records the batches one by one.
    if os.environ.get("TTS_PREBUILD") == "0" and hasattr(runner_module, "PREBUILD_TRANSITIONS"):
        runner_module.PREBUILD_TRANSITIONS = 1 << 62
    if os.environ.get("TTS_SWITCH"):
        sys.setswitchinterval(float(os.environ["TTS_SWITCH"]))
    if os.environ.get("TTS_CONNECTIONS"):
        from margin import transitions

        transitions.CONNECTIONS = int(os.environ["TTS_CONNECTIONS"])

    rng = np.random.default_rng(seed + 1)
    m = min(accounts, sockets_wanted or 5_000)
    watched = set(rng.choice(account_ids, size=m, replace=False).tolist())
    context = multiprocessing.get_context("spawn")
    ready, stop, stamps = context.Event(), context.Event(), context.Queue()
    web = context.Process(
        target=sockets_process,
        args=(database, redis_url, sorted(watched), ready, stamps, stop),
        daemon=True,
    )
    web.start()
    ready.wait(120)

    clock = [1000.0]
    try:  # as run_risk_engine runs it: statuses for watched accounts and level changes
        runner = RiskRunner(feed=ManualFeed(), clock=lambda: clock[0], push_to_watched_only=True)
    except TypeError:  # the runner before issue 19 pushed every account
        runner = RiskRunner(feed=ManualFeed(), clock=lambda: clock[0])
    started = time.perf_counter()
    runner.start()
    pushes = runner.step(now=clock[0])
    if hasattr(runner, "settle"):
        runner.settle()
    start_s = time.perf_counter() - started
    print(json.dumps({"name": "start", "accounts": accounts, "positions": accounts * 5,
                      "load_book_s": round(loaded, 1), "start_and_first_step_s":
                      round(start_s, 1), "first_statuses": len(pushes)}), flush=True)  # fmt: skip
    counters = Counters(redis_url)
    codes = symbol_codes()
    base = book["prices"]

    def prices(fen: np.ndarray) -> dict[str, Decimal]:
        return {code: Decimal(int(p)).scaleb(-2) for code, p in zip(codes, fen, strict=True)}

    at = START
    ticks = []
    for i in range(runs + 1):
        at += datetime.timedelta(seconds=3)
        wiggle = np.round(base * (1 + rng.uniform(-0.003, 0.003, SYMBOLS))).astype(np.int64)
        ticks.append((prices(np.where(wiggle == base, base + (i % 2 * 2 - 1), wiggle)), at))
    # Each market step is 3 s of market time and 1 s of the runner's clock: every watched
    # account is due every tick.
    clock[0] += 1.0

    def advance(scenario_ticks):
        for _ in scenario_ticks:
            clock[0] += 1.0
            yield _

    # A publisher per scenario: each scenario runs its own event loop, and a Redis client
    # stays bound to the loop it connected on (the drop's first publish failed on the closed one).
    run_scenario(
        "market_wide_tick", runner, counters, stamps, advance(ticks), accounts, watched, Publisher()
    )
    if not drop:
        core_line(runner, accounts)
        stop.set()
        web.join(10)
        return
    drops = []
    for _ in range(3):
        at += datetime.timedelta(seconds=3)
        drops.append((prices(base), at))  # back to the base
        at += datetime.timedelta(seconds=3)
        drops.append((prices(np.round(base * 0.92).astype(np.int64)), at))
    # Only the drops are measured: the recoveries in between put the book back.
    measured: list = []

    def drop_ticks():
        for i, tick in enumerate(drops):
            clock[0] += 1.0
            if i % 2 == 0:  # back to the base: not measured, settled as RiskRunner.run does
                runner.feed.put(*tick)
                runner.step(now=clock[0])
                if hasattr(runner, "settle"):
                    runner.settle()
                continue
            measured.append(tick)
            yield tick

    run_scenario(
        "drop_8pct", runner, counters, stamps, drop_ticks(), accounts, watched, Publisher()
    )
    core_line(runner, accounts)
    stop.set()
    web.join(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--sockets", type=int, default=None, help="default: min(N, 5000)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20261205)
    parser.add_argument(
        "--no-drop", action="store_true", help="the market-wide tick only, not the 8%% drop"
    )
    args = parser.parse_args()
    print(json.dumps({"name": "machine", "cpus": os.cpu_count(), "load": os.getloadavg()}))
    for accounts in args.accounts:
        # A fresh process per N: Django is set up once per process, on that N's database.
        context = multiprocessing.get_context("spawn")
        child = context.Process(
            target=bench, args=(accounts, args.sockets, args.runs, args.seed, not args.no_drop)
        )
        child.start()
        child.join()


if __name__ == "__main__":
    main()
