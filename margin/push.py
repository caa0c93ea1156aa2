"""Live status fan-out: a Redis channel per account, subscribed by the web processes holding it.

The obvious Channels design — every socket joins ``margin.account.<id>`` on the channel layer and
the engine does a ``group_send`` per account — costs a Redis round trip per socket per push and a
Redis connection per joining socket. Measured with ``bench/ws_fanout.py`` at 5,000 sockets it
delivered 7% of the pushes with p50 2.5 s, and the joins exhausted the connection pool. So:

- the engine publishes each status, serialised once, on the account's Redis channel
  ``margin:push:<account id>`` (a script call PUBLISHes a few hundred at once);
- every web process holds one Redis connection (``Hub``) subscribed to the channels of the
  accounts it has sockets for, reads the pushes itself (``_frames``: redis-py's parser cost as
  much as the socket sends) and hands each status's JSON, untouched, to those sockets;
- without Redis (embedded mode) the engine hands the statuses to the hub directly, on the same
  event loop.

One channel for the whole stream (the design before this one) sent every web process every
status: with 10,000 sockets over two processes each read, parsed and dropped the other half, and
under load Redis closed a subscriber whose output buffer passed its pubsub limit (98.5% delivered,
bench/ws_fanout.py). A channel per account also keeps the statuses of accounts nobody is
watching inside Redis, which with 100,000 accounts and a few thousand sockets is most of them.

A socket joins the hub before its snapshot is read, and the consumer waits (``until_live``) for
Redis to confirm the account's subscription first: whatever is published after the snapshot's
read reaches the socket. Subscriptions change in batches (all joins and leaves of one loop turn go
in one SUBSCRIBE and one UNSUBSCRIBE), and an account subscribed again while its UNSUBSCRIBE is
in flight is live only once Redis confirms the later SUBSCRIBE (``_on_subscribed``).

The hub's key is the account id, which a consumer takes from the session only. If the
subscription drops (Redis restarting) the hub retries at once and then every second at most
(``RETRY_DELAYS``), subscribing again to every account it holds: a refused connection costs
nothing, and pushes resume within about a second of Redis answering again, where a doubling
back-off to 10 s left clients on polling for up to 10 s. The browsers notice the gap in sequence
numbers and ask for a snapshot, and poll ``status.json`` while their socket is down.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import urllib.parse
from collections import deque
from collections.abc import Awaitable, Coroutine, Generator, Iterable
from typing import Any, Protocol

from django.conf import settings

from margin.status import to_json
from portal.websocket_protocol import text_frame

logger = logging.getLogger(__name__)

CHANNEL = "margin:push"  # the prefix: account 7's statuses go on "margin:push:7"
CHUNK = 500  # statuses per script call (Redis runs one call's PUBLISHes in about a millisecond)
# ARGV[1] is the channels' prefix, ARGV[2] the statuses' lines ("<account id> <JSON>"), each
# PUBLISHed on the channel of its account, the prefix and the id. One argument for the chunk: an
# argument or two per status cost the engine more to pack (redis-py, in Python) than Redis to
# split.
PUBLISH_EACH = """
local prefix, lines, at, sent = ARGV[1], ARGV[2], 1, 0
while at <= #lines do
  local stop = string.find(lines, '\\n', at, true) or (#lines + 1)
  local space = string.find(lines, ' ', at, true)
  redis.call('PUBLISH', prefix .. string.sub(lines, at, space - 1), string.sub(lines, at, stop - 1))
  at, sent = stop + 1, sent + 1
end
return sent
"""
# Seconds between attempts to subscribe again; the last one repeats.
RETRY_DELAYS = (0.1, 0.2, 0.5, 1.0)
# Pushes kept for a socket that cannot take them yet (a few seconds of statuses).
BACKLOG = 8


class Socket(Protocol):
    async def push_text(self, text: str) -> None: ...


class FrameSocket(Socket, Protocol):
    """A socket that can also take the status as a ready WebSocket frame (``write_frame``: True
    if written, False to send it through ``push_text``; portal.websocket_protocol)."""

    def write_frame(self, frame: bytes) -> bool: ...


def redis_url() -> str:
    return getattr(settings, "REDIS_URL", "") or ""


def pubsub_name(name: str, url: str | None = None) -> str:
    """``name`` for a pub/sub channel of this deployment's Redis database.

    Keys live in the database REDIS_URL names, but pub/sub channels are Redis-wide: two
    deployments (or test sessions) on one Redis server in databases 0 and 5 would hear each
    other's statuses for the same account number. So a channel carries the database number,
    except database 0, whose channels keep their plain names."""
    database = _database_of(redis_url() if url is None else url)
    return name if database == 0 else f"{name}@{database}"


@functools.lru_cache(maxsize=8)
def _database_of(url: str) -> int:
    parsed = urllib.parse.urlsplit(url)
    path = parsed.path.strip("/")
    if path.isdigit():
        return int(path)
    query = urllib.parse.parse_qs(parsed.query).get("db", [""])[0]
    return int(query) if query.isdigit() else 0


def channel_for(account_id: int, url: str | None = None) -> str:
    """Account ``account_id``'s channel on the Redis of ``url`` (default: REDIS_URL)."""
    return f"{pubsub_name(CHANNEL, url)}:{int(account_id)}"


def _account_of(channel: bytes | str) -> int | None:
    name = channel.decode() if isinstance(channel, bytes) else channel
    prefix, _, account_id = name.rpartition(":")
    return int(account_id) if prefix == pubsub_name(CHANNEL) and account_id.isdigit() else None


def _line(status: dict[str, Any]) -> bytes:
    """The status's line, UTF-8: the account id first, so a web process forwards the JSON (which
    has no raw newlines) to its sockets without decoding or re-encoding it. The JSON is the
    status's own (``status.to_json``: written by ``build_many`` alongside the dict, the bytes
    the cache keeps), not encoded again here."""
    return b"%d %s" % (int(status["account_id"]), to_json(status))


class Hub:
    """The sockets of this process by account id, and the subscription that feeds them."""

    def __init__(self) -> None:
        self._sockets: dict[int, set[Socket]] = {}
        self._listener: asyncio.Task | None = None
        self._listener_loop: asyncio.AbstractEventLoop | None = None
        self.subscribed = asyncio.Event()  # connected, every account it holds confirmed
        self.delivered = 0
        # Pushes waiting behind a socket that applies back-pressure, and the tasks sending them.
        self._backlogs: dict[Socket, deque[str]] = {}
        self._finishing: set[asyncio.Task] = set()
        # The subscription (module doc): the redis-py connection while it is up; the accounts whose
        # SUBSCRIBE has been sent last (not UNSUBSCRIBE); how many SUBSCRIBEs of each Redis has
        # yet to confirm; those it has confirmed; and the sockets waiting for that.
        self._pubsub: Any = None
        self._requested: set[int] = set()
        self._unconfirmed: dict[int, int] = {}
        self._live: set[int] = set()
        self._waiters: dict[int, asyncio.Future] = {}
        self._syncing: asyncio.Task | None = None

    def join(self, account_id: int, socket: Socket) -> None:
        self._sockets.setdefault(account_id, set()).add(socket)
        self._ensure_listening()
        if account_id not in self._requested:
            self._sync_soon()

    def leave(self, account_id: int, socket: Socket) -> None:
        sockets = self._sockets.get(account_id)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self._sockets[account_id]
                self._sync_soon()

    async def until_live(self, account_id: int, timeout: float = 2) -> bool:
        """Until Redis confirms this account's subscription (at once without Redis). False if
        that took longer than `timeout` (Redis away): the socket goes on, and the browser's
        sequence check and polling cover what it misses."""
        if not redis_url() or account_id in self._live:
            return True
        waiter = self._waiters.get(account_id)
        if waiter is None or waiter.done():
            waiter = self._waiters[account_id] = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(asyncio.shield(waiter), timeout)
        except TimeoutError:
            return False
        return True

    def watching(self, account_id: int) -> int:
        return len(self._sockets.get(account_id, ()))

    async def deliver(self, statuses: Iterable[dict[str, Any]]) -> None:
        """Send each status to this process's sockets of its account (see ``deliver_encoded``)."""
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._deliver_lines([_line(s) for s in statuses])
        finally:
            if collecting:
                gc.enable()

    async def deliver_encoded(self, message: str) -> None:
        """Lines of ``<account id> <status JSON>``: only the id is parsed, the JSON is passed on.

        No socket waits for another (see ``_push``), and the collector waits for the burst: a
        full collection over thousands of sockets' objects landing inside the loop added tens of
        milliseconds to everyone behind it (DESIGN.md, facts measured)."""
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._deliver_lines(message.encode().split(b"\n"))
        finally:
            if collecting:
                gc.enable()

    def _deliver_lines(self, lines: list[bytes]) -> None:
        """Lines as Redis delivered them, UTF-8: each status's JSON is framed once, as bytes, for
        all its sockets (portal.websocket_protocol), and decoded only for a socket that cannot
        take the frame.

        A socket that takes the frame (nearly all of them, nearly always) is written here, with
        no call of ``_push``: in a market-wide burst this loop runs once per socket, and each
        call or attribute look-up it spares is spared thousands of times before the last client
        reads its status."""
        held, backlogs, delivered = self._sockets.get, self._backlogs, 0
        for line in lines:
            account_id, _, data = line.partition(b" ")
            sockets = held(int(account_id)) if account_id.isdigit() else None
            if not sockets:
                continue
            frame = text_frame(data)
            for socket in tuple(sockets):
                if socket not in backlogs:
                    write_frame = getattr(socket, "write_frame", None)
                    try:
                        if write_frame is not None and write_frame(frame):
                            delivered += 1
                            continue
                    except Exception:  # a socket closing under us; its disconnect cleans up
                        logger.debug("Dropped a push to a closing socket", exc_info=True)
                        continue
                self._push(socket, data, frame, framed=False)
        self.delivered += delivered

    def _push(self, socket: Socket, data: bytes, frame: bytes, framed: bool = True) -> None:
        """Write `frame` to `socket` if it takes it at once (its transport directly), else hand
        it the text now if it takes that without waiting, else queue it behind that socket's
        earlier pushes.

        A socket's send completes at once while its transport takes data, which is nearly always;
        awaiting each in turn cost nothing then, but one client with a full buffer (a phone in a
        tunnel) held every socket after it until it drained. So each push is started eagerly and
        only one that actually has to wait becomes a task; later pushes to that socket queue
        behind it in order, at most ``BACKLOG`` of them (older ones dropped: the client sees the
        gap in sequence numbers and asks for a snapshot). ``framed=False``: the frame was
        offered already (``_deliver_lines``) and refused."""
        backlog = self._backlogs.get(socket)
        if backlog is not None:
            backlog.append(data.decode())
            return
        write_frame = getattr(socket, "write_frame", None) if framed else None
        try:
            if write_frame is not None and write_frame(frame):
                self.delivered += 1
                return
            waiting = _start(socket.push_text(data.decode()))
        except Exception:  # a socket closing under us; its disconnect cleans up
            logger.debug("Dropped a push to a closing socket", exc_info=True)
            return
        if waiting is None:
            self.delivered += 1
            return
        self._backlogs[socket] = deque(maxlen=BACKLOG)
        task = asyncio.ensure_future(self._finish(socket, waiting))
        self._finishing.add(task)
        task.add_done_callback(self._finishing.discard)

    async def _finish(self, socket: Socket, waiting: Awaitable[None]) -> None:
        backlog = self._backlogs[socket]
        try:
            while True:
                try:
                    await waiting
                    self.delivered += 1
                except Exception:  # a socket closing under us; its disconnect cleans up
                    logger.debug("Dropped a push to a closing socket", exc_info=True)
                    return
                if not backlog:
                    return
                waiting = socket.push_text(backlog.popleft())
        finally:
            del self._backlogs[socket]

    def _ensure_listening(self) -> None:
        url = redis_url()
        if not url:
            return
        loop = asyncio.get_running_loop()
        if self._listener is not None and not self._listener.done() and self._listener_loop is loop:
            return
        self.subscribed = asyncio.Event()
        self._listener_loop = loop
        self._waiters.clear()  # futures of an earlier loop (tests run a loop per scenario)
        self._forget_subscriptions()
        self._listener = loop.create_task(self._listen(url))

    def _forget_subscriptions(self) -> None:
        self._pubsub = None
        self._requested.clear()
        self._unconfirmed.clear()
        self._live.clear()
        self.subscribed.clear()

    def _sync_soon(self) -> None:
        """Bring Redis's subscriptions to the accounts held now, once the joins and leaves of
        this turn of the loop are in (one SUBSCRIBE and one UNSUBSCRIBE for all of them)."""
        if self._pubsub is None or (self._syncing is not None and not self._syncing.done()):
            return
        self._syncing = asyncio.get_running_loop().create_task(self._sync())

    async def _sync(self) -> None:
        await asyncio.sleep(0)
        while self._pubsub is not None:
            connection, held = self._pubsub, set(self._sockets)
            subscribe, unsubscribe = held - self._requested, self._requested - held
            if not subscribe and not unsubscribe:
                return
            self._requested = held
            for account_id in subscribe:
                self._unconfirmed[account_id] = self._unconfirmed.get(account_id, 0) + 1
            self._live -= unsubscribe
            try:
                if subscribe:
                    await connection.send_command("SUBSCRIBE", *map(channel_for, subscribe))
                if unsubscribe:
                    await connection.send_command("UNSUBSCRIBE", *map(channel_for, unsubscribe))
            except Exception:  # the connection dropped: the listener subscribes all again
                logger.debug("Changing the push subscriptions failed", exc_info=True)
                return

    def _on_subscribed(self, account_id: int) -> None:
        """Redis confirmed a SUBSCRIBE. The account is live once its last one is confirmed and
        no UNSUBSCRIBE followed it; Redis answers in the order the commands were sent."""
        left = self._unconfirmed.get(account_id, 0) - 1
        if left > 0:
            self._unconfirmed[account_id] = left
            return
        self._unconfirmed.pop(account_id, None)
        if account_id in self._requested:
            self._live.add(account_id)
            waiter = self._waiters.pop(account_id, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
        if not self._unconfirmed:
            self.subscribed.set()

    async def _listen(self, url: str) -> None:
        import redis.asyncio as redis

        failures = 0
        while True:
            # A short connect timeout: an unreachable host must not stretch the retry interval.
            client = redis.from_url(
                url, socket_connect_timeout=1, socket_keepalive=True, protocol=2
            )
            connection = None
            try:
                # redis-py connects (TLS, AUTH, SELECT as the URL says) and sends the commands;
                # the pushes are read by `_frames`, not by its parser (module doc).
                connection = await client.connection_pool.get_connection()
                # A channel of our own first, so the connection is up (and confirmed) even
                # while this process holds no socket.
                await connection.send_command("SUBSCRIBE", f"{pubsub_name(CHANNEL)}:hub")
                failures = 0
                self._forget_subscriptions()
                self._unconfirmed[-1] = 1
                self._pubsub = connection
                self._sync_soon()
                await self._read(connection._reader)
            except asyncio.CancelledError:
                raise
            except Exception:
                self._forget_subscriptions()
                delay = RETRY_DELAYS[min(failures, len(RETRY_DELAYS) - 1)]
                failures += 1
                if failures == 1 or failures % 60 == 0:  # not a line a second through an outage
                    logger.warning(
                        "Live push subscription lost; retrying every %.1f s", delay, exc_info=True
                    )
                await asyncio.sleep(delay)
            finally:
                self._pubsub = None
                if connection is not None:
                    await connection.disconnect()
                await client.aclose()

    async def _read(self, reader: asyncio.StreamReader) -> None:
        """Hand out the pushes as they arrive, all those of one read together; until the
        connection ends."""
        buffer = b""
        while True:
            data = await reader.read(1 << 18)
            if not data:
                raise ConnectionError("Redis closed the push subscription")
            buffer = buffer + data if buffer else data
            frames, used = _frames(buffer)
            buffer = buffer[used:]
            if not frames:
                continue
            collecting = gc.isenabled()
            gc.disable()
            try:
                # Each message is one status's line (the publisher's script PUBLISHes a line a
                # message); those of one read are handed out together, in order, a confirmation
                # between them taken in its place.
                lines: list[bytes] = []
                for kind, channel, payload in frames:
                    if kind == b"message" and isinstance(payload, bytes):
                        lines.append(payload)
                    elif kind == b"subscribe":
                        if lines:
                            self._deliver_lines(lines)
                            lines = []
                        account_id = _account_of(channel)
                        self._on_subscribed(-1 if account_id is None else account_id)
                if lines:
                    self._deliver_lines(lines)
            finally:
                if collecting:
                    gc.enable()

    async def wait_subscribed(self, timeout: float = 5) -> None:
        """For tests and benchmarks: until Redis has confirmed the subscriptions of every account
        this hub holds (no-op without Redis)."""
        if not redis_url():
            return
        self._ensure_listening()

        async def confirmed() -> None:
            while True:
                await self.subscribed.wait()
                if set(self._sockets) <= self._live:
                    return
                await asyncio.sleep(0.01)

        await asyncio.wait_for(confirmed(), timeout)

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
            self._listener = None
        self._forget_subscriptions()


Frame = tuple[bytes, bytes, bytes | int]


def _frames(buffer: bytes) -> tuple[list[Frame], int]:
    """The complete pub/sub frames at the start of `buffer` (RESP2 arrays of three: kind,
    channel, then the message or a subscription count), and how many bytes they take.

    redis-py's parser costs about 15 µs a message (a coroutine per line and per element, a
    retry wrapper, a dict per message), as much again as the socket's send: with a message per
    status that was half the web process's CPU in a burst. This reads everything one socket read
    brought at once."""
    frames: list[Frame] = []
    size, position = len(buffer), 0
    while position < size:
        start = position
        if buffer[position] != 42:  # "*"
            raise ConnectionError(f"Unexpected reply on the push subscription: {buffer[:80]!r}")
        end = buffer.find(b"\r\n", position)
        if end < 0:
            break
        items: list[bytes | int] = []
        position = end + 2
        for _ in range(int(buffer[start + 1 : end])):
            end = buffer.find(b"\r\n", position)
            if end < 0:
                break
            if buffer[position] == 36:  # "$": a bulk string of the given length
                length = int(buffer[position + 1 : end])
                if end + 4 + length > size:
                    break
                items.append(buffer[end + 2 : end + 2 + length])
                position = end + 4 + length
            else:  # ":": an integer
                items.append(int(buffer[position + 1 : end]))
                position = end + 2
        else:
            if len(items) == 3 and isinstance(items[0], bytes) and isinstance(items[1], bytes):
                frames.append((items[0], items[1], items[2]))
            continue
        return frames, start  # incomplete: the rest comes with the next read
    return frames, position


def _start(push: Coroutine[Any, Any, None]) -> Awaitable[None] | None:
    """Run `push` until it first has to wait: None if it finished, else an awaitable for the
    rest of it. What the push raises, this raises.

    asyncio.eager_task_factory (3.12) does the same for whole tasks; here it spares a task per
    socket per push, which at 5,000 sockets cost more than the sends themselves."""
    try:
        waiting_on = push.send(None)
    except StopIteration:
        return None
    return _Resumed(push, waiting_on)


class _Resumed:
    """The rest of a coroutine that `_start` ran up to its first wait, awaitable in a task."""

    def __init__(self, coro: Coroutine[Any, Any, None], waiting_on: Any) -> None:
        self._coro, self._waiting_on = coro, waiting_on

    def __await__(self) -> Generator[Any, Any, None]:
        coro, waiting_on = self._coro, self._waiting_on
        while True:
            try:
                sent = yield waiting_on
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # cancellation included: passed on to the push
                try:
                    waiting_on = coro.throw(exc)
                except StopIteration:
                    return
            else:
                try:
                    waiting_on = coro.send(sent)
                except StopIteration:
                    return


hub = Hub()


class Publisher:
    """What the engine pushes through: Redis when configured, else this process's hub."""

    def __init__(self, url: str | None = None) -> None:
        self.url = redis_url() if url is None else url
        self._client: Any = None
        self._script: Any = None

    async def publish(self, statuses: list[dict[str, Any]]) -> bool:
        if not statuses:
            return True
        if not self.url:
            await hub.deliver(statuses)
            return True
        try:
            if self._client is None:
                import redis.asyncio as redis

                self._client = redis.from_url(self.url, protocol=2)
                self._script = self._client.register_script(PUBLISH_EACH)
            # One PUBLISH per status on its account's channel (Redis drops those nobody holds),
            # CHUNK of them in one script call: a pipeline of single PUBLISHes cost the engine
            # five times the CPU (68 ms against 14 ms for 5,000 statuses), packing and parsing
            # a command and a reply per status. Each status's JSON is the one it was built with
            # (``_line``), and a chunk is sent as soon as it is joined, so the web processes
            # hand out the first statuses of a market-wide burst while the rest are sent.
            prefix = f"{pubsub_name(CHANNEL, self.url)}:"
            for start in range(0, len(statuses), CHUNK):
                lines = b"\n".join([_line(s) for s in statuses[start : start + CHUNK]])
                await self._script(args=[prefix, lines])
        except Exception:
            # Redis restarting: the statuses are in the cache (or will be); browsers resync.
            logger.warning("Live push publish failed; clients will resync", exc_info=True)
            self._client = None
            return False
        return True
