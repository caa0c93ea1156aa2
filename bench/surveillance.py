"""Market monitoring speed against DESIGN.md's budget (≤ 100 ms a market-wide tick).

Pinned to one core. After warm-up, median / p95 / p99 of:

- `instrument_signals`: ``Surveillance.observe`` for 5,000 instruments with 30 days of history,
  every price and volume moving (a market-wide tick; a few dozen instruments over a threshold);
- `book_signals`: ``engine.book()`` + ``book_signals`` over 100,000 accounts / 500,000 positions
  (the book of bench/revalue.py): concentration per instrument and sector, levels, financing
  against collateral, the 20 accounts nearest their call line;
- `monitoring_tick_core`: both, one after the other: the budget's figure, signals only;
- `alerts_apply_steady` (database): ``alerts.signals_apply`` for one tick's signals when their
  alerts are already open (dedup and refresh), the steady state of a volatile session;
- `alerts_raise_*` (database): raising N new alerts in one apply: volume spikes (no response),
  and abnormal fluctuations (each pausing margin buys at once, ``--holders`` clients holding
  each flagged stock told in plain words): alerts per second, which for the abnormal
  fluctuations is also responses applied per second.

The database parts build a database of their own (``bench_surveillance``, dropped at the end)
from DJANGO_SETTINGS_MODULE (default portal.settings.test). ``--no-db`` skips them.

    DATABASE_URL=postgres://... .venv/bin/python bench/surveillance.py
"""

import argparse
import datetime
import json
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.test")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from revalue import build_book  # noqa: E402

from margin.engine import RiskEngine  # noqa: E402
from monitoring import book as book_signals  # noqa: E402
from monitoring import thresholds  # noqa: E402
from monitoring.surveillance import History, InstrumentInfo, Surveillance  # noqa: E402

BUDGET_MS = 100.0
SECTORS = 30


def stats(name: str, times: list[float], **extra) -> dict:
    line = {
        "name": name,
        **extra,
        "runs": len(times),
        "median_ms": round(statistics.median(times), 3),
        "p95_ms": round(float(np.percentile(times, 95)), 3),
        "p99_ms": round(float(np.percentile(times, 99)), 3),
    }
    print(json.dumps(line, ensure_ascii=False), flush=True)
    return line


def build_surveillance(n: int, rng: np.random.Generator) -> tuple[Surveillance, np.ndarray]:
    boards = rng.choice(["main", "star", "chinext"], n, p=[0.7, 0.1, 0.2])
    infos = [
        InstrumentInfo(
            code=f"{600000 + i:06d}.SH",
            board=str(boards[i]),
            is_st=bool(rng.random() < 0.03),
            sector=f"S{i % SECTORS}",
            float_shares=int(rng.integers(10**8, 10**10)),
        )
        for i in range(n)
    ]
    floats = np.array([i.float_shares for i in infos])
    history = History.empty(n)
    history.deviation_bp[:] = rng.normal(0, 150, (n, 29)).round().astype(np.int64)
    history.volume[:] = (floats[:, None] * rng.uniform(0.005, 0.03, (n, 20))).astype(np.int64)
    history.log_return[:] = rng.normal(0, 0.02, (n, 20))
    history.days[:] = 30
    closes = np.clip(np.round(np.exp(rng.normal(np.log(20.0), 0.8, n)) * 100), 100, 200_000)
    closes = closes.astype(np.int64)
    surveillance = Surveillance(
        infos,
        thresholds=thresholds.defaults(),
        previous_close_fen=closes,
        limit_down_fen=(closes * 9 // 10),
        history=history,
    )
    return surveillance, floats


def core(args, rng) -> tuple[Surveillance, list]:
    surveillance, floats = build_surveillance(args.instruments, rng)
    closes = surveillance.previous_close
    engine = RiskEngine(**build_book(args.accounts, args.positions, args.instruments, args.seed))
    sector_of = {s: f"S{i % SECTORS}" for i, s in enumerate(engine.symbols)}
    table = thresholds.defaults()
    # Intraday EWMA near each stock's 20-day volatility, a few far above it.
    ewma = surveillance.rv20 * rng.lognormal(0, 0.25, args.instruments)
    per_tick = floats / 240 * 0.015

    def tick(i: int):
        prices = np.maximum(np.round(closes * (1 + rng.normal(0, 0.01, len(closes)))), 1)
        volume = (per_tick * rng.lognormal(0, 0.5, len(closes))).astype(np.int64)
        return surveillance.observe(
            prices.astype(np.int64), volume, elapsed=min(0.1 + i / 500, 1.0), ewma_volatility=ewma
        )

    for i in range(3):
        tick(i)
        book_signals.book_signals(engine.book(), sector_of=sector_of, thresholds=table)
    instrument, books, both, signals = [], [], [], []
    for i in range(args.runs):
        t0 = time.perf_counter_ns()
        result = tick(i)
        t1 = time.perf_counter_ns()
        view = book_signals.book_signals(engine.book(), sector_of=sector_of, thresholds=table)
        t2 = time.perf_counter_ns()
        instrument.append((t1 - t0) / 1e6)
        books.append((t2 - t1) / 1e6)
        both.append((t2 - t0) / 1e6)
        signals.append(len(result.signals) + len(view.result.signals))
    stats("instrument_signals", instrument, instruments=args.instruments)
    stats("book_signals", books, accounts=engine.account_count, positions=engine.position_count)
    line = stats(
        "monitoring_tick_core",
        both,
        instruments=args.instruments,
        accounts=engine.account_count,
        signals_per_tick=int(statistics.median(signals)),
    )
    line = {"name": "budget", "budget_ms": BUDGET_MS, "within": line["p95_ms"] <= BUDGET_MS}
    print(json.dumps(line), flush=True)
    passes = [tick(args.runs + i) for i in range(3)]
    # A rout: every stock 7–10% down, a good share locked at limit-down, the index −8%.
    rout, counts = [], []
    for _ in range(args.runs):
        fall = np.maximum(np.round(closes * rng.uniform(0.88, 0.93, len(closes))), closes * 9 // 10)
        started = time.perf_counter_ns()
        result = surveillance.observe(
            fall.astype(np.int64), None, elapsed=0.5, ewma_volatility=ewma
        )
        rout.append((time.perf_counter_ns() - started) / 1e6)
        counts.append(len(result.signals))
    stats("instrument_signals_rout", rout, signals_per_tick=int(statistics.median(counts)))
    return surveillance, passes


def database(args, passes) -> None:
    from django.db import connection

    from monitoring import alerts

    test_settings = connection.settings_dict.setdefault("TEST", {})
    if connection.vendor == "sqlite":
        test_settings["NAME"] = str(ROOT / "var" / "bench-surveillance.sqlite3")
    else:
        test_settings["NAME"] = "bench_surveillance"
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        from margin.models import Instrument

        Instrument.objects.bulk_create(
            [
                Instrument(
                    code=f"{600000 + i:06d}.SH",
                    name_zh=f"股票{i}",
                    name_en=f"Stock {i}",
                    previous_close=Decimal("20.00"),
                )
                for i in range(args.instruments)
            ]
        )
        holders(args)
        at = datetime.datetime(2026, 11, 26, 2, 0, tzinfo=datetime.UTC)
        first = passes[0]
        alerts.signals_apply(first, at=at)  # open the alerts
        steady = []
        for i in range(args.runs):
            moment = at + datetime.timedelta(seconds=i + 1)
            started = time.perf_counter_ns()
            alerts.signals_apply(passes[i % len(passes)], at=moment)
            steady.append((time.perf_counter_ns() - started) / 1e6)
        stats("alerts_apply_steady", steady, signals=len(first.signals))
        raise_alerts(args, at, "volume_spike")
        raise_alerts(args, at, "abnormal_deviation_3d")
    finally:
        connection.creation.destroy_test_db(
            connection.settings_dict["NAME"], verbosity=0, keepdb=False
        )


def holders(args) -> None:
    """``--holders`` clients holding each of the first ``--alerts`` instruments, the ones the
    abnormal-fluctuation batch flags: each is told when buys of their stock are paused."""
    from django.contrib.auth import get_user_model

    from margin.models import Instrument, MarginAccount, Position

    instruments = list(Instrument.objects.order_by("code")[: args.alerts])
    n = len(instruments) * args.holders
    users = get_user_model().objects.bulk_create(
        [get_user_model()(email=f"holder{i}@bench.test") for i in range(n)]
    )
    accounts = MarginAccount.objects.bulk_create(
        [
            MarginAccount(client=u, number=f"B{i:09d}", cash=Decimal("1000.00"))
            for i, u in enumerate(users)
        ]
    )
    Position.objects.bulk_create(
        [
            Position(
                account=a,
                instrument=instruments[i // args.holders],
                quantity=100,
                cost=Decimal("2000.00"),
            )
            for i, a in enumerate(accounts)
        ]
    )


def raise_alerts(args, at, rule: str) -> None:
    """Raise ``--alerts`` new alerts of ``rule`` in one apply, rolled back, three times. A
    volume spike proposes no response; an abnormal fluctuation pauses margin buys at once."""
    from django.db import transaction

    from monitoring import alerts
    from monitoring.surveillance import Pass, Signal

    times, counts = [], []
    for run in range(3):
        batch = [
            Signal(
                rule,
                "instrument",
                f"{600000 + i:06d}.SH",
                "warning",
                Decimal(2100),
                Decimal(2000),
                {"run": run},
                condition=f"bench:{run}:{i}",
            )
            for i in range(args.alerts)
        ]
        with transaction.atomic():
            started = time.perf_counter_ns()
            raised = alerts.signals_apply(Pass(batch, {rule}), at=at)
            times.append((time.perf_counter_ns() - started) / 1e6)
            counts.append(len(raised))
            transaction.set_rollback(True)
    median = statistics.median(times)
    line = {
        "name": f"alerts_raise_{rule}",
        "alerts": args.alerts,
        "raised": counts[0],
        "median_ms": round(median, 1),
        "alerts_per_second": round(args.alerts / median * 1000, 1),
        "holders_told": args.holders * args.alerts if rule != "volume_spike" else 0,
        "note": "no response: one insert and one audit entry for the batch"
        if rule == "volume_spike"
        else "each pauses margin buys at once, as a set: responses, measures, one audit entry each,"
        " holders told in one batch of notices",
    }
    print(json.dumps(line), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instruments", type=int, default=5_000)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--positions", type=int, default=500_000)
    parser.add_argument("--runs", type=int, default=31)
    parser.add_argument("--alerts", type=int, default=500)
    parser.add_argument("--holders", type=int, default=2, help="clients holding each flagged stock")
    parser.add_argument("--seed", type=int, default=20261205)
    parser.add_argument("--no-db", action="store_true")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    _surveillance, passes = core(args, rng)
    if not args.no_db:
        database(args, passes)


if __name__ == "__main__":
    main()
