"""Faults on the production processes at scale: how long the outbox takes to drain after each.

The same harness as tests/faults (throw-away PostgreSQL and Redis, the Procfile's processes with
the production settings, an SMTP and an HTTP SMS sink taking 100 ms a message and delivering
each idempotency key once), with more notices. For each scenario it writes N notices (N/2 users,
one alert each by email and SMS), injects the fault a quarter of the way through and prints one
JSON object: created, delivered once, doubled, lost, resends absorbed by key, seconds from the
fault to the last row marked sent, and the whole run's rate. `baseline` has no fault: its rate is
the outbox's full delivery rate on this machine, to compare the recovery against.

`margin_push_resume` restarts Redis under a live-push hub and prints the seconds from Redis
answering again to the hub being subscribed (the hub retries every second at most).

    .venv/bin/python bench/outbox_faults.py --notices 2000
"""

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.faults import harness

SCENARIOS = ("baseline", "worker_kill", "redis_restart", "db_stop")


def run(env: harness.Environment, scenario: str, notices: int, workers: int) -> dict:
    portal = env.fresh()
    portal.env["NOTICES_DRAINERS"] = str(4 * workers)
    for n in range(workers):
        portal.worker(f"w{n}")
    portal.beat()
    started = time.time()
    created = portal.drive("enqueue", "--tag", f"{scenario}-{started:.0f}",
                           "--users", str(notices // 2))["created"]  # fmt: skip
    delivered = lambda: env.smtp.delivered + env.sms.delivered  # noqa: E731
    harness.wait_for(lambda: delivered() >= created // 4, 600, "a quarter delivered", 0.02)
    fault_at = time.time()
    if scenario == "worker_kill":
        env.smtp.hold()
        env.sms.hold()
        harness.wait_for(lambda: env.smtp.in_flight + env.sms.in_flight >= 2, 10, "in flight")
        portal.kill("w0")
        fault_at = time.time()
        env.smtp.release()
        env.sms.release()
        portal.worker("replacement")
    elif scenario == "redis_restart":
        env.redis.kill()
        time.sleep(1)
        env.redis.start()
    elif scenario == "db_stop":
        env.pg.stop("fast")
        time.sleep(4)
        env.pg.start()
    harness.wait_for(lambda: harness.drained(env.pg, env.smtp, env.sms, created), 1800,
                     "drained", 0.25)  # fmt: skip
    result = harness.outcome(env.pg, env.smtp, env.sms, fault_at)
    [(first, last)] = env.pg.query("SELECT min(created_at), max(sent_at) FROM notices_notification")
    env.close_portal()
    return {
        "name": "outbox_faults",
        "scenario": scenario,
        "workers": workers,
        "created": result.created,
        "delivered_once": result.delivered_once,
        "doubled": result.doubled,
        "lost": result.lost,
        "resends_absorbed": result.resends_absorbed,
        "drain_seconds_after_fault": None
        if scenario == "baseline"
        else round(result.drain_seconds, 1),
        "rate_per_second": round(result.created / (last - first).total_seconds(), 1),
    }


def margin_push_resume(env: harness.Environment) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.test")
    import django
    from django.conf import settings

    django.setup()
    settings.REDIS_URL = env.redis.url
    from margin.push import Hub

    class Socket:
        async def push_text(self, text: str) -> None:
            pass

    async def scenario() -> float:
        hub = Hub()
        hub.join(1, Socket())
        await hub.wait_subscribed(timeout=10)
        env.redis.kill()
        while hub.subscribed.is_set():
            await asyncio.sleep(0.01)
        await asyncio.sleep(5)  # an outage long enough for any back-off to grow
        await asyncio.to_thread(env.redis.start)
        back = time.monotonic()
        await hub.wait_subscribed(timeout=30)
        resumed = time.monotonic() - back
        await hub.stop()
        return resumed

    return {"name": "margin_push_resume", "seconds": round(asyncio.run(scenario()), 2)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--notices", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=1, help="worker processes, 4 slots each")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    args = parser.parse_args()
    reason = harness.available()
    if reason:
        sys.exit(reason)
    env = harness.Environment(schema_from=None)  # migrated from scratch: about half a minute
    try:
        for scenario in args.scenarios.split(","):
            print(json.dumps(run(env, scenario, args.notices, args.workers)), flush=True)
        print(json.dumps(margin_push_resume(env)), flush=True)
    finally:
        env.close()


if __name__ == "__main__":
    main()
