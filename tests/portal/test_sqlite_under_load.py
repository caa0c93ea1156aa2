"""SQLite as a real embedded database: the risk engine writes at its normal rate while twenty
clients confirm the gate, withdraw, reply to tickets and accept a disclosure change, all at once,
on a file database, as `make run` has it. Not one request fails.

When the suite runs on PostgreSQL this test runs itself again in a child process without
DATABASE_URL, so it always runs on SQLite.
"""

import asyncio
import html
import logging
import os
import re
import subprocess
import sys
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, connections
from django.test import Client

from disclosures import services as disclosure_services
from disclosures.models import Acknowledgement, ChangeNotice
from education import rules
from education.models import GateConfirmation
from funds.models import WithdrawalRequest
from margin import demo as margin_demo
from margin.models import Instrument
from support.models import Message
from tests.disclosures import factories as disclosure_factories
from tests.education import factories as education
from tests.factories import PASSWORD
from tests.funds.factories import bank_account, funded_account, verified_client
from tests.support.factories import open_ticket

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = 20
ROUNDS = 3  # withdrawals and replies each client makes after confirming and accepting
ENGINE_STEPS = 10  # the clients keep going until the engine has stepped at least this often


def on_sqlite() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")


@pytest.mark.wallclock  # the child process runs on the real clock, whatever --at says
@pytest.mark.skipif(on_sqlite(), reason="runs in-process below")
def test_on_sqlite_in_a_child_process_when_the_suite_runs_on_postgresql():
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "REQUIRE_SERVICES")
        and not k.startswith("PYTEST_")
    }
    result = subprocess.run(
        [sys.executable, "-m", "pytest", __file__, "-q", "-p", "no:cacheprovider", "-x"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert "1 passed" in result.stdout


def hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page) or re.search(
        rf'value="([^"]*)"[^>]*name="{name}"', page
    )
    assert match, f"no {name} on the page"
    return html.unescape(match.group(1))


class Engine:
    """The embedded risk engine on its own event loop, at the normal tick rate."""

    def __init__(self) -> None:
        from margin.embedded import build_feed
        from margin.runner import RiskRunner

        self.steps = 0
        self.stop_event: asyncio.Event | None = None
        runner = RiskRunner(
            feed=build_feed("simulated"), push_interval=settings.MARGIN_PUSH_INTERVAL
        )
        original = runner.step

        def counted_step(now=None):
            result = original(now)
            self.steps += 1
            return result

        runner.step = counted_step
        self.runner = runner
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.stop_event = asyncio.Event()
        try:
            self.loop.run_until_complete(
                self.runner.run(self.stop_event, tick_interval=settings.MARGIN_TICK_SECONDS)
            )
        finally:
            connections.close_all()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        while self.stop_event is None:
            pass
        self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(timeout=30)


def build_world():
    """Twenty clients each one step from every action, and an engine's market to move."""
    for code, name_zh, name_en, price, sector in margin_demo.INSTRUMENTS:
        Instrument.objects.get_or_create(
            code=code,
            defaults={
                "name_zh": name_zh,
                "name_en": name_en,
                "previous_close": Decimal(price),
                "last_price": Decimal(price),
                "sector": sector,
            },
        )
    education.documents_in_force(min_seconds=30)
    education.course()
    people = []
    for n in range(CLIENTS):
        client = verified_client(f"客户{n}", email=f"client{n}@example.test")
        education.rate(client)
        education.pass_quiz(client)
        reading = education.read_warning(client)
        account = funded_account(
            client, cash="400000.00", debt="150000.00", holdings=[("300750.SZ", 1000, "268.00")]
        )
        bank = bank_account(client, number=f"62220202001122{n:05d}")
        ticket = open_ticket(client, subject=f"问题 {n}")
        people.append({"user": client, "reading": reading, "account": account, "bank": bank,
                       "ticket": ticket})  # fmt: skip
    compliance = disclosure_factories.staff("compliance", email="maker@example.test")
    checker = disclosure_factories.staff("compliance", email="checker@example.test")
    change = disclosure_factories.approved_change(
        maker=compliance, checker=checker, items=disclosure_factories.fees(tier2="0.086000")
    )
    disclosure_services.version_schedule(
        actor=compliance, version=change, effective_at=disclosure_factories.days_from_now(31)
    )
    for person in people:
        person["notice"] = ChangeNotice.objects.get(client=person["user"], version=change)
    return people


def act(person: dict, engine: Engine, errors: list[str]) -> None:
    """One client's journey through the four writes, then more while the engine keeps going."""
    client = Client(raise_request_exception=False)
    client.force_login(person["user"])

    def expect(response, method: str, url: str, status: int = 302) -> str:
        if response.status_code != status:
            errors.append(f"{person['user'].email} {method} {url}: {response.status_code}")
        if response.streaming:
            return b"".join(response.streaming_content).decode(errors="replace")
        return response.content.decode(errors="replace")

    try:
        reading = person["reading"]
        url = f"/education/warning/{reading.token}/confirm/"
        page = expect(client.get(url), "GET", url, 200)
        response = client.post(
            url,
            {
                "version_id": hidden(page, "version_id"),
                "typed": rules.sentence_for(reading.language),
                "password": PASSWORD,
            },
        )
        expect(response, "POST", url)
        confirmation = response.get("Location", "")
        expect(client.get(confirmation), "GET", confirmation, 200)
        expect(client.get(confirmation + "receipt.pdf"), "GET", "receipt", 200)

        url = f"/disclosures/changes/{person['notice'].pk}/"
        page = expect(client.get(url), "GET", url, 200)
        answer = {"decision": "accepted", "shown_hash": hidden(page, "shown_hash")}
        expect(client.post(url + "answer/", answer), "POST", url + "answer/")

        for round_ in range(ROUNDS * 100):
            if round_ >= ROUNDS and engine.steps >= ENGINE_STEPS:
                break
            page = expect(client.get("/funds/"), "GET", "/funds/", 200)
            withdrawal = {
                "bank_account": person["bank"].pk,
                "amount": "100.00",
                "token": hidden(page, "token"),
            }
            expect(client.post("/funds/withdraw/", withdrawal), "POST", "/funds/withdraw/")
            url = f"/support/{person['ticket'].pk}/reply/"
            expect(client.post(url, {"body": f"补充说明 {round_}"}), "POST", url)
            expect(client.get("/margin/"), "GET", "/margin/", 200)
    except Exception as exc:  # any failure is the finding
        errors.append(f"{person['user'].email}: {type(exc).__name__}: {exc}")
    finally:
        connection.close()


@pytest.mark.skipif(not on_sqlite(), reason="the child process runs it on SQLite")
def test_twenty_clients_write_while_the_engine_ticks_and_nothing_fails(transactional_db, caplog):
    assert "memory" not in str(connection.settings_dict["NAME"]), "a file database, as in make run"
    assert connection.cursor().execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    people = build_world()
    errors: list[str] = []
    with caplog.at_level(logging.WARNING), Engine() as engine:
        threads = [threading.Thread(target=act, args=(p, engine, errors)) for p in people]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=600)
    assert not errors, "\n".join(errors)
    assert engine.steps >= ENGINE_STEPS
    engine_trouble = [r.getMessage() for r in caplog.records if r.name.startswith("margin")]
    server_errors = [r.getMessage() for r in caplog.records if r.name == "django.request"]
    assert not engine_trouble and not server_errors, engine_trouble + server_errors

    assert GateConfirmation.objects.exclude(receipt_sha256="").count() == CLIENTS
    accepted = Acknowledgement.objects.filter(
        decision="accepted", client__email__startswith="client"
    )
    assert accepted.count() == CLIENTS
    assert WithdrawalRequest.objects.filter(status="paid").count() >= CLIENTS * ROUNDS
    assert Message.objects.filter(kind="client", body__startswith="补充说明").count() >= (
        CLIENTS * ROUNDS
    )
    assert Instrument.objects.filter(last_price_at__isnull=False).exists()
