"""Liquidation plan search: time, exactness and the gap to the lower bound, by book size.

Books of n positions of 5,000 shares each (prices 11.01, 12.02, …), all fully counted, at a
129% ratio, with the demo fee schedule's selling costs — the hardest case for the search, since
every position is equally efficient. Prints one JSON object per book: median time of the plan,
whether it was proved least, and how far it can at most be from the least possible sale.

Usage: .venv/bin/python bench/liquidation_plan.py [--runs N]
"""

import argparse
import json
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from margin.liquidation import Sellable, SellCosts, plan_sales

FEES = SellCosts(
    commission_rate=Decimal("0.0003"),
    commission_minimum=Decimal("5.00"),
    stamp_duty_rate=Decimal("0.0005"),
    transfer_fee_rate=Decimal("0.00001"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    for n in (1, 2, 3, 4, 5, 8, 12, 20):
        holdings = [
            Sellable(f"60{k:04d}.SH", 5000, Decimal(f"{10 + k}.{k:02d}"), Decimal("0.01"))
            for k in range(1, n + 1)
        ]
        value = sum((h.quantity * h.price for h in holdings), Decimal(0))
        liabilities = (value / Decimal("1.29")).quantize(Decimal("0.01"))
        times = []
        for _ in range(args.runs):
            started = time.perf_counter_ns()
            plan = plan_sales(
                cash=Decimal("0.00"), liabilities=liabilities, holdings=holdings, costs=FEES
            )
            times.append((time.perf_counter_ns() - started) / 1e6)
        line = {
            "name": "liquidation_plan",
            "positions": n,
            "runs": args.runs,
            "median_ms": round(statistics.median(times), 3),
            "exact": plan.exact,
            "sold": str(plan.proceeds),
            "least_possible": str(plan.least_possible),
            "gap_at_most": str(plan.proceeds - plan.least_possible),
        }
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
