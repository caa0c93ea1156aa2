"""A real Redis restart: the hub's subscription comes back and pushes flow again."""

import asyncio
import shutil
import socket
import subprocess
import threading
import time

import pytest

from margin.push import Hub, Publisher

pytestmark = pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_redis(port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return process
        time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


class Socket:
    def __init__(self) -> None:
        self.received: list[str] = []

    async def push_text(self, text: str) -> None:
        self.received.append(text)


def test_pushes_resume_after_redis_restarts(settings):
    port = _free_port()
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
    redis = _start_redis(port)
    hub, socket_ = Hub(), Socket()

    async def scenario():
        publisher = Publisher()
        hub.join(7, socket_)
        await hub.wait_subscribed()
        await publisher.publish([{"account_id": 7, "seq": 1}])
        await asyncio.sleep(0.3)
        redis.terminate()
        redis.wait(timeout=10)
        failed = await publisher.publish([{"account_id": 7, "seq": 2}])  # lost: Redis is down
        for _ in range(100):  # until the hub has noticed the drop
            if not hub.subscribed.is_set():
                break
            await asyncio.sleep(0.05)
        restarted = _start_redis(port)
        await hub.wait_subscribed(timeout=20)
        await publisher.publish([{"account_id": 7, "seq": 3}])
        await asyncio.sleep(0.3)
        await hub.stop()
        return failed, restarted

    # In a thread of its own: a browser test earlier in the run may own this thread's loop.
    outcome = {}
    thread = threading.Thread(target=lambda: outcome.update(result=asyncio.run(scenario())))
    thread.start()
    thread.join(timeout=60)
    failed, restarted = outcome["result"]
    try:
        assert failed is False
        assert socket_.received == ['{"account_id":7,"seq":1}', '{"account_id":7,"seq":3}']
    finally:
        restarted.terminate()
        restarted.wait(timeout=10)
