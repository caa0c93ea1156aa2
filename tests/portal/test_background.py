"""Background work never silently dies: a task that fails inline is logged loudly and queued again
by the stuck-work sweep; a document found missing or altered when asked for is rendered again."""

import asyncio
import logging
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.storage import default_storage
from django.db import OperationalError
from django.urls import reverse

from disclosures import pdf as disclosure_pdf
from education import pdf as education_pdf
from education.models import GateConfirmation
from funds import statements
from margin import services as margin_services
from margin.models import LiquidationPlan
from notices.models import Notification
from portal import background, embedded, tasks
from portal.celery import app as celery_app
from tests.education import factories as education
from tests.funds.factories import funded_account, verified_client

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
CONFIRMED = datetime(2026, 3, 10, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def as_in_embedded_mode():
    """`make run` runs tasks inline without propagating their errors to the request."""
    celery_app.conf.task_eager_propagates = False
    yield
    celery_app.conf.task_eager_propagates = True


@pytest.fixture
def confirmed_gate(django_capture_on_commit_callbacks):
    """The gate passed; its receipt task runs after commit, as in a request."""

    def confirm():
        education.documents_in_force()
        education.course()
        user = education.client()
        with django_capture_on_commit_callbacks(execute=True):
            return education.through_gate(user)

    return confirm


def test_a_receipt_that_failed_inline_is_logged_and_rendered_by_the_next_sweep(
    as_in_embedded_mode, confirmed_gate, monkeypatch, caplog
):
    real_render = education_pdf.render_receipt

    def locked(confirmation):
        raise OperationalError("database is locked")

    monkeypatch.setattr(education_pdf, "render_receipt", locked)
    with time_machine.travel(CONFIRMED, tick=False), caplog.at_level(logging.ERROR):
        confirmation = confirmed_gate()
    assert confirmation.pk and not GateConfirmation.objects.get(pk=confirmation.pk).receipt_path
    assert "BACKGROUND TASK FAILED: education.tasks.render_receipt" in caplog.text
    assert "database is locked" in caplog.text

    monkeypatch.setattr(education_pdf, "render_receipt", real_render)
    with time_machine.travel(CONFIRMED + timedelta(seconds=30), tick=False):
        tasks.requeue_stuck_work()  # not stuck yet: the render may still be under way
    assert not GateConfirmation.objects.get(pk=confirmation.pk).receipt_path
    with time_machine.travel(CONFIRMED + background.stuck_after() + timedelta(seconds=1)):
        tasks.requeue_stuck_work()
    confirmation.refresh_from_db()
    assert default_storage.exists(confirmation.receipt_path)
    assert Notification.objects.filter(
        recipient=confirmation.user, key="gate_confirmation", channel="email"
    ).exists()


@pytest.mark.parametrize("damage", ["deleted", "altered"])
def test_a_receipt_missing_or_altered_on_disk_is_rendered_again_when_asked_for(
    client, confirmed_gate, damage
):
    confirmation = confirmed_gate()
    confirmation.refresh_from_db()
    recorded = confirmation.receipt_sha256
    if damage == "deleted":
        default_storage.delete(confirmation.receipt_path)
    else:
        with default_storage.open(confirmation.receipt_path, "wb") as handle:
            handle.write(b"%PDF-1.7 not the receipt")
    client.force_login(confirmation.user)
    response = client.get(reverse("education:receipt", args=[confirmation.pk]))
    assert response.status_code == 200
    data = b"".join(response.streaming_content)
    # The same evidence renders the same bytes: copies the client already holds still verify.
    import hashlib

    assert hashlib.sha256(data).hexdigest() == recorded
    # The receipt email is not sent a second time.
    assert Notification.objects.filter(key="gate_confirmation", channel="email").count() == 1


def test_a_statement_never_rendered_is_rendered_by_the_sweep_and_a_lost_file_on_download(
    client, as_in_embedded_mode, monkeypatch, django_capture_on_commit_callbacks
):
    alice = verified_client(email="alice@example.test")
    account = funded_account(alice, cash="1000.00")
    real_render = statements.render_pdf
    monkeypatch.setattr(statements, "render_pdf", lambda s: (_ for _ in ()).throw(OSError("disk")))
    with (
        time_machine.travel(CONFIRMED, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        statement = statements.statement_request(
            margin_account=account, start=CONFIRMED.date(), end=CONFIRMED.date()
        )
    statement.refresh_from_db()
    assert not statement.pdf
    monkeypatch.setattr(statements, "render_pdf", real_render)
    with time_machine.travel(CONFIRMED + background.stuck_after() + timedelta(minutes=1)):
        tasks.requeue_stuck_work()
    statement.refresh_from_db()
    assert statement.pdf and statements.statement_available(statement)

    statement.pdf.storage.delete(statement.pdf.name)
    client.force_login(alice)
    response = client.get(reverse("funds:statement-download", args=[statement.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"


def test_missing_disclosure_pdfs_are_rendered_by_the_sweep():
    version = education.documents_in_force()
    for language in disclosure_pdf.LANGUAGES:
        default_storage.delete(disclosure_pdf.pdf_path(version, language))
    tasks.requeue_stuck_work()
    assert all(disclosure_pdf.pdf_ready(version, lang) for lang in disclosure_pdf.LANGUAGES)


def test_an_approved_plan_not_carried_out_is_carried_out_by_the_sweep(monkeypatch):
    from tests.margin.conftest import make_account

    client = verified_client(email="sun@example.test")
    account = make_account(client, cash="1000.00", debt="100000.00")
    plan = LiquidationPlan.objects.create(
        account=account,
        trigger=LiquidationPlan.Trigger.LIQUIDATION_LINE,
        status=LiquidationPlan.Status.APPROVED,
        decided_at=CONFIRMED,
        execution_confirmed_at=CONFIRMED,
        ratio_at_proposal=Decimal("1.1000"),
        target_ratio=Decimal("1.5000"),
        expected_proceeds=Decimal("0.00"),
    )
    with time_machine.travel(CONFIRMED + timedelta(seconds=30), tick=False):
        assert margin_services.liquidation_plans_requeue(before=CONFIRMED) == 0
    with time_machine.travel(CONFIRMED + background.stuck_after() + timedelta(minutes=1)):
        tasks.requeue_stuck_work()
    plan.refresh_from_db()
    assert plan.status == LiquidationPlan.Status.EXECUTED


def test_one_apps_failing_sweep_does_not_stop_the_others(monkeypatch, caplog):
    def broken(*, before):
        raise RuntimeError("statements table unreadable")

    monkeypatch.setattr(statements, "statements_requeue", broken)
    version = education.documents_in_force()
    default_storage.delete(disclosure_pdf.pdf_path(version, "en"))
    with caplog.at_level(logging.ERROR):
        tasks.requeue_stuck_work()
    assert "funds.statements.statements_requeue failed" in caplog.text
    assert disclosure_pdf.pdf_ready(version, "en")


def test_the_embedded_beat_runs_the_schedule_in_process(monkeypatch, settings):
    from notices import services as notices

    calls = []
    monkeypatch.setattr(notices, "redeliver_stuck", lambda: calls.append("notices"))
    monkeypatch.setattr(background, "requeue_stuck_work", lambda: calls.append("work") or {})
    schedule = {
        "notices": {"task": "notices.tasks.redeliver_stuck", "schedule": 0.2},
        "work": {"task": "portal.tasks.requeue_stuck_work", "schedule": 0.2},
    }
    monkeypatch.setitem(celery_app.conf, "beat_schedule", schedule)

    async def run_for_a_moment():
        stop = asyncio.Event()
        runner = asyncio.get_running_loop().create_task(embedded._run(stop))
        while len(calls) < 2:
            await asyncio.sleep(0.05)
        stop.set()
        await runner

    asyncio.run(asyncio.wait_for(run_for_a_moment(), timeout=20))
    assert set(calls) == {"notices", "work"}
