"""Notices at market speed: 10,000 margin calls (email + SMS + in-app = 30,000 deliveries).

The fault tests' harness (tests/faults/harness.py): a throw-away PostgreSQL cluster and Redis
server, the Procfile's worker and beat with the production settings, a local SMTP server
(aiosmtpd) and an HTTP SMS sink, both answering at once (``--sink-ms`` to make them slower) and
delivering each idempotency key once.

A driver process writes one margin call to each of N clients the way a market-wide drop writes
them (batches of 500, one bulk enqueue per batch); the worker delivers. Prints one JSON object:
the seconds from the first enqueue to the last row sent, the enqueue's share, deliveries per
channel, doubled and lost (the sinks count every idempotency key), and per channel the
milliseconds per delivery measured in one process on the same sinks (``per_channel``).

    .venv/bin/python bench/notices_at_speed.py [--clients 10000] [--workers 1] [--concurrency 4]
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.faults import harness

BUDGET_SECONDS = 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    parser.add_argument("--concurrency", type=int, default=4, help="slots per worker (Procfile)")
    parser.add_argument("--sink-ms", type=float, default=0.0, help="provider time per message")
    parser.add_argument("--per-channel", type=int, default=1000, help="0 to skip")
    args = parser.parse_args()
    reason = harness.available()
    if reason:
        sys.exit(reason)
    harness.LATENCY = args.sink_ms / 1000
    env = harness.Environment(schema_from=None)  # migrated from scratch: about half a minute
    try:
        portal = env.fresh()
        portal.env["NOTICES_DRAINERS"] = str(args.workers * args.concurrency)
        for n in range(args.workers):
            portal.worker(f"w{n}", concurrency=args.concurrency)
        portal.beat()
        time.sleep(3)  # the worker up before the burst, as in production
        started = time.time()
        driven = portal.drive("margin_calls", "--tag", "speed", "--users", str(args.clients))
        created = driven["created"]
        harness.wait_for(
            lambda: harness.unsent(env.pg) == 0, 1800, "every notice sent", interval=0.25
        )
        [(first, last)] = env.pg.query(
            "SELECT min(created_at), max(sent_at) FROM notices_notification"
        )
        by_channel = dict(
            env.pg.query("SELECT channel, count(*) FROM notices_notification GROUP BY channel")
        )
        outcome = harness.outcome(env.pg, env.smtp, env.sms, started)
        result = {
            "name": "notices_at_speed",
            "clients": args.clients,
            "deliveries": created,
            "by_channel": by_channel,
            "workers": args.workers,
            "concurrency": args.concurrency,
            "sink_ms": args.sink_ms,
            "seconds": round(last.timestamp() - started, 1),
            "enqueue_seconds": driven["enqueue_seconds"],
            "first_row_to_last_sent": round((last - first).total_seconds(), 1),
            "delivered_once": outcome.delivered_once,
            "doubled": outcome.doubled,
            "lost": outcome.lost,
            "budget_seconds": BUDGET_SECONDS,
        }
        result["within_budget"] = result["seconds"] <= BUDGET_SECONDS
        if args.per_channel:
            env.close_portal()
            portal = env.fresh()
            result["per_channel"] = portal.drive(
                "per_channel", "--tag", "channel", "--users", str(args.per_channel)
            )
        print(json.dumps(result), flush=True)
    finally:
        env.close()


if __name__ == "__main__":
    main()
