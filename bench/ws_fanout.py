"""Live push fan-out: N WebSocket clients on one or more ASGI processes, one status a second each.

Two servers in the same run, each in its own process(es), measured by the same client process(es):

- portal: uvicorn (uvloop, websockets, no permessage-deflate) serving ``MarginConsumer``'s push
  path: every client joins its process's ``margin.push.hub``, which subscribes its Redis
  connection to the channels of the accounts it holds; a driver process publishes every
  account's status each second, as the risk engine does (``margin.push.Publisher``).
- bare: a bare ``websockets`` server sending each client its own message once a second.

Modes (``--mode``):

- ``burst`` (the default): a market-wide tick. Every status of the second is stamped at the tick
  and published at once; the bare server stamps at its tick too and sends every client its own
  message in one loop. This is what a client feels when the whole market moves.
- ``sliced`` (the old default, kept for comparison): each second published in ten slices, each
  stamped as it is sent. It hides the queueing inside a burst and is not the budget's figure.

``--processes k`` runs k web processes (each with its one subscription, as behind a proxy) and
k bare servers, the clients spread over them round robin; ``--client-processes`` spreads the
measuring clients over that many processes (default: one per web process), so that at 10,000
sockets the client side is not what is measured. ``--drivers d`` publishes from d processes,
each a share of the accounts, as d engine partitions would (README, capacity: a partition per
5,000 statuses a second); the bare servers each encode their own clients' messages anyway, so
at 10,000 sockets one driver encoding all 10,000 statuses is a cost only the portal paid.

Each message is written but for its stamp before the first tick, and the stamp appended at the
tick, for both servers: the engine hands the publisher statuses whose JSON ``build_many`` wrote
with their figures, so encoding 5,000 dicts after the tick (the bench before 2026-12-06, kept as
``--encode-at-tick``) measured the driver's json.dumps, about 110 ms of CPU on the burst's
critical path, more than the fan-out itself; the bare server, which encoded in its send loop,
likewise.

The split (on unless ``--no-split``): each figure comes with where the burst's time went, as
medians over the ticks of ms after the tick: the driver's last script call answered (every
status PUBLISHed), the web process's first and last read of its subscription and its last frame
written (the bare server's last send), the clients' first and last read; and each part's CPU
(user and system ms a second: the servers, the driver, the clients, Redis). If the clients'
last read trails the servers' last write by more than a few ms, the measuring side is what is
measured; in the runs of 2026-12-06 it trailed by under 1 ms, so one client process suffices.

The payload is a real margin status (two positions, about 1 kB). Latency is "the driver (or bare
server) stamped the message" → "the client read its stamp", same host clock. The clients read
only the stamp (the message's last key), not the whole JSON: they share the two cores with the
servers, and decoding every status made the measuring side the bottleneck for both servers. A
message counts when it was stamped inside the measuring window and arrived within ``GRACE``
seconds; ``delivered`` is those over what every server's stamps owed its clients.

The measuring sockets (``--client``, the same for both servers, printed with every figure):
``raw`` (the default since 2026-12-05) speaks the protocol itself on an asyncio Protocol: the
upgrade, then it cuts the frames out of each read and takes the stamp from the bytes, timed at
the read (``_RawClient``). ``websockets`` is the websockets library's client, as before: its
per-message cost (frame parser, queue, UTF-8 decoding, a task switch per message) was about the
server's own, on the same two cores, so the last client of a burst read its message late for
both servers alike. Figures of the two clients are not comparable with each other.

The bench consumer takes the account id from the query string instead of the session, so the run
needs no database: the connect path differs, the push path (the hub, its subscription, the JSON
send) is the portal's.

Usage (REDIS_URL must point at a Redis; prints one JSON object per server):
    .venv/bin/python bench/ws_fanout.py [--clients 5000] [--seconds 20] [--mode burst|sliced]
        [--processes 1] [--client-processes N] [--runs 1]
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
            await push.hub.until_live(self.account_id)

    return URLRouter([path("ws/margin/", BenchConsumer.as_asgi())])


def serve_portal(port: int) -> None:
    import uvicorn

    # BENCH_PROFILE=<path>: cProfile the web process; BENCH_STAGES=1: time the hub per message.
    # Both report BENCH_REPORT_AFTER seconds after the first socket joins (uvicorn ends on
    # SIGTERM by raising it again, so nothing after uvicorn.run would run).
    profile_to = os.environ.get("BENCH_PROFILE")
    stages = _instrument_hub() if os.environ.get("BENCH_STAGES") else None
    if os.environ.get(SPLIT_ENV):
        _record_portal_split(Path(os.environ[SPLIT_ENV]) / f"web-{port}.json")
    profiler = None
    if profile_to:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()

    marks: list[tuple[float, int]] = []

    def mark() -> None:
        from margin import push

        marks.append((time.process_time(), push.hub.delivered))

    def report() -> None:
        from margin import push

        if marks:
            cpu, delivered = time.process_time() - marks[0][0], push.hub.delivered - marks[0][1]
            print(
                json.dumps(
                    {
                        "name": "ws_fanout_portal_cpu",
                        "pushes": delivered,
                        "cpu_s": round(cpu, 2),
                        "cpu_us_per_push": round(cpu / delivered * 1e6, 1) if delivered else None,
                    }
                ),
                file=sys.stderr,
                flush=True,
            )
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(f"{profile_to}.{port}")
        if stages is not None:
            _print_stages(stages)

    if profiler is not None or stages is not None:
        from margin import push

        join = push.Hub.join

        def join_and_schedule(self, account_id, socket) -> None:
            push.Hub.join = join
            after = float(os.environ.get("BENCH_REPORT_AFTER", "25"))
            asyncio.get_running_loop().call_later(after - 10, mark)  # the last 10 s: pushes only
            asyncio.get_running_loop().call_later(after, report)
            join(self, account_id, socket)

        push.Hub.join = join_and_schedule
    uvicorn.run(
        portal_app(),
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        # As the Procfile runs it; BENCH_UVICORN_WS=websockets-sansio (uvicorn's own, the portal's
        # before) sends every push through the ASGI path.
        ws=os.environ.get("BENCH_UVICORN_WS") or _portal_protocol(),
        ws_per_message_deflate=False,
        log_level="warning",
        lifespan="off",
    )


def _portal_protocol() -> str:
    from portal.websocket_protocol import PROTOCOL

    return PROTOCOL


# --- the split: where a burst's time goes (``--split``, on by default) ---------------------------
#
# Every process of a run writes, per tick (the stamp), when its part of the burst started and
# ended, to a file in the directory SPLIT_ENV names; the parent prints the medians over the ticks
# measured, each in ms after the tick. The web process notes the time at each read of its
# subscription and after each status is handed out (two clock reads and a dict look-up a status,
# about 1 µs); the bare server, the driver and the clients likewise once per tick or per message.

SPLIT_ENV = "BENCH_SPLIT_DIR"


def _split_writer(path: Path, records: dict) -> None:
    """Write `records` to `path` every second (the servers end by signal, with nothing after)."""

    def write() -> None:
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps({repr(k): v for k, v in records.items()}))
        temporary.replace(path)
        asyncio.get_running_loop().call_later(1.0, write)

    asyncio.get_running_loop().call_later(1.0, write)


def _record_portal_split(path: Path) -> None:
    """Per stamp: [first read of the subscription, last read, last frame handed out, statuses]."""
    from margin import push

    records: dict[float, list] = {}
    current: list = [None]
    frames, deliver, join = push._frames, push.Hub._deliver_lines, push.Hub.join

    def timed_frames(buffer: bytes):
        now = time.time()
        found, used = frames(buffer)
        for kind, _, payload in reversed(found):
            if kind == b"message" and isinstance(payload, bytes):
                stamp = _stamp(payload)
                record = records.get(stamp)
                if record is None:
                    record = records[stamp] = [now, now, now, 0]
                record[1] = now
                current[0] = record
                break
        return found, used

    def timed_deliver(self, lines: list[bytes]) -> None:
        deliver(self, lines)
        record = current[0]
        if record is not None:
            record[2] = time.time()
            record[3] += len(lines)

    def join_and_write(self, account_id, socket) -> None:
        push.Hub.join = join
        _split_writer(path, records)
        join(self, account_id, socket)

    push._frames = timed_frames
    push.Hub._deliver_lines = timed_deliver
    push.Hub.join = join_and_write


def _instrument_hub() -> dict[str, list[float]]:
    """Per published message in the web process: how long after the tick it reached the hub
    (driver encode + Redis + subscription read) and how long the hub took to hand it out (CPU of
    the web process's fan-out, the sockets' sends included)."""
    from margin import push

    stages: dict[str, list[float]] = {"arrival_ms": [], "fanout_ms": [], "lines": []}

    def note(lines: list[str], arrived: float, started: float) -> None:
        stages["fanout_ms"].append((time.perf_counter() - started) * 1000)
        stamp = _stamp(lines[0])
        if stamp is not None:
            stages["arrival_ms"].append((arrived - stamp) * 1000)
        stages["lines"].append(len(lines))

    if hasattr(push.Hub, "_deliver_lines"):  # the hub reading its own subscription
        lines_original = push.Hub._deliver_lines

        def timed_lines(self, lines: list[str]) -> None:
            arrived, started = time.time(), time.perf_counter()
            lines_original(self, lines)
            note(lines, arrived, started)

        push.Hub._deliver_lines = timed_lines
        return stages
    original = push.Hub.deliver_encoded

    async def timed(self, message: str) -> None:
        arrived, started = time.time(), time.perf_counter()
        await original(self, message)
        note(message.split("\n"), arrived, started)

    push.Hub.deliver_encoded = timed
    return stages


def _print_stages(stages: dict[str, list[float]]) -> None:
    def q(values: list[float], f: float) -> float:
        values = sorted(values)
        return round(values[min(len(values) - 1, int(f * len(values)))], 2) if values else 0.0

    summary = {
        "messages": len(stages["fanout_ms"]),
        "lines_per_message": q(stages["lines"], 0.5),
        "arrival_ms_p50": q(stages["arrival_ms"], 0.5),
        "arrival_ms_max": q(stages["arrival_ms"], 1.0),
        "fanout_ms_per_message_p50": q(stages["fanout_ms"], 0.5),
        "fanout_ms_total": round(sum(stages["fanout_ms"]), 1),
    }
    print(json.dumps({"name": "ws_fanout_portal_stages", **summary}), file=sys.stderr, flush=True)


def _head(template: dict, account_id: int) -> bytes:
    """Account `account_id`'s status JSON (the portal's encoding, ``status.to_json``) without its
    closing brace: the tick's stamp, the last key, completes it."""
    from margin.status import to_json

    return to_json(dict(template, account_id=account_id))[:-1]


def _with_json(account_id: int, json_bytes: bytes) -> dict:
    """A status as the engine's ``build_many`` hands it to the publisher: its JSON written."""
    from margin.status import Status

    status = Status(account_id=account_id)
    status.json = json_bytes
    return status


async def drive_portal(
    clients: int,
    seconds: float,
    mode: str,
    part: int = 0,
    parts: int = 1,
    epoch: float = 0.0,
    encode_at_tick: bool = False,
) -> None:
    """Every account's status once a second, published as the risk engine does, stamped.

    As the engine's, each status reaches the publisher with its JSON written (``build_many``
    writes it with the figures, before the publish): here all of it but the stamp is written
    before the first tick, and the stamp appended at the tick. ``encode_at_tick`` (the bench
    before 2026-12-06) hands the publisher plain dicts instead, which it encodes one by one
    after the tick: about 22 µs a status, 110 ms of the driver's CPU per 5,000-status burst on
    the critical path, a cost the engine does not pay there. The bare server encodes likewise
    or not, so both compare the same thing.

    With ``parts`` drivers (``--drivers``, an engine partition each) this one publishes the
    accounts ``part``, ``part + parts``, ...; the drivers tick together at ``epoch`` + whole
    seconds and stamp that instant (the same stamp in every partition, so a client's messages
    are counted per tick as with one driver; a driver waking late adds its lateness)."""
    from margin.push import Publisher

    publisher = Publisher()
    template = _payload(0)
    if mode == "burst":
        accounts = range(part, clients, parts)
        records: dict[float, list[float]] = {}
        if os.environ.get(SPLIT_ENV):
            _split_writer(Path(os.environ[SPLIT_ENV]) / f"driver-{part}.json", records)
        heads = {a: _head(template, a) for a in accounts}
        tick = epoch
        while tick < epoch + seconds:
            await asyncio.sleep(max(0.0, tick - time.time()))
            started = time.time()
            if encode_at_tick:
                batch = [dict(template, account_id=a, t=tick) for a in accounts]
            else:
                batch = [_with_json(a, heads[a] + b',"t":%r}' % tick) for a in accounts]
            await publisher.publish(batch)
            # [woke, every status published (the last script call answered)]
            records[tick] = [started, time.time()]
            tick += 1.0
        return
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        started = time.monotonic()
        if mode == "burst":
            # A market-wide tick: every status stamped at the tick, all published at once.
            stamp = time.time()
            batch = [
                dict(template, account_id=account_id, t=stamp) for account_id in range(clients)
            ]
            await publisher.publish(batch)
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
            continue
        # Sliced: ten slices a second, each stamped as it is sent (hides the burst's queueing).
        for part in range(10):
            stamp = time.time()
            batch = [
                dict(template, account_id=account_id, t=stamp)
                for account_id in range(part, clients, 10)
            ]
            await publisher.publish(batch)
            await asyncio.sleep(max(0.0, (part + 1) / 10 - (time.monotonic() - started)))


# --- the bare baseline ----------------------------------------------------------------------------


async def serve_bare(port: int, mode: str, encode_at_tick: bool = False) -> None:
    """Each client its own message at each tick: its status JSON (the portal's encoding, as text)
    written when it connects but for the stamp, appended at the tick (as the driver does for the
    portal); ``encode_at_tick`` json.dumps each message's dict in the send loop instead."""
    import uvloop  # noqa: F401  (the loop policy is set by the caller)
    from websockets.asyncio.server import serve

    connections: dict[int, object] = {}
    heads: dict[int, str] = {}
    template = _payload(0)
    records: dict[float, list[float]] = {}
    if os.environ.get(SPLIT_ENV):
        _split_writer(Path(os.environ[SPLIT_ENV]) / f"bare-{port}.json", records)

    async def handler(websocket):
        account_id = int(websocket.request.path.split("id=")[1])
        heads[account_id] = _head(template, account_id).decode()
        connections[account_id] = websocket
        try:
            await websocket.wait_closed()
        finally:
            connections.pop(account_id, None)

    async def tick():
        while True:
            started = time.monotonic()
            stamp = started_at = time.time()
            tail = f',"t":{stamp!r}}}'
            for account_id, websocket in list(connections.items()):
                # Burst: every message carries the tick's stamp; sliced: the stamp of its send.
                if mode == "burst" and not encode_at_tick:
                    message = heads[account_id] + tail
                else:
                    payload = dict(
                        template, account_id=account_id, t=stamp if mode == "burst" else time.time()
                    )
                    message = json.dumps(payload)
                with contextlib.suppress(Exception):  # a client leaving mid-send
                    await websocket.send(message)
            # [started, last message handed to its socket, messages]
            records[stamp] = [started_at, time.time(), len(connections)]
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - started)))

    async with serve(handler, "127.0.0.1", port, compression=None, max_queue=None):
        await tick()


# --- the clients ----------------------------------------------------------------------------------


# How long after the window a message stamped inside it may still arrive and count as delivered.
GRACE = 10.0


def _stamp(message: str | bytes) -> float | None:
    """The send stamp, the last key of every message (``..., "t": 1733...}``), read without
    decoding the whole status: the measuring clients share the two cores with the servers, and
    a full json.loads per message made them the slowest part of the run (for both servers)."""
    if isinstance(message, bytes):
        at = message.rfind(b'"t":')
        tail = message[at + 4 :].rstrip(b"} \n")
    else:
        at = message.rfind('"t":')
        tail = message[at + 4 :].rstrip("} \n")
    if at < 0:
        return None
    try:
        return float(tail)
    except ValueError:
        return None


class _RawClient(asyncio.Protocol):
    """One measuring socket without a WebSocket library (``--client raw``, the default).

    It sends the upgrade request, then reads the server's frames itself (unmasked, unfragmented:
    what both servers send) and hands each text frame's payload, as bytes, to `on_message` with
    the time its read arrived; it answers pings (both servers ping every 20 s) and nothing else.
    The websockets client spends about as much CPU per message as the server sending it (frame
    parser generator, a queue, UTF-8 decoding, a task switch per ``async for``), and 5,000 of
    them share the two cores with the servers: that queue was part of both servers' p99."""

    def __init__(self, path: str, host: str, on_message, on_open) -> None:
        self.path, self.host = path, host
        self.on_message, self.on_open = on_message, on_open
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.open = False
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport) -> None:
        import base64

        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            (
                f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                f"Sec-WebSocket-Version: 13\r\nOrigin: http://{self.host}\r\n\r\n"
            ).encode()
        )

    def connection_lost(self, exc) -> None:
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        now = time.time()
        buffer = self.buffer + data if self.buffer else data
        if not self.open:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                self.buffer = buffer
                return
            if not buffer.startswith(b"HTTP/1.1 101"):
                self.transport.close()
                return
            self.open = True
            self.on_open()
            buffer = buffer[end + 4 :]
        size, position = len(buffer), 0
        while size - position >= 2:
            opcode, length, head = buffer[position] & 0x0F, buffer[position + 1] & 0x7F, 2
            if length == 126:
                if size - position < 4:
                    break
                length, head = int.from_bytes(buffer[position + 2 : position + 4], "big"), 4
            elif length == 127:
                if size - position < 10:
                    break
                length, head = int.from_bytes(buffer[position + 2 : position + 10], "big"), 10
            if size - position < head + length:
                break
            start = position + head
            position = start + length
            if opcode == 1:
                self.on_message(buffer[start:position], now)
            elif opcode == 9 and length < 126:  # ping: pong, masked (all-zero key) as RFC 6455 asks
                self.transport.write(
                    bytes((0x8A, 0x80 | length)) + b"\0\0\0\0" + buffer[start:position]
                )
            elif opcode == 8:
                self.transport.close()
                return
        self.buffer = buffer[position:]


async def run_clients(
    ports: list[int], accounts: range, seconds: float, warmup: float, kind: str = "raw"
) -> dict[str, object]:
    """Connect one socket per account (account i to ports[i % len(ports)]), measure, and return
    the latencies (seconds) of the messages stamped while measuring that arrived within GRACE,
    and how many were expected: each server stamps a tick once for all its clients (burst), so
    every stamp seen on a port is owed to every client of that port."""
    import gc

    clients = len(accounts)

    latencies: list[float] = []
    stamps: dict[int, set[float]] = {port: set() for port in ports}
    window = (float("inf"), float("inf"))
    connected = 0
    # The split: per stamp, [first read, last read, messages] on this measuring process.
    reads: dict[float, list] = {}

    def note(stamp: float, now: float) -> None:
        latencies.append(now - stamp)
        record = reads.get(stamp)
        if record is None:
            reads[stamp] = [now, now, 1]
        else:
            record[1] = now if now > record[1] else record[1]
            record[2] += 1

    def opened() -> None:
        nonlocal connected
        connected += 1

    async def raw_client(account_id: int) -> None:
        port = ports[account_id % len(ports)]
        seen = stamps[port]

        def on_message(message: bytes, now: float) -> None:
            stamp = _stamp(message)
            if stamp is not None and window[0] <= stamp < window[1]:
                note(stamp, now)
                seen.add(stamp)

        loop = asyncio.get_running_loop()
        path, host = f"/ws/margin/?id={account_id}", f"127.0.0.1:{port}"
        transport, protocol = await loop.create_connection(
            lambda: _RawClient(path, host, on_message, opened), "127.0.0.1", port
        )
        try:
            await protocol.closed
        finally:
            transport.close()

    async def websockets_client(account_id: int) -> None:
        from websockets.asyncio.client import connect

        port = ports[account_id % len(ports)]
        seen = stamps[port]
        async with connect(
            f"ws://127.0.0.1:{port}/ws/margin/?id={account_id}",
            compression=None,
            open_timeout=60,
            max_queue=None,
        ) as websocket:
            opened()
            async for message in websocket:
                stamp = _stamp(message)
                if stamp is not None and window[0] <= stamp < window[1]:
                    note(stamp, time.time())
                    seen.add(stamp)

    client = raw_client if kind == "raw" else websockets_client
    tasks = []
    for n, account_id in enumerate(accounts):
        tasks.append(asyncio.create_task(client(account_id)))
        if n % 200 == 199:
            await asyncio.sleep(0.05)  # ramp up, as real browsers arrive
    deadline = time.monotonic() + 120
    while connected < clients and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    await asyncio.sleep(warmup)
    # The measuring side is the same for both servers; keep its own GC out of the figures.
    gc.collect()
    gc.freeze()
    start = time.time()
    window = (start, start + seconds)
    cpu = time.process_time()
    await asyncio.sleep(seconds)
    cpu = time.process_time() - cpu
    await asyncio.sleep(GRACE)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    if connected < clients:
        print(f"only {connected} of {clients} clients connected", file=sys.stderr)
    per_port = {port: 0 for port in ports}
    for account_id in accounts:
        per_port[ports[account_id % len(ports)]] += 1
    expected = sum(per_port[port] * len(stamps[port]) for port in ports)
    return {
        "latencies": latencies,
        "expected": expected,
        "window": window,
        "cpu_s": cpu,
        "reads": {repr(stamp): record for stamp, record in reads.items()},
    }


def _summary(latencies: list[float], expected: int, clients: int, seconds: float) -> dict:
    latencies = sorted(latencies)

    def pct(q: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 1)

    return {
        "clients": clients,
        "seconds": seconds,
        "expected_messages": expected,
        "received_messages": len(latencies),
        "delivered": round(len(latencies) / expected, 4) if expected else 0,
        "p50_ms": pct(0.50) if latencies else None,
        "p99_ms": pct(0.99) if latencies else None,
        "max_ms": pct(1.0) if latencies else None,
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


class _CpuSampler:
    """CPU time (user, system) of each role's processes and of Redis, sampled every 0.25 s, so
    that the split can say how much of each second every part of the run spent."""

    def __init__(self) -> None:
        import threading

        self.roles: dict[str, list[subprocess.Popen]] = {}
        self.samples: list[tuple[float, dict[str, tuple[float, float]]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._redis = None
        with contextlib.suppress(Exception):
            import redis

            self._redis = redis.Redis.from_url(os.environ["REDIS_URL"])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        tick = os.sysconf("SC_CLK_TCK")
        while not self._stop.wait(0.25):
            now, sample = time.time(), {}
            for role, processes in list(self.roles.items()):
                user = system = 0.0
                for process in processes:
                    with contextlib.suppress(OSError, IndexError):
                        fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1]
                        values = fields.split()
                        user += int(values[11]) / tick
                        system += int(values[12]) / tick
                sample[role] = (user, system)
            if self._redis is not None:
                with contextlib.suppress(Exception):
                    info = self._redis.info("cpu")
                    sample["redis"] = (info["used_cpu_user"], info["used_cpu_sys"])
            self.samples.append((now, sample))

    def per_second(self, start: float, end: float) -> dict[str, dict[str, float]]:
        """ms of CPU a second (user, system) per role between the samples nearest start and end."""
        inside = [(t, sample) for t, sample in self.samples if start <= t <= end]
        if len(inside) < 2:
            return {}
        (t0, first), (t1, last) = inside[0], inside[-1]
        return {
            role: {
                "user_ms": round((last[role][0] - first[role][0]) / (t1 - t0) * 1000),
                "sys_ms": round((last[role][1] - first[role][1]) / (t1 - t0) * 1000),
            }
            for role in last
            if role in first
        }


def _split(kind: str, directory: Path, measured: list[dict], cpu: dict) -> dict:
    """The medians over the ticks measured of each stage's start and end, ms after the tick."""

    def load(prefix: str) -> list[dict[float, list]]:
        return [
            {float(k): v for k, v in json.loads(path.read_text()).items()}
            for path in sorted(directory.glob(f"{prefix}-*.json"))
        ]

    reads: dict[float, list] = {}
    for part in measured:
        for key, (first, last, count) in part["reads"].items():
            record = reads.setdefault(float(key), [first, last, 0])
            record[0], record[1] = min(record[0], first), max(record[1], last)
            record[2] += count
    stages: dict[str, list[float]] = {}

    def add(name: str, value: float) -> None:
        stages.setdefault(name, []).append(value)

    drivers, webs, bares = load("driver"), load("web"), load("bare")
    for tick, (first, last, _) in reads.items():
        for name, records, at in (
            ("driver_published", drivers, 1),
            ("web_first_read", webs, 0),
            ("web_last_read", webs, 1),
            ("web_last_written", webs, 2),
            ("bare_last_written", bares, 1),
        ):
            found = [r[tick][at] for r in records if tick in r]
            if found:
                add(name, (min(found) if name.endswith("first_read") else max(found)) - tick)
        add("clients_first_read", first - tick)
        add("clients_last_read", last - tick)
    split = {
        f"{name}_ms": round(statistics.median(values) * 1000, 1) for name, values in stages.items()
    }
    return {"ticks": len(reads), **split, "cpu_ms_per_s": cpu}


def measure(
    kind: str,
    *,
    clients: int,
    seconds: float,
    mode: str,
    processes: int,
    client_processes: int,
    client: str,
    drivers: int,
    split: bool = True,
    encode_at_tick: bool = False,
) -> dict:
    import tempfile

    results = Path(tempfile.mkdtemp(prefix="ws_fanout_"))
    encoding = "encode" if encode_at_tick else "written"
    env = {**os.environ, SPLIT_ENV: str(results)} if split else None
    ports = [_free_port() for _ in range(processes)]
    servers = [
        subprocess.Popen(  # noqa: S603
            [sys.executable, __file__, f"serve-{kind}", str(port), mode, encoding],
            cwd=ROOT,
            env=env,
        )
        for port in ports
    ]
    sampler = _CpuSampler()
    sampler.roles["server"] = servers
    driving: list[subprocess.Popen] = []
    measurers: list[subprocess.Popen] = []
    try:
        for port in ports:
            _wait_for_port(port)
        if kind == "portal":
            epoch = round(time.time()) + 2.0
            for part in range(drivers):
                command = [sys.executable, __file__, "drive", str(clients), str(seconds + 200)]
                command += [mode, str(part), str(drivers), str(epoch), encoding]
                driving.append(subprocess.Popen(command, cwd=ROOT, env=env))  # noqa: S603
            sampler.roles["driver"] = driving
        for index in range(client_processes):
            command = [
                sys.executable,
                __file__,
                "clients",
                ",".join(map(str, ports)),
                str(index),
                str(client_processes),
                str(clients),
                str(seconds),
                str(results / f"{index}.json"),
                client,
            ]
            measurers.append(subprocess.Popen(command, cwd=ROOT, env=env))  # noqa: S603
        sampler.roles["clients"] = measurers
        sampler.start()
        latencies: list[float] = []
        expected = 0
        parts = []
        for index, measurer in enumerate(measurers):
            measurer.wait(timeout=seconds + 300)
            measured = json.loads((results / f"{index}.json").read_text())
            latencies.extend(measured["latencies"])
            expected += measured["expected"]
            parts.append(measured)
        sampler.stop()
        start = min(part["window"][0] for part in parts)
        cpu = sampler.per_second(start, start + seconds)
        clients_cpu = sum(part["cpu_s"] for part in parts) / seconds * 1000
    finally:
        for process in [*measurers, *driving, *servers]:
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:  # a server closing 10,000 sockets under load
                    process.kill()
                    process.wait(timeout=10)
    return {
        "name": f"ws_fanout_{kind}",
        "mode": mode,
        "web_processes": processes,
        "client_processes": client_processes,
        "client": client,
        "drivers": drivers if kind == "portal" else 0,
        "encode_at_tick": encode_at_tick,
        **_summary(latencies, expected, clients, seconds),
        **(
            {"split": {**_split(kind, results, parts, cpu), "clients_cpu_ms_per_s": clients_cpu}}
            if split
            else {}
        ),
    }


def _median(runs: list[dict], field: str) -> float | None:
    values = [run[field] for run in runs if run[field] is not None]
    return round(statistics.median(values), 1) if values else None


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.test")
    django.setup()
    import logging

    logging.getLogger().setLevel(logging.WARNING)
    role = sys.argv[1] if len(sys.argv) > 1 else ""
    if role == "serve-portal":
        serve_portal(int(sys.argv[2]))
        return
    if role == "serve-bare":
        import uvloop

        uvloop.run(serve_bare(int(sys.argv[2]), sys.argv[3], sys.argv[4] == "encode"))
        return
    if role == "drive":
        import uvloop

        part, parts, epoch = (int(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7]))
        encode = sys.argv[8] == "encode"
        uvloop.run(
            drive_portal(
                int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], part, parts, epoch, encode
            )
        )
        return
    if role == "clients":
        import uvloop

        ports = [int(p) for p in sys.argv[2].split(",")]
        index, count, clients = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
        accounts = range(index, clients, count)
        measured = uvloop.run(
            run_clients(ports, accounts, float(sys.argv[6]), warmup=3, kind=sys.argv[8])
        )
        measured["latencies"] = [round(x, 6) for x in measured["latencies"]]
        # To a file: whatever a library prints on stdout must not split the figures.
        Path(sys.argv[7]).write_text(json.dumps(measured))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--mode", choices=("burst", "sliced"), default="burst")
    parser.add_argument("--processes", type=int, default=1, help="web processes (and bare servers)")
    parser.add_argument("--client-processes", type=int, default=0, help="default: --processes")
    parser.add_argument(
        "--client",
        choices=("raw", "websockets"),
        default="raw",
        help="the measuring sockets: raw frame reading (default) or the websockets client",
    )
    parser.add_argument(
        "--drivers",
        type=int,
        default=1,
        help="publishing processes (engine partitions), each a share of the accounts",
    )
    parser.add_argument(
        "--no-split",
        dest="split",
        action="store_false",
        help="do not record where each burst's time goes (about 1 µs a status in the web process)",
    )
    parser.add_argument(
        "--encode-at-tick",
        action="store_true",
        help="encode every message after the tick (the driver and the bare server; before 12-06)",
    )
    parser.add_argument("--runs", type=int, default=1, help="alternate bare/portal runs; medians")
    parser.add_argument("--only", choices=("bare", "portal"), help="measure one server (profiling)")
    args = parser.parse_args()
    if not os.environ.get("REDIS_URL"):
        sys.exit("REDIS_URL must point at a Redis server (the portal's channel layer)")
    options = {
        "clients": args.clients,
        "seconds": args.seconds,
        "mode": args.mode,
        "processes": args.processes,
        "client_processes": args.client_processes or args.processes,
        "client": args.client,
        "drivers": args.drivers,
        "split": args.split,
        "encode_at_tick": args.encode_at_tick,
    }
    runs: dict[str, list[dict]] = {"bare": [], "portal": []}
    for _ in range(args.runs):
        for kind in (args.only,) if args.only else ("bare", "portal"):
            result = measure(kind, **options)
            runs[kind].append(result)
            print(json.dumps(result), flush=True)
    bare_p99, portal_p99 = _median(runs["bare"], "p99_ms"), _median(runs["portal"], "p99_ms")
    summary = {
        "name": "ws_fanout_summary",
        **{k: v for k, v in options.items() if k != "seconds"},
        "runs": args.runs,
        "bare_p50_ms": _median(runs["bare"], "p50_ms"),
        "bare_p99_ms": bare_p99,
        "portal_p50_ms": _median(runs["portal"], "p50_ms"),
        "portal_p99_ms": portal_p99,
        "bare_delivered": min((r["delivered"] for r in runs["bare"]), default=None),
        "portal_delivered": min((r["delivered"] for r in runs["portal"]), default=None),
        "p99_ratio_to_bare": round(portal_p99 / bare_p99, 2) if bare_p99 and portal_p99 else None,
    }
    for kind, measured in runs.items():
        stages = {k for run in measured for k, v in run.get("split", {}).items() if k != "ticks"}
        for stage in sorted(stages):
            values = [run["split"][stage] for run in measured if stage in run["split"]]
            if values and all(isinstance(v, int | float) for v in values):
                summary[f"{kind}_{stage}"] = round(statistics.median(values), 1)
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
