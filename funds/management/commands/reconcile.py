"""python manage.py reconcile --date YYYY-MM-DD — the daily custodian reconciliation by hand."""

import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from funds import services


class Command(BaseCommand):
    """What the daily close (funds.tasks.daily_close) runs, for one day: to re-run a day after a
    late statement or a correction, or in embedded mode, which has no Celery beat."""

    help = (
        "Reconcile the ledger with the custodian's statement and the margin balances for one day. "
        "Safe to run again. Exits 1 while breaks are open."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--date",
            dest="day",
            help="The day to reconcile, YYYY-MM-DD (Beijing time); default today.",
        )

    def handle(self, *args, day=None, **options):
        today = timezone.localdate()
        if day is None:
            when = today
        else:
            try:
                when = datetime.date.fromisoformat(day)
            except ValueError:
                raise CommandError(f"--date takes a day like 2026-11-25, not {day!r}.") from None
        if when > today:
            raise CommandError(f"{when} has not ended yet (today is {today}); nothing was run.")
        result = services.reconciliation_run(day=when)
        bank = "no statement" if result.custodian_bank is None else f"{result.custodian_bank}"
        self.stdout.write(
            f"reconciled {result.day}: custodian ledger {result.custodian_ledger}, "
            f"bank {bank}, client money owed {result.client_money_owed}; "
            f"open breaks: {result.open_breaks}"
        )
        if result.open_breaks:
            raise CommandError(
                f"{result.open_breaks} reconciliation break(s) open: see "
                "/admin/funds/reconciliationbreak/."
            )
