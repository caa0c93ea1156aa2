from datetime import datetime

from django.db.models import QuerySet

from support.models import SlaClock


def sla_clocks_due_for_check(*, now: datetime) -> QuerySet[SlaClock]:
    """Clocks with a threshold (75%, 90% or breach) to record at `now`, oldest first.

    The sweep's selection: one range scan of the partial index on `next_check_at`, which holds
    only clocks with something left to record, however many tickets are open.
    """
    return SlaClock.objects.filter(next_check_at__lte=now).order_by("next_check_at")
