"""Background work: Celery (eager in embedded mode; production and CI give it a broker) and the
one beat schedule every app's periodic work is listed in."""

from celery.schedules import crontab

from .env import env_int

CELERY_BROKER_URL = "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = True
# Inline, a failing task is logged loudly (portal.background: "BACKGROUND TASK FAILED") and left
# to the stuck-work sweep instead of breaking the request that queued it; tests propagate it.
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 100
CELERY_WORKER_PREFETCH_MULTIPLIER = 4
CELERY_TIMEZONE = "UTC"

# Work (a receipt, a statement, an export, ...) not done this long after it was due is queued
# again by the stuck-work sweep; its tasks are idempotent, so a slow worker finishing late is
# harmless.
BACKGROUND_STUCK_AFTER_SECONDS = env_int("BACKGROUND_STUCK_AFTER_SECONDS", 120, minimum=1)
# Embedded mode has no beat process: run the schedule below inside the ASGI process instead
# (portal.embedded; dev turns it on).
EMBEDDED_BEAT = False
# The outbox sweep's period (seconds); see NOTICES_LEASE_SECONDS in the notices settings.
NOTICES_SWEEP_SECONDS = 10

CELERY_BEAT_SCHEDULE = {
    "notices-redeliver-stuck": {
        "task": "notices.tasks.redeliver_stuck",
        "schedule": float(NOTICES_SWEEP_SECONDS),
    },
    # Every app's stuck work: receipts, statements, PDFs, exports, approved liquidations.
    "portal-requeue-stuck-work": {"task": "portal.tasks.requeue_stuck_work", "schedule": 60.0},
    # Disclosure versions take effect, and reminders go out, on this sweep.
    "disclosures-effective-dates": {
        "task": "disclosures.tasks.sweep_effective_dates",
        "schedule": 60.0,
    },
    "support-sla-sweep": {"task": "support.tasks.sla_sweep", "schedule": 60.0},
    "margin-call-deadlines": {"task": "margin.tasks.sweep_call_deadlines", "schedule": 60.0},
    # Mondays 00:30 UTC (08:30 in Beijing): last week's risk report.
    "margin-weekly-risk-report": {
        "task": "margin.tasks.weekly_risk_report",
        "schedule": crontab(minute=30, hour=0, day_of_week="mon"),
    },
    "education-expire-lapsed": {"task": "education.tasks.expire_lapsed", "schedule": 3600.0},
    "funds-daily-close": {
        "task": "funds.tasks.daily_close",
        "schedule": crontab(minute=30, hour=7),  # 15:30 Asia/Shanghai, after the close
    },
    "funds-monthly-statements": {
        "task": "funds.tasks.monthly_statements",
        "schedule": crontab(minute=0, hour=6, day_of_month=1),
    },
    # Market monitoring: escalation and responses every minute, signals after the close,
    # evaluations on Monday 09:00 and the 1st at 09:30 in Beijing.
    "monitoring-escalate-alerts": {"task": "monitoring.tasks.escalate_alerts", "schedule": 60.0},
    "monitoring-responses-sweep": {"task": "monitoring.tasks.responses_sweep", "schedule": 60.0},
    "monitoring-daily-signals": {
        "task": "monitoring.tasks.daily_signals",
        "schedule": crontab(minute=35, hour=7),  # 15:35 Asia/Shanghai, after the close
    },
    "monitoring-weekly-evaluation": {
        "task": "monitoring.tasks.weekly_evaluation",
        "schedule": crontab(minute=0, hour=1, day_of_week="mon"),
    },
    "monitoring-monthly-evaluation": {
        "task": "monitoring.tasks.monthly_evaluation",
        "schedule": crontab(minute=30, hour=1, day_of_month=1),
    },
}
