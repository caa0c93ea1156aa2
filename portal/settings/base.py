"""Settings shared by every way of running the portal.

Environment-specific modules (dev, test, production) import this and override what differs.
"""

from pathlib import Path

from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

from .env import env, env_amount, env_int
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
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"

# --- allauth -------------------------------------------------------------------------------
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_FORMS = {"request_login_code": "accounts.forms.RequestLoginCodeForm"}
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS = 3
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
# Security notices come from accounts.receivers (email, SMS and in-app, translated), not allauth.
ACCOUNT_EMAIL_NOTIFICATIONS = False
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
    "reauthenticate": "10/m/user",
}
# Behind N reverse proxies the client's address is the N-th entry from the right of
# X-Forwarded-For; allauth's per-IP rate limits (login, codes, reset) count by it. 0 trusts no
# header: REMOTE_ADDR is the client. Must equal the number of proxies that append to the header,
# or every client shares the proxy's bucket (too few) or can choose its own address (too many).
ALLAUTH_TRUSTED_PROXY_COUNT = env_int("ALLAUTH_TRUSTED_PROXY_COUNT", 0, minimum=0, maximum=5)
MFA_ADAPTER = "accounts.adapter.MfaAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Wangrun 旺润"
MFA_RECOVERY_CODE_COUNT = 10
# Accept the neighbouring 30-second window too (RFC 6238 §5.2): phones drift; used codes stay used.
MFA_TOTP_TOLERANCE = 1

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

# --- security headers (tightened further in production) ------------------------------------
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# No inline script anywhere: every script is a static file, so 'self' is all we allow.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

# --- request size: refused at the ASGI edge before reading (portal.limits), then by Django ---
REQUEST_BODY_MAX_BYTES_ANONYMOUS = 6 * 1024 * 1024  # a 5 MB receipt PDF to /education/verify/
REQUEST_BODY_MAX_BYTES = 60 * 1024 * 1024  # a ticket message: 5 files of 10 MB
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # the form fields of one request, files aside (2.5 MB)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # larger uploads are spooled to a temporary file
DATA_UPLOAD_MAX_NUMBER_FILES = 10  # a ticket message takes 5 files, KYC 3 documents
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000

# --- cache, channels, celery (embedded defaults; production and CI override) ---------------
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

CELERY_BROKER_URL = "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 100
CELERY_WORKER_PREFETCH_MULTIPLIER = 4
CELERY_TIMEZONE = "UTC"
# Outbox delivery: attempts before a notification is given up as failed, and the back-off base.
NOTICES_MAX_ATTEMPTS = 6
NOTICES_BACKOFF_SECONDS = 30
# A worker's claim on a row lasts this long unless the worker renews it (it does, every third of
# it, while sending); the sweep runs this often, so a dead worker's rows go out again within
# lease + sweep = 25 s.
NOTICES_LEASE_SECONDS = 15
NOTICES_SWEEP_SECONDS = 10
# Drainers at work while rows are due: the total worker concurrency (workers × concurrency).
NOTICES_DRAINERS = env_int("NOTICES_DRAINERS", 4)
# A due row older than this means the outbox is stalled: the sweep logs it, /readyz details show it.
NOTICES_STALLED_AFTER_SECONDS = 60
# Unlocks /readyz details (the outbox's backlog) for monitoring: `Authorization: Bearer <token>`.
READYZ_TOKEN = env("READYZ_TOKEN", "")
CELERY_BEAT_SCHEDULE = {
    "notices-redeliver-stuck": {
        "task": "notices.tasks.redeliver_stuck",
        "schedule": float(NOTICES_SWEEP_SECONDS),
    },
    # Every app's stuck work: receipts, statements, PDFs, exports, approved liquidations.
    "portal-requeue-stuck-work": {"task": "portal.tasks.requeue_stuck_work", "schedule": 60.0},
}
# Work (a receipt, a statement, an export, ...) not done this long after it was due is queued
# again by that sweep; its tasks are idempotent, so a slow worker finishing late is harmless.
BACKGROUND_STUCK_AFTER_SECONDS = env_int("BACKGROUND_STUCK_AFTER_SECONDS", 120)
# Embedded mode has no beat process: run the schedule above inside the ASGI process instead
# (portal.embedded; dev turns it on).
EMBEDDED_BEAT = False

# --- disclosures: versions take effect, and reminders go out, on this sweep ----------------
CELERY_BEAT_SCHEDULE["disclosures-effective-dates"] = {
    "task": "disclosures.tasks.sweep_effective_dates",
    "schedule": 60.0,
}

# Open WebSockets are re-checked against their session this often (portal.sockets): a socket
# outlives a sign-out, password change, deactivation or revoked session by at most this long.
SOCKET_SESSION_CHECK_SECONDS = 2.0

# --- email and SMS -------------------------------------------------------------------------
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "旺润客户服务 <service@wangrun.example>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
SMS_BACKEND = "notices.sms.ConsoleSmsBackend"
SMS_HTTP_URL = env("SMS_HTTP_URL", "")
SMS_HTTP_TOKEN = env("SMS_HTTP_TOKEN", "")
SMS_HTTP_TIMEOUT = env_int("SMS_HTTP_TIMEOUT", 10)
SMS_SENDER = env("SMS_SENDER", "旺润")

# Error reports (DEBUG pages, mailed reports) hide posted sign-in codes and tokens too.
DEFAULT_EXCEPTION_REPORTER_FILTER = "portal.redaction.SecretsReporterFilter"

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

# --- accounts: phone sign-in and onboarding -------------------------------------------------
# allauth 65 phone support with our adapter (mainland numbers, codes sent by our SMS backend).
ACCOUNT_LOGIN_METHODS = {"email", "phone"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "phone", "password1*", "password2*"]
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_BY_CODE_TIMEOUT = 300
ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS = 3
ACCOUNT_PHONE_VERIFICATION_TIMEOUT = 600
ACCOUNT_PHONE_VERIFICATION_MAX_ATTEMPTS = 3
ACCOUNT_PHONE_VERIFICATION_SUPPORTS_RESEND = 2
# Six digits, as every Chinese bank and broker sends them.
ACCOUNT_PHONE_VERIFICATION_CODE_FORMAT = {"numeric": True, "length": 6, "dashed": False}
ACCOUNT_LOGIN_BY_CODE_FORMAT = {"numeric": True, "length": 6, "dashed": False}
ACCOUNT_RATE_LIMITS = {
    **ACCOUNT_RATE_LIMITS,
    # No SMS bombing: per number (key) and per IP, for both verification and sign-in codes.
    "verify_phone": "1/60s/key,5/h/key,10/h/ip",
    "request_login_code": "1/60s/key,5/h/key,10/h/ip",
    "change_phone": "3/10m/user",
}
# --- support: the SLA sweep, every minute ----------------------------------------------------
CELERY_BEAT_SCHEDULE["support-sla-sweep"] = {"task": "support.tasks.sla_sweep", "schedule": 60.0}
# --- margin: risk engine, feed, rates (margin app) -----------------------------------------
from celery.schedules import crontab  # noqa: E402

# Embedded mode runs the feed and the engine inside the ASGI process (dev turns it on); in
# production `python manage.py run_risk_engine` does, as its own Procfile process.
MARGIN_ENGINE_EMBEDDED = False
MARGIN_FEED = env("MARGIN_FEED", "simulated")  # "simulated", "manual" or a path to a CSV replay
MARGIN_FEED_SEED = env_int("MARGIN_FEED_SEED", 20260119)
MARGIN_FEED_STEP_SECONDS = env_int("MARGIN_FEED_STEP_SECONDS", 60)  # market time per tick
MARGIN_TICK_SECONDS = 1.0
MARGIN_PUSH_INTERVAL = 1.0  # at most one push per account per second, level changes at once
# Financing per yuan of client margin allowed for new financing, per volatility regime.
MARGIN_REGIME_LEVERAGE_CAPS = {
    "normal": "1.00",
    "elevated": "0.80",
    "stressed": "0.50",
    "emergency": "0.00",  # the freeze line: no new financing at all (margin.restrictions)
}
# By policy a tighter regime raises the warning, call and liquidation lines by this much; it is
# drafted as a margin-contract disclosure change (notice first), never applied directly.
MARGIN_REGIME_LINE_RAISE = {"normal": "0", "elevated": "0.05", "stressed": "0.10", "emergency": "0"}
CELERY_BEAT_SCHEDULE["margin-call-deadlines"] = {
    "task": "margin.tasks.sweep_call_deadlines",
    "schedule": 60.0,
}
# Mondays 00:30 UTC (08:30 in Beijing): last week's risk report.
CELERY_BEAT_SCHEDULE["margin-weekly-risk-report"] = {
    "task": "margin.tasks.weekly_risk_report",
    "schedule": crontab(minute=30, hour=0, day_of_week="mon"),
}

# --- education: the gate's cool-off before financing can be activated -----------------------
EDUCATION_COOL_OFF_HOURS = env_int("EDUCATION_COOL_OFF_HOURS", 24)
CELERY_BEAT_SCHEDULE["education-expire-lapsed"] = {
    "task": "education.tasks.expire_lapsed",
    "schedule": 3600.0,
}

# --- funds: client money (funds app) ---------------------------------------------------------
# Withdrawals above this many yuan need two staff approvals (four-eyes); below, paid at once.
FUNDS_WITHDRAWAL_APPROVAL_THRESHOLD = env("FUNDS_WITHDRAWAL_APPROVAL_THRESHOLD", "50000.00")
# An agent may credit at most this many yuan from suspense a day (funds.suspense).
FUNDS_SUSPENSE_DAILY_LIMIT = env_amount("FUNDS_SUSPENSE_DAILY_LIMIT", "200000.00")
# The risk reserve must be at least this share of total financing outstanding.
FUNDS_RISK_RESERVE_SHARE = env("FUNDS_RISK_RESERVE_SHARE", "0.05")
# The segregated custodian account clients pay into (shown on the deposit page).
FUNDS_CUSTODIAN_BANK = env(
    "FUNDS_CUSTODIAN_BANK", "招商银行上海分行 China Merchants Bank, Shanghai"
)
FUNDS_CUSTODIAN_ACCOUNT_NAME = env(
    "FUNDS_CUSTODIAN_ACCOUNT_NAME", "旺润客户保证金专户 Wangrun client money account"
)
FUNDS_CUSTODIAN_ACCOUNT_NUMBER = env("FUNDS_CUSTODIAN_ACCOUNT_NUMBER", "121909876510888")
CELERY_BEAT_SCHEDULE["funds-daily-close"] = {
    "task": "funds.tasks.daily_close",
    "schedule": crontab(minute=30, hour=7),  # 15:30 Asia/Shanghai, after the close
}
CELERY_BEAT_SCHEDULE["funds-monthly-statements"] = {
    "task": "funds.tasks.monthly_statements",
    "schedule": crontab(minute=0, hour=6, day_of_month=1),
}

# --- trading: the venue orders execute through (trading app) ----------------------------------
# The simulated venue matches orders against the market feed; a broker gateway would implement
# trading.venue.Venue and be named here. Embedded mode runs the venue loop inside the ASGI
# process; production runs `python manage.py run_venue` as its own Procfile process.
TRADING_VENUE = env("TRADING_VENUE", "trading.venue.SimulatedVenue")
TRADING_VENUE_EMBEDDED = False
TRADING_VENUE_INTERVAL = 0.25  # seconds between venue steps
# An approved forced-liquidation plan sells through the venue like a client's sale.
TRADING_LIQUIDATION_THROUGH_VENUE = True
# --- monitoring: market and book signals, alerts, responses, evaluations --------------------
# Called by the risk runner after every applied tick (margin does not import monitoring).
MARGIN_TICK_OBSERVERS = ["monitoring.live.observe_tick"]
MONITORING_BOOK_EVERY_SECONDS = 5.0  # book signals at most this often (wall clock)
MONITORING_SNAPSHOT_EVERY_MINUTES = 5  # a BookSnapshot for trends and charts (market time)
# Minutes to acknowledge an alert before it is escalated one level (0: never escalated).
MONITORING_ACK_MINUTES = {"info": 0, "warning": 30, "critical": 5}
# Applied at once (new business only, as the margin contract allows); the rest wait for an officer.
MONITORING_RESPONSES_AT_ONCE = ["pause_buys", "circuit_breaker"]
MONITORING_RESPONSE_DEFAULTS = {
    "pause_buys": {"review_hours": 24},
    "short_hours": {"from": "09:45", "until": "14:30", "days": 5, "review_hours": 24},
    "circuit_breaker": {"minutes": 30, "review_hours": 0.5},
    "lower_caps": {"review_hours": 120},
    "raise_margin": {"review_hours": 120},
    "emergency_freeze": {"review_hours": 4},
}
CELERY_BEAT_SCHEDULE["monitoring-escalate-alerts"] = {
    "task": "monitoring.tasks.escalate_alerts",
    "schedule": 60.0,
}
CELERY_BEAT_SCHEDULE["monitoring-responses-sweep"] = {
    "task": "monitoring.tasks.responses_sweep",
    "schedule": 60.0,
}
CELERY_BEAT_SCHEDULE["monitoring-daily-signals"] = {
    "task": "monitoring.tasks.daily_signals",
    "schedule": crontab(minute=35, hour=7),  # 15:35 Asia/Shanghai, after the close
}
CELERY_BEAT_SCHEDULE["monitoring-weekly-evaluation"] = {
    "task": "monitoring.tasks.weekly_evaluation",
    "schedule": crontab(minute=0, hour=1, day_of_week="mon"),
}
CELERY_BEAT_SCHEDULE["monitoring-monthly-evaluation"] = {
    "task": "monitoring.tasks.monthly_evaluation",
    "schedule": crontab(minute=30, hour=1, day_of_month=1),
}
