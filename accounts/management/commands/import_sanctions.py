from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts import screening

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sanctions_sample.csv"


class Command(BaseCommand):
    help = (
        "Replace the local sanctions/PEP list with an OpenSanctions targets.simple.csv export "
        "(persons only). Without PATH, load the bundled made-up sample list."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", help="targets.simple.csv (default: the sample)")

    def handle(self, *args, path=None, **options):
        source = Path(path) if path else SAMPLE
        if not source.is_file():
            raise CommandError(f"No such file: {source}")
        with source.open(encoding="utf-8", newline="") as handle:
            try:
                result = screening.import_csv(handle)
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Imported {result.entries} persons ({result.keys} name keys) from {source}"
        )
