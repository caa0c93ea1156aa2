"""Settings shared by every way of running the portal.

Environment-specific modules (dev, test, production) import this and override what differs.
This module holds Django's own settings; each integration has its module, each setting is
defined once, and every value read from the environment is checked at start-up (env.py):

- allauth.py    sign-in, sign-up, rate limits, MFA
- security.py   headers, CSP, cookies, request sizes, error-report redaction
- channels.py   cache and channel layer (embedded defaults), WebSocket re-checks
- celery.py     Celery and the one beat schedule of every app's periodic work
- messaging.py  email, SMS and the notices outbox
- business.py   the risk engine and feed, the gate's cool-off, client money
"""

from pathlib import Path

from django.utils.translation import gettext_lazy as _

from .allauth import *  # noqa: F403
from .business import *  # noqa: F403
from .celery import *  # noqa: F403
from .channels import *  # noqa: F403
from .env import env
from .messaging import *  # noqa: F403
from .security import *  # noqa: F403
from .services import sqlite

BASE_DIR = Path(__file__).resolve().parent.parent.parent
# Local state (SQLite files, uploads, collected static) lives in var/, never in the source tree.
(BASE_DIR / "var").mkdir(exist_ok=True)

SECRET_KEY = env("SECRET_KEY", "dev-only-insecure-key-never-used-in-production-0123456789abcdef")
DEBUG = False
# Fernet key for secrets at rest; derived from SECRET_KEY when unset (never in production).
FIELD_ENCRYPTION_KEY = env("FIELD_ENCRYPTION_KEY", "")
ALLOWED_HOSTS: list[str] = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "portal.admin_site.PortalAdminConfig",  # django.contrib.admin, with portal's rules on top
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "django_htmx",
    "csp",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "portal",
    "accounts",
    "audit",
    "notices",
    "education",
    "disclosures",
    "support",
    "margin",
    "funds",
    "backoffice",
    "trading",
    "monitoring",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Loads the session and user inside a guard: 503 (not 500) while the database or Redis is down.
    "portal.middleware.ServiceUnavailableMiddleware",
    "accounts.middleware.SavedLanguageMiddleware",
    "portal.middleware.NoStoreMiddleware",
    "accounts.ratelimits.ServerErrorsDoNotCount",
    "django.contrib.messages.middleware.MessageMiddleware",
    "portal.middleware.RefuseNulMiddleware",
    "accounts.middleware.StaffMfaRequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # Last, so it sees what escapes the views first: an allauth RateLimited becomes a 429 page.
    "portal.errors.RateLimitMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "notices.context_processors.unread_notices",
                "portal.navigation.navigation",
            ],
        },
    }
]

DATABASES = {"default": sqlite(BASE_DIR / "var" / "db.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"

# --- i18n ----------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- static --------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = BASE_DIR / "var" / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# The public origin, used in links inside emails, SMS and notices (never built from a request).
# `make run` sets it from HOST and PORT; production requires it (production.py).
PORTAL_BASE_URL = env("PORTAL_BASE_URL", "http://127.0.0.1:8000")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # Reset keys, verification keys and survey tokens sit in URL paths Django logs (4xx, 5xx).
    "filters": {"redact_secrets": {"()": "portal.redaction.RedactSecretsFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {
        "django.channels.server": {"level": "WARNING"},
        # Every PDF would print seven progress lines: keep the console for what matters.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
