from django.core.management.base import BaseCommand

from audit.services import verify_chain


class Command(BaseCommand):
    help = "Check every link of the audit chain; exit 1 naming the first broken entry."

    def handle(self, *args, **options):
        report = verify_chain()
        if report.ok:
            self.stdout.write(f"ok {report.count} entries")
            return
        self.stderr.write(f"broken at entry #{report.broken_seq}: {report.reason}")
        raise SystemExit(1)
