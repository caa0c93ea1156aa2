"""Production: every secret and URL comes from the environment; a missing one stops the process."""

from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.http.request import validate_host

from .base import *  # noqa: F403
from .env import env, env_bool, env_int, env_list, env_url
from .services import database, redis_cache, redis_channel_layer

DEBUG = False
SECRET_KEY = env("SECRET_KEY")
if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
    raise ImproperlyConfigured(
        "Environment variable SECRET_KEY is malformed: use at least 50 random characters."
    )
FIELD_ENCRYPTION_KEY = env("FIELD_ENCRYPTION_KEY")
try:
    Fernet(FIELD_ENCRYPTION_KEY.encode())
except ValueError:
    raise ImproperlyConfigured(
        "Environment variable FIELD_ENCRYPTION_KEY is malformed: it must be a Fernet key "
        "(32 url-safe base64-encoded bytes)."
    ) from None
# Keys the lookups on encrypted identity numbers; independent of SECRET_KEY so rotating that one
# does not orphan every index. Never change it without re-indexing.
BLIND_INDEX_KEY = env("BLIND_INDEX_KEY")
if len(BLIND_INDEX_KEY) < 32:
    raise ImproperlyConfigured(
        "Environment variable BLIND_INDEX_KEY is malformed: use at least 32 random characters."
    )
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = [f"https://{host.lstrip('.')}" for host in ALLOWED_HOSTS]
# Every link in an email, SMS or notice starts here: a wrong one sends clients nowhere, so there is
# no default, no loopback, and it must be a host this portal answers to, over https.
PORTAL_BASE_URL = env_url("PORTAL_BASE_URL", ("https",))
_base_host = (urlsplit(PORTAL_BASE_URL).hostname or "").lower()
if _base_host in {"localhost", "0.0.0.0", "::", "::1"} or _base_host.startswith("127."):  # noqa: S104
    raise ImproperlyConfigured(
        "Environment variable PORTAL_BASE_URL is malformed: it must be the portal's public "
        f"address, not a loopback one ({PORTAL_BASE_URL!r})."
    )
if not validate_host(_base_host, ALLOWED_HOSTS):
    raise ImproperlyConfigured(
        f"Environment variable PORTAL_BASE_URL is malformed: its host {_base_host!r} is not in "
        "ALLOWED_HOSTS, so its links would be refused."
    )

DATABASES = {"default": database(env_url("DATABASE_URL", ("postgres", "postgresql", "postgis")))}
REDIS_URL = env_url("REDIS_URL", ("redis", "rediss"))
CACHES = redis_cache(REDIS_URL)
CHANNEL_LAYERS = redis_channel_layer(REDIS_URL)

CELERY_BROKER_URL = REDIS_URL
CELERY_BROKER_TRANSPORT = "portal.broker:Transport"  # survives a Redis restart (portal/broker.py)
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = env("MEDIA_ROOT", str(MEDIA_ROOT))  # noqa: F405

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
# Without a timeout a relay that stops answering holds a worker until Celery's hard time limit.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
SMS_BACKEND = env("SMS_BACKEND", "notices.sms.HttpSmsBackend")

SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
if env_bool("BEHIND_TLS_PROXY", True):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
LANGUAGE_COOKIE_SECURE = True
LANGUAGE_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600)
