"""Demo data dated in the past: the seeders of every app run their block at an earlier time."""

from datetime import timedelta

from django.utils import timezone


def back_in_time(ago: timedelta):
    """Run the block as if it were `ago` earlier; the clock ticks on from there (``shift`` moves
    it further)."""
    import time_machine

    return time_machine.travel(timezone.now() - ago, tick=True)
