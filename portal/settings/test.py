"""Test settings: real PostgreSQL and Redis when DATABASE_URL / REDIS_URL are set, else embedded."""

import os

from .base import *  # noqa: F403
from .base import BASE_DIR
from .services import database, redis_cache, redis_channel_layer, sqlite

SECRET_KEY = "test-only-key-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SMS_BACKEND = "notices.sms.LocmemSmsBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True  # browser tests get the stylesheets without collectstatic
MEDIA_ROOT = BASE_DIR / "var" / "test-media"
# Margin's and funds' own tests fill a liquidation plan at the feed's prices directly; the
# trading tests turn the channel on, as it is everywhere else.
TRADING_LIQUIDATION_THROUGH_VENUE = False

DATABASE_URL = os.environ.get("DATABASE_URL", "").strip()
REDIS_URL = os.environ.get("REDIS_URL", "").strip()

if DATABASE_URL:
    DATABASES = {"default": database(DATABASE_URL)}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
else:
    # The embedded database as `make run` has it, on a file: Django's default in-memory test
    # database shares one cache between threads and answers "table is locked" instead of waiting,
    # so the engine, a live server and concurrent clients could not run against it as they do in
    # embedded mode. One file per test process, so two runs in one checkout do not collide.
    DATABASES = {"default": sqlite(BASE_DIR / "var" / "test.sqlite3")}
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "var" / f"test-{os.getpid()}.sqlite3")}

if REDIS_URL:
    # A separate key space per run so a developer's running portal is not disturbed.
    CACHES = redis_cache(REDIS_URL)
    CACHES["default"]["KEY_PREFIX"] = "test"
    CHANNEL_LAYERS = redis_channel_layer(REDIS_URL, prefix="test-asgi")
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT = "portal.broker:Transport"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Tasks run inline unless a test starts a real worker (tests/notices/test_celery_worker.py).
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True

# Tests read reference data fresh; tests/trading/test_reference.py turns the memo on.
TRADING_REFERENCE_SECONDS = 0

# The risk runner's tests run without market monitoring; monitoring's own tests turn it on.
MARGIN_TICK_OBSERVERS = []
