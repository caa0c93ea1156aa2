import json

from django.core.management.base import BaseCommand, CommandError

from margin import stress


class Command(BaseCommand):
    help = "Revalue every account under a stress scenario; report levels and shortfall."

    def add_arguments(self, parser):
        parser.add_argument("--scenario", required=True, help=", ".join(stress.SCENARIOS))
        parser.add_argument("--sector", help="for sector scenarios (default: the largest held)")
        parser.add_argument("--json", action="store_true", help="print JSON")

    def handle(self, *args, scenario, sector, **options):
        if scenario not in stress.SCENARIOS:
            raise CommandError(
                f"Unknown scenario {scenario!r}; choose from {', '.join(stress.SCENARIOS)}"
            )
        report = stress.run(scenario, sector=sector)
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False))
            return
        self.stdout.write(f"{report.scenario}: {report.description}")
        if report.sector:
            self.stdout.write(f"  sector: {report.sector}")
        self.stdout.write(f"  accounts: {report.accounts}")
        for level, count in report.levels.items():
            self.stdout.write(f"  {level:<12} {count:>8}")
        self.stdout.write(
            f"  shortfall to the warning line (CALL and worse): ¥{report.shortfall:,}"
        )
        self.stdout.write(f"  uncovered debt (beyond what can be sold): ¥{report.uncovered:,}")
