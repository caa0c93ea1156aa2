from django.core import checks
from django.db import models
from django.utils.translation import gettext_lazy as _


class CalendarKind(models.TextChoices):
    SERVICE = "service", _("Service calendar")
    TRADING = "trading", _("Trading calendar")


class CalendarOverride(models.Model):
    """A day that is closed or open whatever the calendar libraries say.

    Staff enter the State Council's holiday schedule here for years `chinesecalendar` does not
    know yet (and exchange closures for years `exchange_calendars` does not), plus one-off changes
    such as a typhoon closure. An override always wins; see `portal.calendars`.
    """

    class Kind(models.TextChoices):
        CLOSED = "closed", _("Closed (holiday)")
        OPEN = "open", _("Open (make-up working day)")

    date = models.DateField(_("date"))
    calendar = models.CharField(
        _("calendar"),
        max_length=16,
        choices=CalendarKind.choices,
        help_text=_(
            "In years the exchange library does not cover, a closed service day on a weekday also "
            "closes the exchange; add an open trading override if the exchange trades that day."
        ),
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    note = models.CharField(_("note"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("calendar override")
        verbose_name_plural = _("calendar overrides")
        ordering = ["-date", "calendar"]
        constraints = [
            models.UniqueConstraint(
                fields=["date", "calendar"], name="calendar_override_unique_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.get_calendar_display()}: {self.get_kind_display()}"

    @property
    def is_open(self) -> bool:
        return self.kind == self.Kind.OPEN


# Tagged `database` so it runs on `migrate` (every deploy) and `check --database default`, but not
# in `check --deploy`: a year missing from a library is data to enter, not configuration to fix.
# Registered here because models modules are always imported at start-up.
@checks.register(checks.Tags.database)
def calendar_coverage_check(app_configs, databases=None, **kwargs) -> list[checks.CheckMessage]:
    from portal.calendars import calendar_coverage_warning

    if not databases:  # the convention for database-tagged checks: run only when asked
        return []

    warning = calendar_coverage_warning()
    return [checks.Warning(warning, id="portal.W001")] if warning else []
