"""Live status fan-out: one Redis subscription per web process, delivered in-process.

The obvious Channels design — every socket joins ``margin.account.<id>`` on the channel layer and
the engine does a ``group_send`` per account — costs a Redis round trip per socket per push and a
Redis connection per joining socket. Measured with ``bench/ws_fanout.py`` at 5,000 sockets it
delivered 7% of the pushes with p50 2.5 s, and the joins exhausted the connection pool. So, as
DESIGN.md suggests:

- the engine publishes each step's statuses, serialised once, as a few messages on the Redis
  channel ``margin:push`` (one line per status: the account id, then the JSON);
- every web process holds one subscription (``Hub``) and hands each line's JSON, untouched, to
  the sockets of that account open in this process;
- without Redis (embedded mode) the engine hands the statuses to the hub directly, on the same
  event loop.

The hub's key is the account id, which a consumer takes from the session only. If the
subscription drops (Redis restarting) the hub retries at once and then every second at most
(``RETRY_DELAYS``): a refused connection costs nothing, and pushes resume within about a second of
Redis answering again, where a doubling back-off to 10 s left clients on polling for up to 10 s.
The browsers notice the gap in sequence numbers and ask for a snapshot, and poll ``status.json``
while their socket is down.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
from collections import deque
from collections.abc import Awaitable, Coroutine, Generator, Iterable
from typing import Any, Protocol

from django.conf import settings

logger = logging.getLogger(__name__)

CHANNEL = "margin:push"
CHUNK = 500  # statuses per published message
# Seconds between attempts to subscribe again; the last one repeats.
RETRY_DELAYS = (0.1, 0.2, 0.5, 1.0)
# Pushes kept for a socket that cannot take them yet (a few seconds of statuses).
BACKLOG = 8


class Socket(Protocol):
    async def push_text(self, text: str) -> None: ...


def redis_url() -> str:
    return getattr(settings, "REDIS_URL", "") or ""


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _encode(statuses: Iterable[dict[str, Any]]) -> str:
    # One line per status, the account id first, so a web process forwards the JSON (which has
    # no raw newlines) to its sockets without decoding or re-encoding it.
    return "\n".join(f"{int(s['account_id'])} {_dumps(s)}" for s in statuses)


class Hub:
    """The sockets of this process by account id, and the subscription that feeds them."""

    def __init__(self) -> None:
        self._sockets: dict[int, set[Socket]] = {}
        self._listener: asyncio.Task | None = None
        self._listener_loop: asyncio.AbstractEventLoop | None = None
        self.subscribed = asyncio.Event()
        self.delivered = 0
        # Pushes waiting behind a socket that applies back-pressure, and the tasks sending them.
        self._backlogs: dict[Socket, deque[str]] = {}
        self._finishing: set[asyncio.Task] = set()

    def join(self, account_id: int, socket: Socket) -> None:
        self._sockets.setdefault(account_id, set()).add(socket)
        self._ensure_listening()

    def leave(self, account_id: int, socket: Socket) -> None:
        sockets = self._sockets.get(account_id)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self._sockets[account_id]

    def watching(self, account_id: int) -> int:
        return len(self._sockets.get(account_id, ()))

    async def deliver(self, statuses: Iterable[dict[str, Any]]) -> None:
        """Send each status to this process's sockets of its account."""
        await self.deliver_encoded(_encode(statuses))

    async def deliver_encoded(self, message: str) -> None:
        """Lines of ``<account id> <status JSON>``: only the id is parsed, the JSON is passed on.

        No socket waits for another (see ``_push``), and the collector waits for the burst: a
        full collection over thousands of sockets' objects landing inside the loop added tens of
        milliseconds to everyone behind it (DESIGN.md, facts measured)."""
        collecting = gc.isenabled()
        gc.disable()
        try:
            for line in message.split("\n"):
                account_id, _, text = line.partition(" ")
                sockets = self._sockets.get(int(account_id)) if account_id.isdigit() else None
                if not sockets:
                    continue
                for socket in tuple(sockets):
                    self._push(socket, text)
        finally:
            if collecting:
                gc.enable()

    def _push(self, socket: Socket, text: str) -> None:
        """Hand `text` to `socket` now if it takes it without waiting, else queue it behind that
        socket's earlier pushes.

        A socket's send completes at once while its transport takes data, which is nearly always;
        awaiting each in turn cost nothing then, but one client with a full buffer (a phone in a
        tunnel) held every socket after it until it drained. So each push is started eagerly and
        only one that actually has to wait becomes a task; later pushes to that socket queue
        behind it in order, at most ``BACKLOG`` of them (older ones dropped: the client sees the
        gap in sequence numbers and asks for a snapshot)."""
        backlog = self._backlogs.get(socket)
        if backlog is not None:
            backlog.append(text)
            return
        try:
            waiting = _start(socket.push_text(text))
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
        self._listener = loop.create_task(self._listen(url))

    async def _listen(self, url: str) -> None:
        import redis.asyncio as redis

        failures = 0
        while True:
            # A short connect timeout: an unreachable host must not stretch the retry interval.
            client = redis.from_url(url, socket_connect_timeout=1, socket_keepalive=True)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    self.subscribed.set()
                    failures = 0
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            await self.deliver_encoded(message["data"].decode())
            except asyncio.CancelledError:
                raise
            except Exception:
                self.subscribed.clear()
                delay = RETRY_DELAYS[min(failures, len(RETRY_DELAYS) - 1)]
                failures += 1
                if failures == 1 or failures % 60 == 0:  # not a line a second through an outage
                    logger.warning("Live push subscription lost; retrying every %.1f s", delay)
                await asyncio.sleep(delay)
            finally:
                await client.aclose()

    async def wait_subscribed(self, timeout: float = 5) -> None:
        """For tests and benchmarks: until the subscription is live (no-op without Redis)."""
        if redis_url():
            await asyncio.wait_for(self.subscribed.wait(), timeout)

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
            self._listener = None


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
        self._client = None

    async def publish(self, statuses: list[dict[str, Any]]) -> bool:
        if not statuses:
            return True
        if not self.url:
            await hub.deliver(statuses)
            return True
        try:
            if self._client is None:
                import redis.asyncio as redis

                self._client = redis.from_url(self.url)
            async with self._client.pipeline(transaction=False) as pipe:
                for start in range(0, len(statuses), CHUNK):
                    pipe.publish(CHANNEL, _encode(statuses[start : start + CHUNK]))
                await pipe.execute()
        except Exception:
            # Redis restarting: the statuses are in the cache (or will be); browsers resync.
            logger.warning("Live push publish failed; clients will resync", exc_info=True)
            self._client = None
            return False
        return True
