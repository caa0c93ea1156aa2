"""python manage.py import_custodian_statement PATH — see funds.custodian for the CSV format."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from funds.custodian import StatementError, custodian_statement_import
from funds.models import ReconciliationBreak


class Command(BaseCommand):
    help = "Import the custodian bank's daily statement (CSV) and reconcile that day."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)

    def handle(self, *args, path: Path, **options):
        try:
            statement = custodian_statement_import(data=path.read_bytes())
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc}") from exc
        except StatementError as exc:
            raise CommandError(f"{path}: {exc}; nothing was imported") from exc
        counts = {}
        for txn in statement.transactions.all():
            counts[txn.match] = counts.get(txn.match, 0) + 1
        open_breaks = ReconciliationBreak.objects.filter(resolved_on__isnull=True).count()
        self.stdout.write(
            f"imported {statement.statement_date}: "
            + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
            + f"; open reconciliation breaks: {open_breaks}"
        )
