"""Risk engine revaluation speed against DESIGN.md's budget.

Builds a fixed-seed book of 100,000 accounts / 500,000 positions over 4,000 symbols (holdings
skewed towards popular symbols, ratios spread across every level), pins the process to one core
and times, after warm-up, the median and p95 of:

- a full-market tick, every price moving (budget: ≤ 50 ms), from arrays and from Decimal;
- a market-wide 8% drop and recovery, each producing thousands of level transitions;
- a single-symbol tick on the most widely held symbol and on a median one (only holders touched);
- for reference, building the engine and revaluing the whole book from scratch.

Prints one JSON object per measurement. Usage: .venv/bin/python bench/revalue.py [--runs N]
"""

import argparse
import json
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

# One core, as the budget says; numpy's own threads would only blur that.
for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from margin.engine import RiskEngine  # noqa: E402
from margin.rules import DEFAULT_LINES  # noqa: E402


def build_book(accounts: int, positions: int, symbols: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    # Zipf-like popularity: a few symbols are held by many accounts, most by a few hundred.
    popularity = 1.0 / np.arange(1, symbols + 1) ** 0.8
    popularity /= popularity.sum()
    holders = np.empty(0, dtype=np.int64)
    held = np.empty(0, dtype=np.int64)
    while len(holders) < positions:
        extra = int((positions - len(holders)) * 1.2) + 1000
        holders = np.concatenate([holders, rng.integers(0, accounts, extra)])
        held = np.concatenate([held, rng.choice(symbols, size=extra, p=popularity)])
        _, first = np.unique(holders * symbols + held, return_index=True)
        keep = np.sort(first)[:positions]
        holders, held = holders[keep], held[keep]
    quantities = rng.integers(1, 50, positions) * 100
    prices = np.clip(np.round(np.exp(rng.normal(np.log(20.0), 0.8, symbols)) * 100), 100, 200_000)
    prices = prices.astype(np.int64)

    market_value = np.bincount(holders, weights=quantities * prices[held], minlength=accounts)
    cash = np.round(market_value * rng.uniform(0.0, 0.5, accounts)) + rng.integers(
        0, 1_000_000, accounts
    )
    ratio = rng.uniform(1.10, 3.50, accounts)
    liabilities = np.where(rng.random(accounts) < 0.1, 0, np.round((market_value + cash) / ratio))
    return {
        "account_ids": np.arange(1, accounts + 1, dtype=np.int64),
        "cash_fen": cash.astype(np.int64),
        "liabilities_fen": liabilities.astype(np.int64),
        "severity": np.zeros(accounts, dtype=np.int64),
        "event_sequence": np.zeros(accounts, dtype=np.int64),
        "lines": [DEFAULT_LINES],
        "lines_index": np.zeros(accounts, dtype=np.int64),
        "symbols": [f"{600000 + i:06d}.SH" for i in range(symbols)],
        "prices_fen": prices,
        "holder_rows": holders,
        "symbol_rows": held,
        "quantities": quantities,
    }


def moved(prices: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Every price moved by up to ±2%, and by at least one fen."""
    new = np.round(prices * (1 + rng.uniform(-0.02, 0.02, len(prices)))).astype(np.int64)
    new = np.where(new == prices, prices + 1, new)
    return np.maximum(new, 1)


def measure(name: str, engine: RiskEngine, run, runs: int, warmup: int = 3, **extra) -> None:
    for i in range(warmup):
        run(i)
    times, touched, transitions = [], [], []
    for i in range(runs):
        started = time.perf_counter_ns()
        result = run(warmup + i)
        times.append((time.perf_counter_ns() - started) / 1e6)
        if result is not None:
            touched.append(len(result))
            transitions.append(len(result.transitions))
    line = {
        "name": name,
        "accounts": engine.account_count,
        "positions": engine.position_count,
        **extra,
        "runs": runs,
        "median_ms": round(statistics.median(times), 3),
        "p95_ms": round(float(np.percentile(times, 95)), 3),
        "p99_ms": round(float(np.percentile(times, 99)), 3),
    }
    if touched:
        line["touched_accounts"] = int(statistics.median(touched))
        line["transitions"] = int(statistics.median(transitions))
    print(json.dumps(line), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--positions", type=int, default=500_000)
    parser.add_argument("--symbols", type=int, default=4_000)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--seed", type=int, default=20261125)
    args = parser.parse_args()

    book = build_book(args.accounts, args.positions, args.symbols, args.seed)
    started = time.perf_counter_ns()
    engine = RiskEngine(**book)
    built_ms = (time.perf_counter_ns() - started) / 1e6
    print(json.dumps({"name": "build", "accounts": engine.account_count,
                      "positions": engine.position_count, "runs": 1,
                      "median_ms": round(built_ms, 3), "p95_ms": round(built_ms, 3)}))  # fmt: skip
    engine.revalue_all()
    measure("revalue_all", engine, lambda i: engine.revalue_all(), args.runs)

    rng = np.random.default_rng(args.seed + 1)
    rows = np.arange(args.symbols, dtype=np.int64)
    # Alternate between two full price vectors so every run moves every price.
    base = book["prices_fen"].copy()
    vectors = [moved(base, rng), base]
    measure(
        "full_market_tick",
        engine,
        lambda i: engine.tick_fen(rows, vectors[i % 2]),
        args.runs,
        symbols_ticked=args.symbols,
    )
    symbols = engine.symbols
    decimal_vectors = [
        {symbols[r]: Decimal(int(p)).scaleb(-2) for r, p in enumerate(v)} for v in vectors
    ]
    measure(
        "full_market_tick_decimal",
        engine,
        lambda i: engine.tick(decimal_vectors[i % 2]),
        args.runs,
        symbols_ticked=args.symbols,
    )

    # A market-wide 8% drop and its recovery, alternately: thousands of level transitions each
    # way, which the steady ticks above do not produce.
    crash = [np.maximum(np.round(base * 0.92).astype(np.int64), 1), base]
    measure(
        "full_market_drop_8pct",
        engine,
        lambda i: engine.tick_fen(rows, crash[i % 2]),
        args.runs,
        symbols_ticked=args.symbols,
    )

    engine.tick_fen(rows, base)
    holders = np.bincount(book["symbol_rows"], minlength=args.symbols)
    for label, row in (
        ("most_held", int(np.argmax(holders))),
        ("median_held", int(np.argsort(holders)[len(holders) // 2])),
    ):
        price = int(base[row])
        one_row = np.array([row], dtype=np.int64)
        prices = [np.array([price + 1], dtype=np.int64), np.array([price], dtype=np.int64)]
        measure(
            f"single_symbol_tick_{label}",
            engine,
            lambda i, one_row=one_row, prices=prices: engine.tick_fen(one_row, prices[i % 2]),
            max(args.runs, 201),
            symbols_ticked=1,
            holders=int(holders[row]),
        )


if __name__ == "__main__":
    main()
