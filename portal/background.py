"""Background work that never silently dies, in a worker or inline.

Every task of the portal is a ``PortalTask`` (``portal.celery``). In production a worker runs it
and the task's own retry policy applies. In embedded mode (``make run``) and in tests, Celery runs
tasks inline, inside the request that queued them; there a retry cannot wait (Celery would run the
task again at once, in the same request, against the same trouble), so a task that fails or asks
for a retry is logged loudly, with what will happen next, and left to the sweep.

The sweep is a beat entry beside the one that redelivers stuck notices
(``portal.tasks.requeue_stuck_work``, every minute; ``portal.embedded`` runs beat in-process in
embedded mode). It calls each app's ``stuck_work``: functions named on the app's AppConfig that
queue again whatever should have been produced by now and was not (a receipt, a statement, a PDF,
an export, an approved liquidation). Their tasks are idempotent, so a late duplicate finds nothing
to do; ``queue_once`` keeps the sweep and impatient readers from queuing the same item more than
once a period.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from celery import Task
from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


def stuck_after() -> timedelta:
    """How long work may take before the sweep queues it again."""
    return timedelta(seconds=settings.BACKGROUND_STUCK_AFTER_SECONDS)


class PortalTask(Task):
    """The portal's base task: loud about failures, and never an inline retry storm."""

    def retry(self, args=None, kwargs=None, exc=None, throw=True, eta=None, countdown=None,
              max_retries=None, **options):  # fmt: skip
        if self.request.is_eager:
            # Inline, Celery would run the task again at once, inside the same request; the
            # failure is recorded instead (on_failure) and the sweep queues it again later.
            raise exc if exc is not None else RuntimeError(f"{self.name} asked for a retry")
        return super().retry(args, kwargs, exc, throw, eta, countdown, max_retries, **options)

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        if self.request.is_eager:
            logger.error(
                "BACKGROUND TASK FAILED: %s%s: %s: %s. Nothing is lost: the stuck-work sweep "
                "queues it again (every minute in embedded mode, for work older than %s s).",
                self.name,
                tuple(args or ()),
                type(exc).__name__,
                exc,
                settings.BACKGROUND_STUCK_AFTER_SECONDS,
            )
        super().on_failure(exc, task_id, args, kwargs, einfo)


def queue_once(key: str, task, *args, every: timedelta | None = None) -> bool:
    """Queue ``task(*args)`` unless the same key was queued within ``every`` (default: the stuck
    limit); returns whether it was queued now."""
    period = every or stuck_after()
    if not cache.add(f"background:queued:{key}", True, timeout=int(period.total_seconds())):
        return False
    task.delay(*args)
    return True


def finished(key: str) -> None:
    """The work queued under `key` is done: if it is ever needed again, queue it at once."""
    cache.delete(f"background:queued:{key}")


def requeue_stuck_work(*, now: datetime | None = None) -> dict[str, int]:
    """Call every app's ``stuck_work`` with the moment before which work counts as stuck; one
    failing does not stop the others. Returns how many items each queued."""
    before = (now or timezone.now()) - stuck_after()
    queued: dict[str, int] = {}
    for app_config in apps.get_app_configs():
        for path in getattr(app_config, "stuck_work", ()):
            try:
                queued[path] = import_string(path)(before=before)
            except Exception:
                logger.exception("Stuck-work sweep %s failed; it runs again next minute", path)
    if any(queued.values()):
        logger.info(
            "Stuck-work sweep queued again: %s",
            ", ".join(f"{path} {count}" for path, count in queued.items() if count),
        )
    return queued
