"""Reaching people: email, SMS and the notices outbox that delivers both."""

from .env import env, env_int

EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "旺润客户服务 <service@wangrun.example>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
SMS_BACKEND = "notices.sms.ConsoleSmsBackend"
SMS_HTTP_URL = env("SMS_HTTP_URL", "")
SMS_HTTP_TOKEN = env("SMS_HTTP_TOKEN", "")
SMS_HTTP_TIMEOUT = env_int("SMS_HTTP_TIMEOUT", 10, minimum=1)
SMS_SENDER = env("SMS_SENDER", "旺润")

# Outbox delivery: attempts before a notification is given up as failed, and the back-off base.
NOTICES_MAX_ATTEMPTS = 6
NOTICES_BACKOFF_SECONDS = 30
# A worker's claim on a row lasts this long unless the worker renews it (it does, every third of
# it, while sending); the sweep runs every NOTICES_SWEEP_SECONDS (the celery settings), so a dead
# worker's rows go out again within lease + sweep = 25 s.
NOTICES_LEASE_SECONDS = 15
# Drainers at work while rows are due: the total worker concurrency (workers × concurrency).
NOTICES_DRAINERS = env_int("NOTICES_DRAINERS", 4, minimum=1)
# A due row older than this means the outbox is stalled: the sweep logs it, /readyz details show it.
NOTICES_STALLED_AFTER_SECONDS = 60
# Unlocks /readyz details (the outbox's backlog) for monitoring: `Authorization: Bearer <token>`.
READYZ_TOKEN = env("READYZ_TOKEN", "")
