"""Test settings: real PostgreSQL and Redis when DATABASE_URL / REDIS_URL are set, else embedded."""

import os

from .base import *  # noqa: F403
from .base import BASE_DIR
from .services import database, redis_cache, redis_channel_layer

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
# The browser tests (tests/e2e) load CSS and JS from the app folders, without collectstatic.
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = BASE_DIR / "var" / "test-media"

DATABASE_URL = os.environ.get("DATABASE_URL", "").strip()
REDIS_URL = os.environ.get("REDIS_URL", "").strip()

if DATABASE_URL:
    DATABASES = {"default": database(DATABASE_URL)}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": BASE_DIR / "var" / "test.sqlite3",  # the test database itself is in memory
        }
    }

if REDIS_URL:
    # A separate key space per run so a developer's running portal is not disturbed.
    CACHES = redis_cache(REDIS_URL)
    CACHES["default"]["KEY_PREFIX"] = "test"
    CHANNEL_LAYERS = redis_channel_layer(REDIS_URL, prefix="test-asgi")
    CELERY_BROKER_URL = REDIS_URL
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Tasks run inline unless a test starts a real worker (tests/notices/test_celery_worker.py).
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
