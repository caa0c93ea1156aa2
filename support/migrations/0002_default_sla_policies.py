"""The default SLA policies from DESIGN "Support SLA", one row per ticket type and priority.

Values are written out here rather than imported, so this migration means the same thing forever.
A service day is 8 service hours (09:00–12:00 + 13:00–18:00; see support/sla.py), a trading day
4 trading hours. DESIGN gives no next-response target, so it equals the first-response one. DESIGN
gives one set of targets per type, so every priority starts with it; staff tighten the higher
priorities in admin.
"""

from datetime import timedelta

from django.db import migrations

SERVICE_DAY = timedelta(hours=8)
TRADING_DAY = timedelta(hours=4)
HOURS = timedelta(hours=1)
MINUTES = timedelta(minutes=1)

# type: (calendar, first response, next response, resolution, resolution ceiling)
DEFAULTS = {
    "question": ("service", 4 * HOURS, 4 * HOURS, 3 * SERVICE_DAY, None),
    # Not in DESIGN: a KYC question is a question.
    "kyc_issue": ("service", 4 * HOURS, 4 * HOURS, 3 * SERVICE_DAY, None),
    # 15 calendar days is the regulatory limit for answering a complaint, pauses or not.
    "complaint": ("service", 2 * HOURS, 2 * HOURS, 5 * SERVICE_DAY, timedelta(days=15)),
    # DESIGN's "10 days" read as service days, like the other resolution targets.
    "dispute": ("service", 2 * HOURS, 2 * HOURS, 10 * SERVICE_DAY, None),
    # Counted in trading time: the appeal matters while the market is open. Resolution within one
    # trading day, so an appeal lodged with a margin call is decided well inside its 2-day deadline.
    "margin_call_appeal": ("trading", 30 * MINUTES, 30 * MINUTES, TRADING_DAY, None),
}
PRIORITIES = ("normal", "high", "urgent")


def create_defaults(apps, schema_editor):
    SlaPolicy = apps.get_model("support", "SlaPolicy")
    for ticket_type, (calendar, first, nxt, resolution, ceiling) in DEFAULTS.items():
        for priority in PRIORITIES:
            SlaPolicy.objects.get_or_create(
                ticket_type=ticket_type,
                priority=priority,
                defaults={
                    "calendar": calendar,
                    "first_response": first,
                    "next_response": nxt,
                    "resolution": resolution,
                    "resolution_ceiling": ceiling,
                },
            )


class Migration(migrations.Migration):
    dependencies = [("support", "0001_initial")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
