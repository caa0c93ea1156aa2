"""A live ASGI server (uvicorn, HTTP and WebSockets) and Debian's Chromium driven by Playwright.

The clocks: uvicorn serves from a thread of the test process, so it runs on the session's clock
(`--at`) or a test's own `time_machine` instant like the rest of the code. Chromium is a separate
process; its pages get the same instant through Playwright's clock, still ticking, so what the
scripts count down to (a margin-call deadline, an SLA due) agrees with the server. Cookies carry
Max-Age, which Chromium counts on its own clock, so a session opened "in 2027" lasts as long as
it should.
"""

import os
import socket
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason=f"needs Debian's Chromium at {CHROMIUM}")
    for item in items:
        if "e2e" in item.keywords and not Path(CHROMIUM).exists():
            item.add_marker(skip)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def live_portal(django_db_serialized_rollback, transactional_db):
    """The real ASGI application served by uvicorn on loopback, on the test database.

    The server thread needs committed data, so these tests run outside a transaction and the tables
    are flushed after each; the serialized rollback puts back what the migrations wrote (staff
    roles, SLA policies, disclosure documents) before the next one.
    """
    import uvicorn
    from channels.layers import channel_layers

    from portal.asgi import application
    from portal.websocket_protocol import PROTOCOL

    # Each server runs its own event loop, and a channel layer is one process-wide object: if a
    # consumer of the previous server was still receiving when its loop stopped, channels_redis
    # counts it as receiving still, and every consumer on the new loop fails ("Two event loops are
    # trying to receive() on one channel layer at once!"): its group messages (the notice bell,
    # the risk board's alerts) never arrive. So each server starts with a layer of its own.
    channel_layers.backends.clear()
    port = _free_port()
    config = uvicorn.Config(
        application,
        host="127.0.0.1",
        port=port,
        lifespan="off",
        log_level="warning",
        ws=PROTOCOL,  # as the Procfile runs it: pushes written as ready frames
        ws_per_message_deflate=False,
        # Open sockets are cancelled after this long at shutdown, rather than waited for.
        timeout_graceful_shutdown=3,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    channel_layers.backends.clear()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls browser tests make
    # from it are ordinary blocking calls, which Django would otherwise refuse. Only while browser
    # tests run (they run last), so every other test keeps Django's async-safety checks.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def page(browser, live_portal):
    context = browser.new_context(base_url=live_portal, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(15_000)
    if time_machine.escape_hatch.is_travelling():
        context.clock.install(time=datetime.now(UTC))
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    page.console_errors = errors
    yield page
    context.close()


def seed_demo() -> None:
    """`seed_demo`'s data, loaded from another thread: Playwright keeps an event loop on this
    one, where the demo's in-app pushes (async_to_sync) would refuse to run."""
    from django.db import connection

    from portal import demo

    failure: list[BaseException] = []

    def seed() -> None:
        try:
            demo.seed()
        except BaseException as exc:  # handed to the test below
            failure.append(exc)
        finally:
            connection.close()

    worker = threading.Thread(target=seed)
    worker.start()
    worker.join()
    if failure:
        raise failure[0]


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
