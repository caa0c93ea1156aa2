"""Personas, the session clock, and the rule that, in CI, service-backed tests may not be skipped.

alice and bob are clients; carol is an agent, dave a KYC reviewer, erin a risk officer, frank
compliance. With REQUIRE_SERVICES=1 (set by .ci/run) a skipped `services` or `e2e` test, or a run
not on PostgreSQL, fails the session.

`--at=2027-02-10T10:30+08:00` starts the whole session at that instant with the clock ticking from
there, so the suite can be shown to pass on any day: the year end, inside a holiday closure, a
Friday after the close. Everything that reads the clock in this process moves with it, including
the threads the suite starts (the uvicorn server of the browser tests, the Celery worker of
tests/notices/test_celery_worker.py); tests/e2e/conftest.py moves the pages' clock in Chromium.
What cannot be moved never decides a date here: PostgreSQL and Redis are only given instants from
this process or relative expiries, and Chromium counts cookies' Max-Age on its own clock.

A test that depends on a date travels to its own instant on top of the session's:
`@pytest.mark.time_machine(instant, tick=False)`, so that its fixtures (a login, an account opened)
happen at that instant too, which a `time_machine.travel` decorator on the function would not do.
"""

import os
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings

from tests.factories import UserFactory

SERVICES_AVAILABLE = bool(os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"))
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
_outcomes: dict[str, list[str]] = {"passed": [], "skipped": [], "failed": []}
SHANGHAI = ZoneInfo("Asia/Shanghai")
BEIJING_OFFSET = timezone(timedelta(hours=8))
_session_clock = pytest.StashKey[time_machine.travel]()
# Seconds spent per test file (setup, call and teardown), written where PYTEST_FILE_TIMES says at
# the end of a session: tests/sessions.sh balances its sessions by tests/file-times.txt.
_file_seconds: dict[str, float] = {}


def pytest_addoption(parser):
    parser.addoption(
        "--at",
        metavar="INSTANT",
        default=None,
        help="start the session at this ISO 8601 instant, the clock ticking from there, e.g. "
        "--at=2027-02-10T10:30+08:00 (an instant without an offset is Beijing time)",
    )


def parse_instant(text: str) -> datetime:
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise pytest.UsageError(
            f"--at={text!r} is not an ISO 8601 instant such as 2027-02-10T10:30+08:00"
        ) from None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=SHANGHAI)
    # A fixed offset, not a zone name, which time-machine would also set as TZ for the process.
    return instant.astimezone(BEIJING_OFFSET)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    text = config.getoption("--at")
    if not text:
        return
    clock = time_machine.travel(parse_instant(text), tick=True)
    clock.start()
    config.stash[_session_clock] = clock


def pytest_unconfigure(config):
    clock = config.stash.get(_session_clock, None)
    if clock is not None:
        clock.stop()


def pytest_report_header(config):
    text = config.getoption("--at")
    if text:
        return f"clock: the session started at {parse_instant(text).isoformat()} (ticking)"
    return None


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason="needs DATABASE_URL and REDIS_URL (real PostgreSQL and Redis)")
    for item in items:
        if "services" in item.keywords and not SERVICES_AVAILABLE:
            item.add_marker(skip)
    if config.getoption("--at"):
        # Tests marked wallclock run real processes (a Celery worker killed and restarted, a
        # database stopped, a child pytest on SQLite) that keep the wall clock while this process
        # travels: a lease written by one and read by the other would be months off. They run on
        # the wall clock only (make test, CI's first session).
        moved = [item for item in items if "wallclock" in item.keywords]
        if moved:
            config.hook.pytest_deselected(items=moved)
            items[:] = [item for item in items if "wallclock" not in item.keywords]
            print(f"\n--at: {len(moved)} wallclock tests deselected (processes on real time)")
    # Browser tests last: Playwright's sync API keeps an event loop on the main thread for the rest
    # of the session, and code under test that calls async_to_sync there would then refuse to run.
    items.sort(key=lambda item: "e2e" in item.keywords)


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::", 1)[0]
    _file_seconds[path] = _file_seconds.get(path, 0.0) + report.duration
    keywords = report.keywords
    if "services" not in keywords and "e2e" not in keywords:
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        _outcomes[report.outcome].append(report.nodeid)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    header = pytest_report_header(config)
    if header:
        terminalreporter.write_line(header)
    vendor = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    layer = settings.CHANNEL_LAYERS["default"]["BACKEND"].rsplit(".", 1)[-1]
    passed = terminalreporter.stats.get("passed", [])
    terminalreporter.write_line(
        f"backing services: database={vendor} cache={settings.CACHES['default']['BACKEND']} "
        f"channel layer={layer} broker={settings.CELERY_BROKER_URL.split(':')[0]}; "
        f"{len(passed)} tests passed on them, {len(_outcomes['passed'])} of them marked "
        "services/e2e"
    )


def pytest_sessionfinish(session, exitstatus):
    times = os.environ.get("PYTEST_FILE_TIMES")
    if times and _file_seconds:
        with open(times, "w", encoding="utf-8") as out:
            for path, seconds in sorted(_file_seconds.items()):
                out.write(f"{seconds:.1f} {path}\n")
    if not REQUIRE_SERVICES or exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        return  # nothing selected (a browser session given a folder without browser tests)
    problems = []
    if not SERVICES_AVAILABLE:
        problems.append("DATABASE_URL and REDIS_URL must be set")
    if "postgresql" not in settings.DATABASES["default"]["ENGINE"]:
        problems.append("the suite did not run on PostgreSQL")
    if _outcomes["skipped"]:
        problems.append(f"{len(_outcomes['skipped'])} service-backed tests were skipped")
    if not _outcomes["passed"] and not _outcomes["failed"]:
        problems.append("no service-backed test ran")
    if problems:
        print("\nREQUIRE_SERVICES: " + "; ".join(problems))
        for nodeid in _outcomes["skipped"]:
            print(f"  skipped: {nodeid}")
        session.exitstatus = 1


@pytest.fixture
def one_rate_window():
    """The clock held still, for a test that counts tries up to a rate limit and then expects a
    refusal: the limits count in fixed windows of wall-clock time (accounts.ratelimits.hit), so
    a window ending between the tries and the refusal started the count again (seen at a quarter
    past the hour). Held at the moment the test runs, whatever the date."""
    with time_machine.travel(datetime.now(UTC), tick=False):
        yield


@pytest.fixture(autouse=True)
def _isolated_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def client_alice(db):
    return UserFactory(
        email="alice@example.test", full_name="林岚", phone="13800000001", phone_verified=True
    )


@pytest.fixture
def client_bob(db):
    return UserFactory(email="bob@example.test", full_name="Bob Wang", language="en")


@pytest.fixture
def agent_carol(db):
    return UserFactory(email="carol@example.test", full_name="陈可", role="agent")


@pytest.fixture
def compliance_frank(db):
    return UserFactory(email="frank@example.test", full_name="方正", role="compliance")


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters and used TOTP codes live in the cache: start every test with none."""
    from django.core.cache import cache

    if settings.CACHES["default"]["BACKEND"].endswith("RedisCache"):
        client = cache._cache.get_client(write=True)
        for key in client.scan_iter(f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:*"):
            client.delete(key)
    else:
        cache.clear()


@pytest.fixture(autouse=True)
def _no_watch_marks():
    """Accounts marked as watched (margin.watching), and the margin sockets this process counts
    open (a test that never closed its socket leaves one): without Redis these live in the
    process, where a rolled-back test's account id comes back in the next test as watched."""
    from margin import watching

    watching._expiry.clear()
    watching._local.clear()
