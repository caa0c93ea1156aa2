"""The production settings, as the fault tests' processes (web, worker, beat, driver) run them.

Only what a loopback test run needs differs: plain http, static files served from the source
tree, the outbox sweep alone on the beat, and the log kept short.
"""

import os

from portal.settings.production import *  # noqa: F403

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
LANGUAGE_COOKIE_SECURE = False
MEDIA_ROOT = os.environ["FAULTS_DIR"] + "/media"

# The other sweeps have nothing to do here and would only add noise to the logs.
CELERY_BEAT_SCHEDULE = {
    name: entry
    for name, entry in CELERY_BEAT_SCHEDULE.items()  # noqa: F405
    if name.startswith("notices-")
}
CELERY_BEAT_SCHEDULE_FILENAME = os.environ["FAULTS_DIR"] + "/beat-schedule"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {"notices": {"level": "INFO"}, "portal": {"level": "INFO"}},
}
