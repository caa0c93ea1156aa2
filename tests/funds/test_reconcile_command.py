"""`manage.py reconcile --date`: the daily reconciliation by hand, for operators."""

import datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from funds import custodian
from funds.models import ReconciliationBreak
from tests.funds.factories import funded_account, verified_client
from tests.funds.test_reconciliation import statement

pytestmark = pytest.mark.django_db
# 16:00 in Beijing on Friday 27 November 2026, after the day's statement came in.
FRIDAY_EVENING = datetime.datetime(2026, 11, 27, 8, 0, tzinfo=datetime.UTC)


@pytest.fixture
def alice_account():
    return funded_account(verified_client(email="alice@example.test"))


def run(*args) -> str:
    out = StringIO()
    call_command("reconcile", *args, stdout=out)
    return out.getvalue()


@pytest.mark.time_machine(FRIDAY_EVENING, tick=False)
def test_a_day_that_balances_prints_its_figures_and_exits_0(alice_account):
    custodian.custodian_statement_import(data=statement("2026-11-26", "0.00", [], "0.00"))
    out = run("--date", "2026-11-26")
    assert out.startswith("reconciled 2026-11-26: custodian ledger 0.00, bank 0.00")
    assert out.rstrip().endswith("open breaks: 0")


@pytest.mark.time_machine(FRIDAY_EVENING, tick=False)
def test_without_a_date_it_reconciles_today_in_beijing(alice_account):
    assert run().startswith("reconciled 2026-11-27: custodian ledger 0.00, bank no statement")


@pytest.mark.time_machine(FRIDAY_EVENING, tick=False)
def test_a_break_is_recorded_and_the_command_fails_so_the_job_alerts(alice_account):
    custodian.custodian_statement_import(data=statement("2026-11-27", "0.01", [], "0.01"))
    with pytest.raises(CommandError, match="2 reconciliation break"):
        run("--date", "2026-11-27")
    assert ReconciliationBreak.objects.filter(resolved_on__isnull=True).count() == 2


@pytest.mark.time_machine(FRIDAY_EVENING, tick=False)
def test_running_a_day_again_is_harmless(alice_account):
    custodian.custodian_statement_import(data=statement("2026-11-26", "0.00", [], "0.00"))
    assert run("--date", "2026-11-26") == run("--date", "2026-11-26")


@pytest.mark.time_machine(FRIDAY_EVENING, tick=False)
def test_a_bad_or_future_date_is_refused_and_runs_nothing(alice_account):
    with pytest.raises(CommandError, match="a day like 2026-11-25"):
        run("--date", "27/11/2026")
    with pytest.raises(CommandError, match="has not ended yet"):
        run("--date", "2026-11-28")
    assert not ReconciliationBreak.objects.exists()
