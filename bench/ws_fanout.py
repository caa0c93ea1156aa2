"""Live push fan-out: N WebSocket clients on one ASGI process, one status a second each.

Two servers in the same run, each in its own process, measured by the same client process:

- portal: uvicorn (uvloop, websockets, no permessage-deflate) serving ``MarginConsumer``'s push
  path: every client joins this process's ``margin.push.hub``, which holds one Redis
  subscription; a driver process publishes every account's status each second, as the risk
  engine does (``margin.push.Publisher``).
- bare: a bare ``websockets`` server sending each client its own message once a second.

The payload is a real margin status (two positions, about 1 kB). Latency is "the driver (or bare
server) stamped the message" → "the client parsed it", same host clock. The bench consumer takes
the account id from the query string instead of the session, so the run needs no database: the
connect path differs, the push path (the hub, its subscription, the JSON send) is the portal's.

Usage (REDIS_URL must point at a Redis; prints one JSON object per server):
    .venv/bin/python bench/ws_fanout.py [--clients 5000] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _payload(account_id: int) -> dict:
    from decimal import Decimal as D

    from margin import status
    from margin.rules import DEFAULT_LINES

    holdings = [
        status.Holding("300750.SZ", "宁德时代", "CATL", 1500, D("262.00"), D("214.40")),
        status.Holding("600519.SH", "贵州茅台", "Kweichow Moutai", 100, D("1480.00"), D("1332.00")),
    ]
    return status.build(
        account_id=account_id,
        number=f"MA{account_id:08d}",
        cash=D("8000.00"),
        liabilities=D("262000.00"),
        lines=DEFAULT_LINES,
        level="watch",
        holdings=holdings,
        call=None,
        restricted=False,
        seq=1,
        epoch="bench",
    )


# --- the portal server --------------------------------------------------------------------------


def portal_app():
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.test")
    django.setup()
    from channels.routing import URLRouter
    from django.urls import path

    from margin import push
    from margin.consumers import MarginConsumer

    class BenchConsumer(MarginConsumer):
        async def connect(self) -> None:
            query = dict(p.split("=") for p in self.scope["query_string"].decode().split("&") if p)
            self.account_id = int(query["id"])
            await self.accept()
            push.hub.join(self.account_id, self)

    return URLRouter([path("ws/margin/", BenchConsumer.as_asgi())])


def serve_portal(port: int) -> None:
    import uvicorn

    uvicorn.run(
        portal_app(),
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        ws=os.environ.get("BENCH_UVICORN_WS", "auto"),  # as the Procfile runs it
        ws_per_message_deflate=False,
        log_level="warning",
        lifespan="off",
    )


async def drive_portal(clients: int, seconds: float) -> None:
    """Every account's status once a second, published as the risk engine does, stamped."""
    from margin.push import Publisher

    publisher = Publisher()
    template = _payload(0)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        started = time.monotonic()
        # A tick reaches accounts spread over the second: publish in ten slices, not one burst.
        for part in range(10):
            stamp = time.time()
            batch = [
                dict(template, account_id=account_id, t=stamp)
                for account_id in range(part, clients, 10)
            ]
            await publisher.publish(batch)
            await asyncio.sleep(max(0.0, (part + 1) / 10 - (time.monotonic() - started)))


# --- the bare baseline ----------------------------------------------------------------------------


async def serve_bare(port: int) -> None:
    import uvloop  # noqa: F401  (the loop policy is set by the caller)
    from websockets.asyncio.server import serve

    connections: dict[int, object] = {}
    template = _payload(0)

    async def handler(websocket):
        account_id = int(websocket.request.path.split("id=")[1])
        connections[account_id] = websocket
        try:
            await websocket.wait_closed()
        finally:
            connections.pop(account_id, None)

    async def tick():
        while True:
            started = time.monotonic()
            for account_id, websocket in list(connections.items()):
                payload = dict(template, account_id=account_id, t=time.time())
                with contextlib.suppress(Exception):  # a client leaving mid-send
                    await websocket.send(json.dumps(payload))
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - started)))

    async with serve(handler, "127.0.0.1", port, compression=None, max_queue=None):
        await tick()


# --- the clients ----------------------------------------------------------------------------------


async def run_clients(port: int, clients: int, seconds: float, warmup: float) -> dict:
    from websockets.asyncio.client import connect

    latencies: list[float] = []
    received = 0
    measuring = False
    connected = 0

    async def client(account_id: int) -> None:
        nonlocal received, connected
        async with connect(
            f"ws://127.0.0.1:{port}/ws/margin/?id={account_id}",
            compression=None,
            open_timeout=60,
            max_queue=None,
        ) as websocket:
            connected += 1
            async for message in websocket:
                data = json.loads(message)
                if measuring and "t" in data:
                    latencies.append(time.time() - data["t"])
                    received += 1

    tasks = []
    for account_id in range(clients):
        tasks.append(asyncio.create_task(client(account_id)))
        if account_id % 200 == 199:
            await asyncio.sleep(0.05)  # ramp up, as real browsers arrive
    deadline = time.monotonic() + 120
    while connected < clients and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    await asyncio.sleep(warmup)
    measuring = True
    await asyncio.sleep(seconds)
    measuring = False
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    latencies.sort()

    def pct(q: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 1)

    return {
        "clients": clients,
        "connected": connected,
        "seconds": seconds,
        "expected_messages": clients * int(seconds),
        "received_messages": received,
        "p50_ms": pct(0.50) if latencies else None,
        "p99_ms": pct(0.99) if latencies else None,
        "median_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listening on {port}")


def measure(kind: str, clients: int, seconds: float) -> dict:
    import uvloop

    port = _free_port()
    server = subprocess.Popen([sys.executable, __file__, f"serve-{kind}", str(port)], cwd=ROOT)  # noqa: S603
    driver = None
    try:
        _wait_for_port(port)
        if kind == "portal":
            command = [sys.executable, __file__, "drive", str(clients), str(seconds + 130)]
            driver = subprocess.Popen(command, cwd=ROOT)  # noqa: S603
        result = uvloop.run(run_clients(port, clients, seconds, warmup=3))
    finally:
        for process in (driver, server):
            if process is not None:
                process.terminate()
                process.wait(timeout=10)
    return {"name": f"ws_fanout_{kind}", **result}


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.test")
    django.setup()
    import logging

    logging.getLogger().setLevel(logging.WARNING)
    if len(sys.argv) > 1 and sys.argv[1] == "serve-portal":
        serve_portal(int(sys.argv[2]))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "serve-bare":
        import uvloop

        uvloop.run(serve_bare(int(sys.argv[2])))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "drive":
        import uvloop

        uvloop.run(drive_portal(int(sys.argv[2]), float(sys.argv[3])))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    if not os.environ.get("REDIS_URL"):
        sys.exit("REDIS_URL must point at a Redis server (the portal's channel layer)")
    bare = measure("bare", args.clients, args.seconds)
    print(json.dumps(bare), flush=True)
    portal = measure("portal", args.clients, args.seconds)
    if bare["p99_ms"] and portal["p99_ms"]:
        portal["p99_ratio_to_bare"] = round(portal["p99_ms"] / bare["p99_ms"], 2)
    print(json.dumps(portal), flush=True)


if __name__ == "__main__":
    main()
