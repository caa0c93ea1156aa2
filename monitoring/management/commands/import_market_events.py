"""Import a third-party event file (JSON or CSV); each new event raises an alert."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from monitoring import events


class Command(BaseCommand):
    help = "Import external market events (JSON or CSV) as monitoring alerts."

    def add_arguments(self, parser):
        parser.add_argument("path", help="the event file (.json or .csv)")
        parser.add_argument("--by", default="import command", help="who imports it (audit)")

    def handle(self, *args, path, by, **options):
        file = Path(path)
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        try:
            created = events.events_import(data=file.read_bytes(), name=file.name, actor=by)
        except events.EventFileError as error:
            raise CommandError("Nothing imported:\n  " + "\n  ".join(error.problems)) from None
        self.stdout.write(f"{len(created)} new event(s) imported, each raised an alert.")
