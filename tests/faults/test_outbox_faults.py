"""Real faults while the outbox delivers: a worker killed, Redis restarted, PostgreSQL stopped.

Each scenario runs the Procfile's processes with the production settings against throw-away
services (tests/faults/harness.py), writes 200 notices (100 emails, 100 SMS) and injects its fault
a quarter of the way through. The providers take 100 ms a message and deliver each idempotency key
once, as a provider honouring the keys does. Counted: created, delivered once, doubled, lost,
resends the providers absorbed, and the time from the fault to the last row marked sent (printed
at the end of the run; bench/outbox_faults.py runs bigger ones).
"""

import json
import time
import urllib.error
import urllib.request
from email.message import Message

import pytest

from tests.faults import harness
from tests.faults.conftest import FIGURES

# django_db: the suite's test database must exist, its schema is copied to the throw-away one.
pytestmark = [
    pytest.mark.services,
    pytest.mark.faults,
    pytest.mark.wallclock,
    pytest.mark.django_db,
]

# One alert a user, by email and SMS: 200 notices, and a phone that gets two texts got a double.
USERS, ALERTS = 100, 1
DRAIN_DEADLINE = 120  # seconds; a failure to drain at all, not a speed limit (see bench/)


def sinks_delivered(env) -> int:
    return env.smtp.delivered + env.sms.delivered


def enqueue(portal, tag: str) -> int:
    created = portal.drive("enqueue", "--tag", tag, "--users", str(USERS), "--alerts", str(ALERTS))
    return created["created"]


def settle(env, portal, created: int, fault_at: float, scenario: str) -> harness.Outcome:
    try:
        harness.wait_for(
            lambda: harness.drained(env.pg, env.smtp, env.sms, created),
            DRAIN_DEADLINE,
            "every notice delivered and marked sent",
            interval=0.25,
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{portal.logs()}") from None
    result = harness.outcome(env.pg, env.smtp, env.sms, fault_at)
    FIGURES.append(result.line(scenario))
    return result


def test_a_worker_killed_mid_delivery_loses_nothing_and_doubles_nothing(fault_env, portal):
    portal.worker("first")
    portal.beat()
    created = enqueue(portal, "kill")
    harness.wait_for(lambda: sinks_delivered(fault_env) >= created // 4, 90, "deliveries begin")
    # Hold the providers' answers until the worker has messages they took but did not confirm,
    # then kill it whole: those rows are the ones that used to go out twice.
    fault_env.smtp.hold()
    fault_env.sms.hold()
    # Generous: on a loaded 2-core machine the worker may take a while to reach its next send.
    harness.wait_for(
        lambda: fault_env.smtp.in_flight + fault_env.sms.in_flight >= 2, 60, "sends in flight"
    )
    portal.kill("first")
    fault_at = time.time()
    fault_env.smtp.release()
    fault_env.sms.release()
    portal.worker("replacement")  # what a supervisor does

    result = settle(fault_env, portal, created, fault_at, "worker killed mid-delivery")
    assert result.created == 2 * USERS * ALERTS
    assert (result.delivered_once, result.doubled, result.lost) == (result.created, 0, 0)
    assert result.resends_absorbed >= 2  # the kill did land between "taken" and "marked sent"


def test_a_redis_restart_that_wipes_the_queue_loses_nothing(fault_env, portal):
    portal.worker("worker")
    portal.beat()
    web = portal.web()
    [session] = portal.drive("login", "--tag", "redis", "--users", "1")["sessions"]
    created = enqueue(portal, "redis")
    harness.wait_for(lambda: sinks_delivered(fault_env) >= created // 4, 90, "deliveries begin")
    # Tasks still running when Redis goes (their messages unacknowledged): the worker's reconnect
    # has to close a channel with unacked messages and to ack those tasks afterwards. kombu did
    # both through a released transport and the worker shut down (portal/broker.py).
    fault_env.smtp.hold()
    fault_env.sms.hold()
    harness.wait_for(
        lambda: fault_env.smtp.in_flight + fault_env.sms.in_flight >= 2, 60, "sends in flight"
    )
    fault_env.redis.kill()  # no persistence: the broker's queue and the unacked tasks are gone
    fault_at = time.time()
    refused = notice_socket_close_code(web, session)
    harness.wait_for(
        lambda: "Connection to broker lost" in portal.log("worker"), 30, "the worker to notice"
    )
    time.sleep(3)  # the worker's reconnect attempts find Redis still away
    fault_env.redis.start()
    time.sleep(3)  # and the tasks finish once it is back
    fault_env.smtp.release()
    fault_env.sms.release()

    result = settle(fault_env, portal, created, fault_at, "Redis restarted, queue wiped")
    assert result.created == 2 * USERS * ALERTS
    assert (result.delivered_once, result.doubled, result.lost) == (result.created, 0, 0)
    # The same worker delivered the rest: it reconnected instead of shutting down.
    assert portal.processes["worker"].poll() is None, portal.logs()
    assert "Unrecoverable error" not in portal.log("worker"), portal.logs()
    # A socket opened while Redis was away was refused cleanly, for the browser to retry.
    assert refused == 1013


def test_a_database_stopped_for_a_few_seconds_loses_nothing_and_pages_say_503(fault_env, portal):
    portal.worker("worker")
    portal.beat()
    web = portal.web()
    [session] = portal.drive("login", "--tag", "db", "--users", "1")["sessions"]
    created = enqueue(portal, "db")
    harness.wait_for(lambda: sinks_delivered(fault_env) >= created // 4, 90, "deliveries begin")
    fault_env.pg.stop("fast")
    fault_at = time.time()
    page = get(web, "/notices/", session)
    ready = get(web, "/readyz")
    time.sleep(3)
    fault_env.pg.start()

    result = settle(fault_env, portal, created, fault_at, "PostgreSQL stopped for ~4 s")
    assert result.created == 2 * USERS * ALERTS
    assert (result.delivered_once, result.doubled, result.lost) == (result.created, 0, 0)
    status, headers, body = page
    assert status == 503, (status, body[:3000], portal.logs())
    assert headers["Retry-After"] == "30"
    assert "您的数据是安全的" in body
    assert ready[0] == 503
    assert json.loads(ready[2])["checks"]["database"] == {"ok": False, "error": "OperationalError"}
    assert get(web, "/notices/", session)[0] == 200  # and back to normal


def get(port: int, path: str, session: str | None = None) -> tuple[int, Message, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if session:
        request.add_header("Cookie", f"sessionid={session}")
    try:
        with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


def notice_socket_close_code(port: int, session: str) -> int | None:
    """Open /ws/notices/ as a signed-in browser would; the code the server closes it with."""
    from websockets.exceptions import ConnectionClosed, InvalidStatus
    from websockets.sync.client import connect

    try:
        with connect(
            f"ws://127.0.0.1:{port}/ws/notices/",
            origin=f"http://127.0.0.1:{port}",
            additional_headers={"Cookie": f"sessionid={session}"},
            open_timeout=20,
        ) as socket:
            socket.recv(timeout=20)
    except InvalidStatus as refused:  # the handshake failed: what a 500 looks like
        return refused.response.status_code
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
    except TimeoutError:
        return None
    return None
