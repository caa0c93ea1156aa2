import asyncio
import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from margin.embedded import build_feed
from margin.runner import RiskRunner


class Command(BaseCommand):
    help = (
        "Run the market feed and the risk engine for one partition of accounts (account id "
        "modulo --partitions), pushing live status through the channel layer."
    )

    def add_arguments(self, parser):
        parser.add_argument("--partition", type=int, default=0)
        parser.add_argument("--partitions", type=int, default=1)
        parser.add_argument("--feed", default=settings.MARGIN_FEED)
        parser.add_argument("--tick-seconds", type=float, default=settings.MARGIN_TICK_SECONDS)

    def handle(self, *args, partition, partitions, feed, tick_seconds, **options):
        if not 0 <= partition < partitions:
            raise CommandError(f"--partition must be in 0 … {partitions - 1}")
        runner = RiskRunner(
            feed=build_feed(feed),
            partition=partition,
            partitions=partitions,
            push_interval=settings.MARGIN_PUSH_INTERVAL,
            push_to_watched_only=True,
        )
        self.stdout.write(f"Risk engine: partition {partition} of {partitions}, feed {feed}")
        asyncio.run(self._main(runner, tick_seconds))

    async def _main(self, runner: RiskRunner, tick_seconds: float) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await runner.run(stop, tick_interval=tick_seconds)
