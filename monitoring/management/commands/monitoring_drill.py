"""Replay a stress scenario through monitoring: alerts and responses that would follow."""

import json

from django.core.management.base import BaseCommand

from margin import stress
from monitoring import drills


class Command(BaseCommand):
    help = "Drill: which alerts would fire and which responses would apply (nothing recorded)."

    def add_arguments(self, parser):
        parser.add_argument("scenario", choices=sorted(stress.SCENARIOS))
        parser.add_argument("--sector", default=None)

    def handle(self, *args, scenario, sector, **options):
        drill = drills.run(scenario, sector=sector)
        self.stdout.write(json.dumps(drill.as_dict(), ensure_ascii=False, indent=2))
