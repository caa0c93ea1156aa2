import asyncio
import signal

from django.conf import settings
from django.core.management.base import BaseCommand

from trading import embedded


class Command(BaseCommand):
    help = "Run the venue loop: record the venue's fills and expire day orders after the close."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=settings.TRADING_VENUE_INTERVAL)

    def handle(self, *args, interval, **options):
        self.stdout.write(f"Venue {settings.TRADING_VENUE}, every {interval} s")
        asyncio.run(self._main(interval))

    async def _main(self, interval: float) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await embedded.run(stop, interval=interval)
