"""Order submission → the new position in the client's pushed status (budget: ≤ 1 s).

The whole path, as production runs it, in one process on PostgreSQL and Redis: the risk runner
(``RiskRunner.run``, a tick every second from a feed that moves every instrument a little at the
current time), the venue loop (``trading.embedded.run``: a step as soon as a tick lands, at least
every 0.25 s), and a subscriber on the Redis channels the web processes listen on
(``margin.push.channel_for``) standing in for the
browser. A submitter sends --orders market buys of 100 shares, one every --pace seconds on
average, over the clients who passed the gate; for each it records the time from just before
``order_submit`` until a status of that account published on the channel shows the new
quantity, and where it went (p50 and p90 of each stage): the submission; submission → the tick
that fills it landing; the tick → the venue's step starting; the step's start → this fill
recorded (after the fills of the step recorded before it); fill → status.

The path: submission → the next tick (the simulated venue fills only on a price that arrived after
the order, so up to one tick interval: ``MARGIN_TICK_SECONDS``, production's 1 s, as the feed
ticks in production) → the venue's step (at once: the tick observer moves the venue's mark,
polled every 20 ms) → the step's fills, one transaction each, the market-wide reference data read
once for the step → the fill's transaction announces its account (``margin.changes``: a counter
and, on Redis, the id on a pub/sub channel) → the runner, asleep on that channel between ticks,
wakes, reloads that account alone and publishes its status at once. ``baseline``: the same with
the announcement switched off (the engine's periodic look every 2 s), in the same run.

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python bench/order_to_status.py
"""

import argparse
import asyncio
import contextlib
import datetime
import json
import os
import random
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
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from margin import changes, push  # noqa: E402
from margin.feed import FeedRow, Tick  # noqa: E402
from margin.models import Instrument  # noqa: E402
from margin.runner import RiskRunner  # noqa: E402
from portal.calendars import SHANGHAI  # noqa: E402
from trading import embedded, services  # noqa: E402

D = Decimal
NOW = datetime.datetime(2026, 12, 3, 10, 0, tzinfo=SHANGHAI)  # a Thursday session
BUDGET_S = 1.0


# When each tick landed (perf_counter), by its time: the runner calls its observers once the
# tick's prices are saved (``MARGIN_TICK_OBSERVERS``).
TICKS: dict[datetime.datetime, float] = {}


def tick_landed(*, runner, tick, accepted) -> None:
    TICKS[tick.at] = time.perf_counter()


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
    codes, held = prepare(accounts)
    feed = WobbleFeed(rng)
    return asyncio.run(
        _run_orders(accounts, codes, held, feed, count, rng, announce=announce, pace=pace)
    )


async def _run_orders(
    accounts, codes, held, feed, count: int, rng: random.Random, *, announce: bool, pace: float
) -> tuple:
    import redis.asyncio as redis
    from asgiref.sync import sync_to_async

    waiting: dict[int, dict[str, tuple[int, float]]] = {}  # account → code → (quantity, t0)
    latencies: list[float] = []
    done = asyncio.Event()

    client = redis.from_url(settings.REDIS_URL)
    pubsub = client.pubsub()
    # Every account's channel, as the web processes holding them would.
    await pubsub.psubscribe(push.channel_for(0).replace(":0", ":*"))

    async def listen() -> None:
        async for message in pubsub.listen():
            if message["type"] != "pmessage":
                continue
            seen = time.perf_counter()
            for line in message["data"].decode().split("\n"):
                account_id, _, text = line.partition(" ")
                pending = waiting.get(int(account_id))
                if not pending:
                    continue
                positions = {p["code"]: p["quantity"] for p in json.loads(text)["positions"]}
                for code, (quantity, started) in list(pending.items()):
                    if positions.get(code, 0) >= quantity:
                        latencies.append(seen - started)
                        filled = filled_at.get((int(account_id), code))
                        if filled is not None:
                            done_at, tick_at, step_at = filled
                            stages["to_fill"].append(done_at - started)
                            stages["fill_to_status"].append(seen - done_at)
                            if tick_at is not None:
                                stages["submit_to_tick"].append(tick_at - started)
                                stages["tick_to_step"].append(step_at - tick_at)
                            stages["step_to_fill"].append(done_at - step_at)
                        del pending[code]
            if len(latencies) >= count:
                done.set()

    # Where the time goes: submission; submission → the tick that fills it landing (its prices
    # saved, the runner's observers called); the tick → the venue's step that records it
    # starting; that step's start → this fill recorded (after the fills recorded before it);
    # the fill → the status pushed.
    stages: dict[str, list[float]] = {
        "submit": [],
        "to_fill": [],
        "submit_to_tick": [],
        "tick_to_step": [],
        "step_to_fill": [],
        "fill_to_status": [],
    }
    filled_at: dict[tuple[int, str], tuple[float, float | None, float]] = {}
    record, record_batch = services.fill_record, services.fills_record
    step_started = [0.0]

    def timed_batch(fills, **kwargs):
        step_started[0] = time.perf_counter()
        return record_batch(fills, **kwargs)

    def timed_fill(**kwargs):
        row = record(**kwargs)
        if row is not None:
            order = row.order
            filled_at[(order.account_id, order.instrument.code)] = (
                time.perf_counter(),
                TICKS.get(kwargs["fill"].at),
                step_started[0],
            )
        return row

    services.fill_record = timed_fill
    services.fills_record = timed_batch
    stop = asyncio.Event()
    runner = RiskRunner(feed=feed)
    loops = [
        asyncio.create_task(listen()),
        asyncio.create_task(runner.run(stop, tick_interval=settings.MARGIN_TICK_SECONDS)),
        asyncio.create_task(embedded.run(stop, interval=settings.TRADING_VENUE_INTERVAL)),
    ]
    original = changes.announce
    if not announce:
        changes.announce = lambda *_args, **_kwargs: None
    try:
        await asyncio.sleep(3)  # the runner starts and publishes everyone once
        submit = sync_to_async(services.order_submit, thread_sensitive=False)
        for n in range(count):
            account = accounts[n % len(accounts)]
            pending = waiting.setdefault(account.pk, {})
            code = rng.choice([c for c in codes if c not in pending])
            quantity = held.get((account.pk, code), 0) + 100
            held[(account.pk, code)] = quantity
            pending[code] = (quantity, time.perf_counter())
            try:
                started = time.perf_counter()
                await submit(
                    account_id=account.pk,
                    side="buy",
                    kind="market",
                    code=code,
                    quantity=100,
                    price=None,
                    client_token=f"o2s-{announce}-{n}",
                )
                stages["submit"].append(time.perf_counter() - started)
            except services.OrderRefused as refused:
                print(f"refused: {refused}", file=sys.stderr)
                del pending[code]
                held[(account.pk, code)] = quantity - 100
            await asyncio.sleep(rng.uniform(0.5, 1.5) * pace)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), timeout=30)
    finally:
        services.fill_record = record
        services.fills_record = record_batch
        changes.announce = original
        stop.set()
        for task in loops[1:]:
            await task
        loops[0].cancel()
        await pubsub.aclose()
        await client.aclose()
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
        # The feed ticks as production's does (MARGIN_TICK_SECONDS): a marketable order fills
        # at the next tick, so up to one interval of the latency is the wait for it.
        "tick_interval_s": settings.MARGIN_TICK_SECONDS,
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
    # Its own cache keys: the change counter and rate limits of a test run on the same Redis are
    # not touched. (The push channel is Redis-wide: do not run it next to the socket tests.)
    settings.CACHES["default"]["KEY_PREFIX"] = "bench-o2s"
    # As in production, notices are queued for the Celery worker, not delivered inside the fill
    # (the test settings the bench starts from deliver them eagerly). No worker runs here.
    from portal.celery import app as celery_app

    celery_app.conf.task_always_eager = False
    settings.MARGIN_TICK_OBSERVERS = [
        "trading.venue.record_tick_volumes",
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
                results.append(
                    summary(
                        "order_to_status_baseline_periodic_reload",
                        run_orders(
                            accounts, args.baseline_orders, rng, announce=False, pace=args.pace
                        ),
                        args.baseline_orders,
                    )
                )
        for result in results:
            print(json.dumps(result))
    finally:
        connection.creation.destroy_test_db(real_name, verbosity=0)


if __name__ == "__main__":
    main()
