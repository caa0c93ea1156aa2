import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.dev")

# Every task is a PortalTask: loud about failures, never an inline retry storm (portal.background).
app = Celery("portal", task_cls="portal.background:PortalTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
