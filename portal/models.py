from django.conf import settings
from django.core import checks
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class CalendarKind(models.TextChoices):
    SERVICE = "service", _("Service calendar")
    TRADING = "trading", _("Trading calendar")


class CalendarOverride(models.Model):
    """A day that is closed or open whatever the calendar libraries say.

    Staff enter the State Council's holiday schedule here for years `chinesecalendar` does not
    know yet (and exchange closures for years `exchange_calendars` does not), by importing the
    notice or day by day, plus one-off changes such as a typhoon closure. An override always wins;
    see `portal.calendars`.
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
        permissions = [("import_calendaroverride", _("Can import an official holiday notice"))]

    def __str__(self) -> str:
        return f"{self.date} {self.get_calendar_display()}: {self.get_kind_display()}"

    @property
    def is_open(self) -> bool:
        return self.kind == self.Kind.OPEN

    def clean(self) -> None:
        if (
            self.date
            and self.calendar == CalendarKind.TRADING
            and self.kind == self.Kind.OPEN
            and self.date.weekday() >= 5
        ):
            # Make-up working days (调休) are for offices: the exchanges never trade on a weekend.
            raise ValidationError(
                {"kind": _("The exchange never trades on a Saturday or Sunday.")}, code="weekend"
            )


class OfficialSchedule(models.Model):
    """A year whose official holiday schedule staff have entered as overrides.

    From then on that year's days are plain weekdays except the overrides, as in a year the
    libraries publish, and the rule-based estimate (statutory holidays without make-up working
    days) no longer applies. Written by the import of the State Council's notice, or by hand once
    every day of a notice has been entered one by one.
    """

    year = models.PositiveSmallIntegerField(_("year"))
    calendar = models.CharField(_("calendar"), max_length=16, choices=CalendarKind.choices)
    source = models.CharField(
        _("source"),
        max_length=200,
        help_text=_("The notice the days were taken from, e.g. its title and number."),
    )
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("entered by"),
        on_delete=models.SET_NULL,  # the audit trail keeps who it was
        null=True,
        blank=True,
        related_name="+",
    )
    entered_at = models.DateTimeField(_("entered at"), auto_now_add=True)

    class Meta:
        verbose_name = _("official holiday schedule")
        verbose_name_plural = _("official holiday schedules")
        ordering = ["-year", "calendar"]
        constraints = [
            models.UniqueConstraint(fields=["year", "calendar"], name="official_schedule_unique")
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.get_calendar_display()}"


# Tagged `database` so it runs on `migrate` (every deploy) and `check --database default`, but not
# in `check --deploy`: a year missing from a library is data to enter, not configuration to fix.
# Registered here because models modules are always imported at start-up.
@checks.register(checks.Tags.database)
def calendar_coverage_check(app_configs, databases=None, **kwargs) -> list[checks.CheckMessage]:
    from django.db import DatabaseError

    from portal.calendars import calendar_coverage_warning

    if not databases:  # the convention for database-tagged checks: run only when asked
        return []

    try:
        schedules = list(OfficialSchedule.objects.all())
    except DatabaseError:  # `migrate` checks before it creates the table
        schedules = []
    warning = calendar_coverage_warning(schedules=schedules)
    return [checks.Warning(warning, id="portal.W001")] if warning else []
