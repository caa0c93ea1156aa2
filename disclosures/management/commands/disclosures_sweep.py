from datetime import datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from disclosures import services


class Command(BaseCommand):
    """The beat sweep by hand: embedded mode (`make run`) has no Celery beat."""

    help = "Put due disclosure versions into force and send due reminders. Safe to run again."

    def add_arguments(self, parser):
        parser.add_argument(
            "--at",
            help="Pretend it is this Beijing time (YYYY-MM-DD HH:MM) to demo a switch; DEBUG only.",
        )

    def handle(self, *args, **options):
        now = timezone.now()
        if options["at"]:
            if not settings.DEBUG:
                raise CommandError("--at is for demos: it only works with DEBUG on.")
            try:
                now = timezone.make_aware(datetime.strptime(options["at"], "%Y-%m-%d %H:%M"))
            except ValueError:
                raise CommandError("--at takes a Beijing time like 2026-12-28 09:00.") from None
        switched = services.versions_switch_due(now=now)
        reminded = services.reminders_send_due(now=now)
        for version in switched:
            self.stdout.write(f"in force: {version.document.kind} {version.label}")
        self.stdout.write(f"{len(switched)} version(s) switched, {reminded} reminder(s) sent")
