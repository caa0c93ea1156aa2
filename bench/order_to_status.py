"""Order submission → the new position in the client's pushed status (budget: ≤ 1 s).

The whole path on PostgreSQL and Redis, laid out as production runs it (the Procfile): the risk
engine in a process of its own (``RiskRunner.run``, a tick every second from a feed that moves
every instrument a little at the current time), the venue in another (``trading.embedded.run``,
as ``manage.py run_venue``), and in this one the submissions (the web tier) and a subscriber on
the Redis channels the web processes listen on (``margin.push.channel_for``), standing in for the
browser. The submitter sends --orders market buys of 100 shares, one every --pace seconds on
average, over the clients who passed the gate; for each it records the time from just before
``order_submit`` until a status of that account published on the channel shows the new
quantity, and where it went (p50 and p90 of each stage, ``_stages``).

The path: submission → the venue's step (the submission's commit wakes the venue's loop, which
looks every 20 ms; the tick observer wakes it too) → the fill at the price in force (an order
that can trade when it arrives in continuous trading fills at once at the feed's latest price,
``TRADING_SIM_FILL_ON_ARRIVAL``), one transaction, the market-wide reference data read once for
the step → the fill's transaction announces its account (``margin.changes``: a counter and, on
Redis, the id on a pub/sub channel) → the runner, asleep on that channel between ticks, wakes,
reloads that account alone and publishes its status at once. Same run, as baselines:
``next_tick``, every order waiting for the next tick (the setting off: up to one
``MARGIN_TICK_SECONDS``, production's 1 s, of waiting); ``periodic_reload``, that and the
announcement switched off (the engine's periodic look every 2 s).

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python bench/order_to_status.py
"""

import argparse
import asyncio
import contextlib
import datetime
import json
import multiprocessing
import os
import random
import statistics
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.test")

import django

django.setup()

import time_machine  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Max  # noqa: E402
from django.utils import timezone  # noqa: E402

from margin import changes, push  # noqa: E402
from margin.feed import FeedRow, Tick  # noqa: E402
from margin.models import Instrument  # noqa: E402
from margin.runner import RiskRunner  # noqa: E402
from portal.calendars import SHANGHAI  # noqa: E402
from trading import embedded, services  # noqa: E402
from trading.models import Order  # noqa: E402

D = Decimal
NOW = datetime.datetime(2026, 12, 3, 10, 0, tzinfo=SHANGHAI)  # a Thursday session
BUDGET_S = 1.0


# The engine process's tick observer sends (tick time, perf_counter) here when a tick's prices
# are saved (``MARGIN_TICK_OBSERVERS``); perf_counter is the system's monotonic clock, one for
# every process.
TICK_QUEUE: Any = None


def tick_landed(*, runner, tick, accepted) -> None:
    TICK_QUEUE.put((tick.at.isoformat(), time.perf_counter()))


class WobbleFeed:
    """Every instrument a fen or two around its previous close, stamped now, on every poll."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.closes = dict(Instrument.objects.values_list("code", "previous_close"))

    def poll(self) -> Tick:
        at = timezone.now()
        rows = [
            FeedRow(code, close + D(self.rng.randrange(-2, 3)) / 100, at)
            for code, close in self.closes.items()
        ]
        return Tick(at=at, rows=rows)


def build(accounts: int, gated: int, instruments: int, rng: random.Random) -> list:
    from tests.education import factories as education
    from tests.funds.factories import funded_account

    education.documents_in_force()
    Instrument.objects.bulk_create(
        Instrument(
            code=f"{600000 + i}.SH",
            name_zh=f"股票{600000 + i}",
            name_en=f"Stock {600000 + i}",
            previous_close=D(rng.randrange(1000, 5000)) / 100,
        )
        for i in range(instruments)
    )
    Instrument.objects.update(last_price=None)
    codes = list(Instrument.objects.values_list("code", "previous_close"))
    found = []
    for n in range(accounts):
        user = education.client("C5") if n < gated else education.client("C1")
        if n < gated:
            education.through_gate(user)
        held = [(code, 1000, str(close)) for code, close in rng.sample(codes, 2)]
        found.append(funded_account(user, cash="2000000.00", holdings=held))
    return found[:gated]


def prepare(accounts) -> tuple[list[str], dict[tuple[int, str], int]]:
    """The codes, and what each account holds now (read before the loop starts)."""
    codes = list(Instrument.objects.values_list("code", flat=True))
    held: dict[tuple[int, str], int] = {}
    for account in accounts:
        for code, quantity in account.positions.values_list("instrument__code", "quantity"):
            held[(account.pk, code)] = quantity
    return codes, held


def run_orders(accounts, count: int, rng: random.Random, *, announce: bool, pace: float) -> tuple:
    """One run, laid out as production runs it (the Procfile): the risk engine and the venue
    each in a process of their own (``risk``, ``venue``), the submissions and the listener on the
    status channels (the web tier and the browser) in this one."""
    from django.db import connections

    codes, held = prepare(accounts)
    context = multiprocessing.get_context("fork")
    stop, ticks, fills = context.Event(), context.Queue(), context.Queue()
    connections.close_all()  # each process opens its own
    processes = [
        context.Process(target=_engine_process, args=(stop, ticks, rng.random())),
        context.Process(target=_venue_process, args=(stop, fills, announce)),
    ]
    for process in processes:
        process.start()
    first = Order.objects.aggregate(last=Max("pk"))["last"] or 0
    try:
        seen = asyncio.run(_submit_and_listen(accounts, codes, held, count, rng, pace=pace))
    finally:
        stop.set()
        landed, filled = [], []
        while any(process.is_alive() for process in processes):
            landed += _drain(ticks)
            filled += _drain(fills)
        landed += _drain(ticks)
        filled += _drain(fills)
        for process in processes:
            process.join()
            if process.exitcode:
                print(f"{process.name} exited with {process.exitcode}", file=sys.stderr)
    latencies, stages = _stages(seen, dict(landed), {order: rest for order, *rest in filled})
    orders = Order.objects.filter(pk__gt=first)
    stages["orders_by_status"] = dict(Counter(orders.values_list("status", flat=True)))
    for reason in orders.exclude(reject_reason="").values_list("reject_reason", flat=True)[:5]:
        print(f"rejected: {reason}", file=sys.stderr)
    return latencies, stages


def _drain(queue) -> list:
    import queue as queues

    found = []
    while True:
        try:
            found.append(queue.get(timeout=0.1))
        except queues.Empty:
            return found


async def _until(stop, start) -> None:
    """Run ``start(event)`` until the other processes' ``stop`` is set."""
    event = asyncio.Event()
    task = asyncio.create_task(start(event))
    await asyncio.to_thread(stop.wait)
    event.set()
    await task


def _engine_process(stop, ticks, seed: float) -> None:
    """``manage.py run_risk_engine``: a tick every second, asleep on the changes channel."""
    global TICK_QUEUE
    TICK_QUEUE = ticks
    feed = WobbleFeed(random.Random(seed))  # noqa: S311 - a simulated market, not secrets
    runner = RiskRunner(feed=feed)
    profile = _profiler("risk", runner, "step", "refresh")
    asyncio.run(
        _until(stop, lambda event: runner.run(event, tick_interval=settings.MARGIN_TICK_SECONDS))
    )
    _profiled("risk", profile)
    ticks.close()
    ticks.join_thread()


def _profiler(name: str, owner, *methods: str):
    """O2S_PROFILE=venue (or risk): that process's steps (``methods`` of ``owner``, run one at a
    time in worker threads) run under one cProfile, whose top 40 by cumulative time are printed
    when the run ends."""
    if os.environ.get("O2S_PROFILE") != name:
        return None
    import cProfile
    import functools

    profile = cProfile.Profile()
    for method in methods:
        original = getattr(owner, method)
        setattr(owner, method, functools.partial(profile.runcall, original))
    return profile


def _profiled(name: str, profile) -> None:
    if profile is None:
        return
    import pstats

    profile.disable()
    print(f"--- {name} process profile", file=sys.stderr)
    pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(40)


def _venue_process(stop, fills, announce: bool) -> None:
    """``manage.py run_venue``: a step as soon as an order or a tick wakes it. Sends, for each
    fill recorded: account, code, the fill's time, when it was recorded and when its step began."""
    if not announce:
        changes.announce = lambda *_args, **_kwargs: None
    record, record_batch = services.fill_record, services.fills_record
    step_started = [0.0]

    def timed_batch(found, **kwargs):
        step_started[0] = time.perf_counter()
        return record_batch(found, **kwargs)

    def timed_fill(**kwargs):
        row = record(**kwargs)
        if row is not None:
            order = row.order
            fills.put(
                (
                    order.pk,
                    time.perf_counter(),
                    kwargs["fill"].at.isoformat(),
                    step_started[0],
                )
            )
        return row

    services.fill_record = timed_fill
    services.fills_record = timed_batch
    profile = _profiler("venue", services, "venue_step")
    asyncio.run(
        _until(stop, lambda event: embedded.run(event, interval=settings.TRADING_VENUE_INTERVAL))
    )
    _profiled("venue", profile)
    fills.close()
    fills.join_thread()


async def _submit_and_listen(
    accounts, codes, held, count: int, rng: random.Random, *, pace: float
) -> dict:
    """Submit ``count`` market buys and wait for each to show in its account's pushed status;
    returns order id → (submitted, submission took, status seen)."""
    import redis.asyncio as redis
    from asgiref.sync import sync_to_async

    waiting: dict[int, dict[str, tuple[int, float]]] = {}  # account → code → (quantity, t0)
    seen: dict[int, tuple[float, float, float]] = {}
    # (account, code, quantity once filled) → (order id, submission took)
    made: dict[tuple[int, str, int], tuple[int, float]] = {}
    done = asyncio.Event()

    client = redis.from_url(settings.REDIS_URL)
    pubsub = client.pubsub()
    # Every account's channel, as the web processes holding them would.
    await pubsub.psubscribe(push.channel_for(0).replace(":0", ":*"))

    async def listen() -> None:
        async for message in pubsub.listen():
            if message["type"] != "pmessage":
                continue
            now = time.perf_counter()
            for line in message["data"].decode().split("\n"):
                account_id, _, text = line.partition(" ")
                pending = waiting.get(int(account_id))
                if not pending:
                    continue
                positions = {p["code"]: p["quantity"] for p in json.loads(text)["positions"]}
                for code, (quantity, started) in list(pending.items()):
                    if positions.get(code, 0) >= quantity:
                        order_id, took = made.get((int(account_id), code, quantity), (0, 0.0))
                        seen[order_id or -len(seen) - 1] = (started, took, now)
                        del pending[code]
            if len(seen) >= count:
                done.set()

    listener = asyncio.create_task(listen())
    try:
        await asyncio.sleep(4)  # the engine starts and publishes everyone once
        submit = sync_to_async(services.order_submit, thread_sensitive=False)
        for n in range(count):
            account = accounts[n % len(accounts)]
            pending = waiting.setdefault(account.pk, {})
            code = rng.choice([c for c in codes if c not in pending])
            quantity = held.get((account.pk, code), 0) + 100
            held[(account.pk, code)] = quantity
            started = time.perf_counter()
            pending[code] = (quantity, started)
            try:
                submitted = await submit(
                    account_id=account.pk,
                    side="buy",
                    kind="market",
                    code=code,
                    quantity=100,
                    price=None,
                    client_token=f"o2s-{n}-{time.time_ns()}",
                )
                made[(account.pk, code, quantity)] = (
                    submitted.order.pk,
                    time.perf_counter() - started,
                )
            except services.OrderRefused as refused:
                print(f"refused: {refused}", file=sys.stderr)
                del pending[code]
                held[(account.pk, code)] = quantity - 100
            await asyncio.sleep(rng.uniform(0.5, 1.5) * pace)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), timeout=30)
    finally:
        listener.cancel()
        await pubsub.aclose()
        await client.aclose()
    return seen


def _stages(seen: dict, ticks: dict[str, float], fills: dict) -> tuple[list[float], dict]:
    """Latencies, and where the time went (p50, p90 of each stage): the submission; for an order
    filled on arrival, submission → the venue's step that recorded it beginning; for one filled
    at a later tick, submission → that tick landing (its prices saved, the observers called)
    and the tick → the step beginning; the step → this fill recorded (after the fills recorded
    before it in the step); the fill → the status seen."""
    stages: dict[str, list[float]] = {
        "submit": [],
        "to_fill": [],
        "submit_to_step": [],
        "submit_to_tick": [],
        "tick_to_step": [],
        "step_to_fill": [],
        "fill_to_status": [],
    }
    latencies = []
    for order_id, (started, took, status_at) in seen.items():
        latencies.append(status_at - started)
        stages["submit"].append(took)
        if order_id not in fills:
            continue
        done_at, fill_at, step_at = fills[order_id]
        stages["to_fill"].append(done_at - started)
        stages["fill_to_status"].append(status_at - done_at)
        stages["step_to_fill"].append(done_at - step_at)
        tick_at = ticks.get(fill_at)
        if tick_at is None:  # filled on arrival
            stages["submit_to_step"].append(step_at - started)
        else:
            stages["submit_to_tick"].append(tick_at - started)
            stages["tick_to_step"].append(step_at - tick_at)
    found: dict[str, float] = {}
    for stage, values in stages.items():
        if values:
            ordered = sorted(values)
            found[f"{stage}_p50_s"] = round(statistics.median(ordered), 3)
            found[f"{stage}_p90_s"] = round(ordered[int(0.9 * len(ordered))], 3)
    return latencies, found


def summary(name: str, measured, expected: int) -> dict:
    latencies, stages = measured
    ordered = sorted(latencies)
    return {
        **stages,
        "name": name,
        "orders": expected,
        "seen": len(ordered),
        "p50_s": round(statistics.median(ordered), 3) if ordered else None,
        "p99_s": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 3)
        if ordered
        else None,
        "max_s": round(ordered[-1], 3) if ordered else None,
        "budget_s": BUDGET_S,
        # The feed ticks as production's does (MARGIN_TICK_SECONDS); without fills on arrival
        # up to one interval of the latency is the wait for the next tick.
        "tick_interval_s": settings.MARGIN_TICK_SECONDS,
        "fill_on_arrival": settings.TRADING_SIM_FILL_ON_ARRIVAL,
        "load_average": os.getloadavg(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--gated", type=int, default=20)
    parser.add_argument("--instruments", type=int, default=200)
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--baseline-orders", type=int, default=200)
    parser.add_argument("--pace", type=float, default=0.05, help="mean seconds between submissions")
    args = parser.parse_args()
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        sys.exit("Set DATABASE_URL (PostgreSQL) and REDIS_URL: this measures the production path.")
    settings.TRADING_REFERENCE_SECONDS = 1.0
    # Connections kept a minute, as production keeps them (portal.settings.services.database);
    # the test settings this starts from open one per step.
    connection.settings_dict["CONN_MAX_AGE"] = 60
    # Its own cache keys: the change counter and rate limits of a test run on the same Redis are
    # not touched. (The push channel is Redis-wide: do not run it next to the socket tests.)
    settings.CACHES["default"]["KEY_PREFIX"] = "bench-o2s"
    # As in production, notices are queued for the Celery worker, not delivered inside the fill
    # (the test settings the bench starts from deliver them eagerly). No worker runs here.
    from portal.celery import app as celery_app

    celery_app.conf.task_always_eager = False
    settings.MARGIN_TICK_OBSERVERS = [
        "trading.venue.tick_landed",
        "__main__.tick_landed",
    ]
    test_settings = connection.settings_dict.setdefault("TEST", {})
    test_settings["NAME"] = f"{connection.settings_dict['NAME']}_bench_o2s"
    real_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    rng = random.Random(17)  # noqa: S311 - reproducible data, not secrets
    from django.core.cache import cache

    cache.clear()  # rate limits and statuses left by an earlier run on the same user ids
    try:
        with time_machine.travel(NOW, tick=True):
            with transaction.atomic():
                accounts = build(args.accounts, args.gated, args.instruments, rng)
            results = [
                summary(
                    "order_to_status",
                    run_orders(accounts, args.orders, rng, announce=True, pace=args.pace),
                    args.orders,
                )
            ]
            if args.baseline_orders:
                settings.TRADING_SIM_FILL_ON_ARRIVAL = False
                for name, announce in (("next_tick", True), ("next_tick_periodic_reload", False)):
                    results.append(
                        summary(
                            f"order_to_status_baseline_{name}",
                            run_orders(
                                accounts,
                                args.baseline_orders,
                                rng,
                                announce=announce,
                                pace=args.pace,
                            ),
                            args.baseline_orders,
                        )
                    )
                settings.TRADING_SIM_FILL_ON_ARRIVAL = True
        for result in results:
            print(json.dumps(result))
    finally:
        # The submissions' threads kept their connections: end them, or the drop is refused.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        connection.creation.destroy_test_db(real_name, verbosity=0)


if __name__ == "__main__":
    main()
