from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.calendars import CalendarKind, WorkingCalendar, get_calendar, working_time_between
from support import sla


class TicketType(models.TextChoices):
    QUESTION = "question", _("Question")
    COMPLAINT = "complaint", _("Complaint")
    DISPUTE = "dispute", _("Dispute")
    MARGIN_CALL_APPEAL = "margin_call_appeal", _("Margin-call appeal")
    KYC_ISSUE = "kyc_issue", _("KYC issue")


class Priority(models.TextChoices):
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class Queue(models.TextChoices):
    SERVICE = "service", _("Client service")
    # Complaints and disputes are handled under compliance's eye; agents need a permission for them.
    COMPLIANCE = "compliance", _("Compliance")


COMPLIANCE_TYPES = frozenset({TicketType.COMPLAINT, TicketType.DISPUTE})


class Ticket(models.Model):
    """A client's request to support, with its conversation, clocks, and survey.

    Always fetched for a client through their own tickets (`selectors.ticket_for_client`); status
    changes go through `support.services`, which keeps the SLA clocks in step.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        WAITING_ON_CLIENT = "waiting_on_client", _("Waiting on client")
        RESOLVED = "resolved", _("Resolved")
        CLOSED = "closed", _("Closed")
        MERGED = "merged", _("Merged")

    client = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="support_tickets",
        verbose_name=_("client"),
    )
    type = models.CharField(_("type"), max_length=32, choices=TicketType.choices)
    priority = models.CharField(
        _("priority"), max_length=16, choices=Priority.choices, default=Priority.NORMAL
    )
    status = models.CharField(
        _("status"), max_length=32, choices=Status.choices, default=Status.OPEN
    )
    queue = models.CharField(
        _("queue"), max_length=16, choices=Queue.choices, default=Queue.SERVICE
    )
    subject = models.CharField(_("subject"), max_length=200)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
        verbose_name=_("assignee"),
        limit_choices_to={"is_staff": True},
    )
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_tickets",
        verbose_name=_("merged into"),
    )
    created_at = models.DateTimeField(_("opened at"), default=timezone.now, editable=False)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["client", "-created_at"], name="support_ticket_client"),
            models.Index(fields=["status", "queue"], name="support_ticket_status_queue"),
            models.Index(fields=["assignee", "status"], name="support_ticket_assignee"),
            models.Index(fields=["type", "created_at"], name="support_ticket_type_created"),
        ]
        permissions = [
            ("reply_ticket", _("Can reply to, note on, resolve and merge tickets")),
            ("view_compliance_ticket", _("Can see complaints and disputes (compliance queue)")),
            ("supervise_ticket", _("Receives SLA escalations as a support supervisor")),
            ("export_ticket", _("Can export a dispute's history for a regulator")),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}"

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.OPEN, self.Status.WAITING_ON_CLIENT)

    @property
    def shows_complaint_process(self) -> bool:
        return self.type in COMPLIANCE_TYPES

    def finished_at(self) -> datetime | None:
        return self.closed_at or self.resolved_at


class Message(models.Model):
    """One entry of a ticket's conversation. Internal notes are for staff only, always."""

    class Kind(models.TextChoices):
        CLIENT = "client", _("Client message")
        PUBLIC = "public", _("Public reply")
        INTERNAL = "internal", _("Internal note")
        SYSTEM = "system", _("System event")

    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="messages", verbose_name=_("ticket")
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("author"),
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    body = models.TextField(_("text"))
    created_at = models.DateTimeField(_("written at"), default=timezone.now)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="support_message_ticket")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.ticket_id}"

    @property
    def is_visible_to_client(self) -> bool:
        return self.kind != self.Kind.INTERNAL


def _attachment_path(instance: Attachment, filename: str) -> str:
    # A random name: the client's file name is kept in `name`, never used as a path.
    return f"support/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{Path(filename).suffix.lower()}"


class Attachment(models.Model):
    """A file sent with a message, checked by content and stored under a random name."""

    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("message")
    )
    file = models.FileField(_("file"), upload_to=_attachment_path)
    name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveIntegerField(_("size in bytes"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name


class CannedReply(models.Model):
    """A prepared answer in both languages; the agent picks it and edits before sending."""

    title = models.CharField(_("title"), max_length=120)
    body_zh_hans = models.TextField(_("text in Chinese"))
    body_en = models.TextField(_("text in English"))
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    def body_for(self, language: str) -> str:
        return self.body_zh_hans if language.lower().startswith("zh") else self.body_en


class Survey(models.Model):
    """The satisfaction survey sent when a ticket is resolved; one per resolution.

    The emailed link only opens a page; the vote needs a POST from that page, so a mail scanner
    that follows links never votes.
    """

    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="surveys", verbose_name=_("ticket")
    )
    token = models.CharField(_("token"), max_length=64, unique=True)
    sent_at = models.DateTimeField(_("sent at"), default=timezone.now)
    rating = models.PositiveSmallIntegerField(
        _("rating"), null=True, blank=True, choices=[(n, str(n)) for n in range(1, 6)]
    )
    comment = models.TextField(_("comment"), blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("satisfaction survey")
        verbose_name_plural = _("satisfaction surveys")
        ordering = ["-sent_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating=None) | Q(rating__gte=1, rating__lte=5),
                name="support_survey_rating_1_to_5",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.ticket_id} {self.rating or '-'}"


class TicketExport(models.Model):
    """A PDF of a dispute's history, generated by a worker and kept by content hash."""

    class Audience(models.TextChoices):
        CLIENT = "client", _("For the client")
        REGULATOR = "regulator", _("For a regulator")

    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="exports", verbose_name=_("ticket")
    )
    audience = models.CharField(_("audience"), max_length=16, choices=Audience.choices)
    content_hash = models.CharField(_("content hash"), max_length=64)
    file = models.FileField(_("file"), upload_to="support/exports/", blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("requested by"),
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    ready_at = models.DateTimeField(_("ready at"), null=True, blank=True)

    class Meta:
        verbose_name = _("ticket export")
        verbose_name_plural = _("ticket exports")
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "audience", "content_hash"], name="support_export_once"
            )
        ]

    def __str__(self) -> str:
        return f"#{self.ticket_id} {self.audience} {self.content_hash[:8]}"


class SlaPolicy(models.Model):
    """The promised times for one ticket type and priority, in working time on `calendar`.

    Defaults come from a data migration (DESIGN "Support SLA"). A clock copies its target and
    calendar when it starts, so an edit here changes the clocks started after it, never a promise
    already shown to a client.
    """

    ticket_type = models.CharField(_("ticket type"), max_length=32, choices=TicketType.choices)
    priority = models.CharField(_("priority"), max_length=16, choices=Priority.choices)
    calendar = models.CharField(
        _("calendar"), max_length=16, choices=CalendarKind.choices, default=CalendarKind.SERVICE
    )
    first_response = models.DurationField(_("first response within"))
    next_response = models.DurationField(_("next response within"))
    resolution = models.DurationField(_("resolution within"))
    resolution_ceiling = models.DurationField(
        _("resolution ceiling"),
        null=True,
        blank=True,
        help_text=_(
            "Calendar time from opening that resolution may never exceed, even while waiting on "
            "the client (the regulatory limit for complaints). Empty for none."
        ),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["ticket_type", "priority"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket_type", "priority"], name="support_sla_policy_unique"
            ),
            models.CheckConstraint(
                condition=Q(first_response__gt=timedelta(0))
                & Q(next_response__gt=timedelta(0))
                & Q(resolution__gt=timedelta(0))
                & (Q(resolution_ceiling=None) | Q(resolution_ceiling__gt=timedelta(0))),
                name="support_sla_policy_positive_targets",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_ticket_type_display()} / {self.get_priority_display()}"

    def target(self, kind: str) -> timedelta:
        return {
            SlaClock.Kind.FIRST_RESPONSE: self.first_response,
            SlaClock.Kind.NEXT_RESPONSE: self.next_response,
            SlaClock.Kind.RESOLUTION: self.resolution,
        }[SlaClock.Kind(kind)]


class SlaClock(models.Model):
    """One promise on one ticket: a response or the resolution, counted in working time.

    `due_75_at`, `due_90_at` and `due_at` say when each threshold will be crossed if nothing
    changes (None while paused with no ceiling); `next_check_at` is the first of them not yet
    recorded, and None once nothing is left to record, so the sweep is one range scan on a
    partial index. The methods change this row only; `support.services` saves it.
    """

    class Kind(models.TextChoices):
        FIRST_RESPONSE = "first_response", _("First response")
        NEXT_RESPONSE = "next_response", _("Next response")
        RESOLUTION = "resolution", _("Resolution")

    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="sla_clocks", verbose_name=_("ticket")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    calendar = models.CharField(_("calendar"), max_length=16, choices=CalendarKind.choices)
    target = models.DurationField(_("target"))
    started_at = models.DateTimeField(_("started at"))
    due_75_at = models.DateTimeField(_("75% at"), null=True, blank=True)
    due_90_at = models.DateTimeField(_("90% at"), null=True, blank=True)
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)
    ceiling_at = models.DateTimeField(_("never later than"), null=True, blank=True)
    paused_at = models.DateTimeField(_("paused at"), null=True, blank=True)
    paused_total = models.DurationField(_("working time paused"), default=timedelta(0))
    warned_75_at = models.DateTimeField(_("warned at 75%"), null=True, blank=True)
    warned_90_at = models.DateTimeField(_("warned at 90%"), null=True, blank=True)
    breached_at = models.DateTimeField(_("breached at"), null=True, blank=True)
    stopped_at = models.DateTimeField(_("stopped at"), null=True, blank=True)
    next_check_at = models.DateTimeField(_("next check at"), null=True, blank=True)
    used = models.DurationField(
        _("working time used"),
        null=True,
        blank=True,
        help_text=_("Set when the clock stops: the working time it took, pauses left out."),
    )

    class Meta:
        verbose_name = _("SLA clock")
        verbose_name_plural = _("SLA clocks")
        ordering = ["started_at"]
        indexes = [
            # The sweep: next_check_at <= now. Clocks with nothing left to check stay out of it.
            models.Index(
                fields=["next_check_at"],
                name="support_clock_next_check",
                condition=Q(next_check_at__isnull=False),
            ),
            # The agents' queue: running clocks by due time ("breaching within an hour").
            models.Index(
                fields=["due_at"], name="support_clock_running_due", condition=Q(stopped_at=None)
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "kind"],
                condition=Q(stopped_at=None),
                name="support_clock_one_running_per_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.ticket_id}"

    @classmethod
    def start(
        cls,
        *,
        ticket: Ticket,
        kind: str,
        policy: SlaPolicy,
        at: datetime,
        calendar: WorkingCalendar | None = None,
    ) -> SlaClock:
        """A running clock of `kind` for `ticket` under `policy`, not yet saved."""
        ceiling = policy.resolution_ceiling if kind == cls.Kind.RESOLUTION else None
        clock = cls(
            ticket=ticket,
            kind=kind,
            calendar=policy.calendar,
            target=policy.target(kind),
            started_at=at,
            ceiling_at=ticket.created_at + ceiling if ceiling else None,
        )
        clock._reschedule(clock._working_calendar(calendar))
        return clock

    @property
    def is_paused(self) -> bool:
        return self.paused_at is not None and self.stopped_at is None

    @property
    def is_running(self) -> bool:
        return self.paused_at is None and self.stopped_at is None

    @property
    def met_target(self) -> bool | None:
        """Whether a stopped clock stopped in time; None while it runs."""
        if self.stopped_at is None or self.due_at is None:
            return None
        return self.stopped_at <= self.due_at

    def pause(self, *, at: datetime, calendar: WorkingCalendar | None = None) -> None:
        """Stop counting while the ticket waits on the client; pausing twice changes nothing."""
        self._refuse_if_stopped()
        if self.paused_at is None:
            self.paused_at = at
            self._reschedule(self._working_calendar(calendar))

    def resume(self, *, at: datetime, calendar: WorkingCalendar | None = None) -> None:
        """Count again; the thresholds move by the working time spent paused."""
        self._refuse_if_stopped()
        if self.paused_at is not None:
            calendar = self._working_calendar(calendar)
            self._end_pause(at, calendar)
            self._reschedule(calendar)

    def stop(self, *, at: datetime, calendar: WorkingCalendar | None = None) -> None:
        """Stop for good (answered, resolved, closed or merged), keeping the final due time."""
        if self.stopped_at is not None:
            return
        calendar = self._working_calendar(calendar)
        if self.paused_at is not None:
            self._end_pause(at, calendar)
        self._reschedule(calendar)
        self.used = sla.elapsed(self, at, calendar)
        self.stopped_at = at
        self.next_check_at = None

    def elapsed(self, *, at: datetime, calendar: WorkingCalendar | None = None) -> timedelta:
        return sla.elapsed(self, at, self._working_calendar(calendar))

    def remaining(self, *, at: datetime, calendar: WorkingCalendar | None = None) -> timedelta:
        """Working time left at `at` (negative once breached), ceiling aside."""
        return self.target - self.elapsed(at=at, calendar=calendar)

    def percent_elapsed(self, *, at: datetime, calendar: WorkingCalendar | None = None) -> float:
        return sla.percent_elapsed(self, at, self._working_calendar(calendar))

    def crossed_thresholds(self, *, at: datetime) -> list[int]:
        """The thresholds (75, 90, 100) reached by `at` and not yet recorded."""
        if self.stopped_at is not None:
            return []
        return [
            percent
            for percent, recorded, due in self._thresholds()
            if recorded is None and due is not None and at >= due
        ]

    def record_thresholds(self, *, at: datetime) -> list[int]:
        """Mark the thresholds crossed by `at` as warned or breached; return them."""
        crossed = self.crossed_thresholds(at=at)
        for percent in crossed:
            setattr(self, _RECORDED_FIELD[percent], at)
        if crossed:
            self.next_check_at = self._next_check()
        return crossed

    def _thresholds(self) -> list[tuple[int, datetime | None, datetime | None]]:
        return [
            (75, self.warned_75_at, self.due_75_at),
            (90, self.warned_90_at, self.due_90_at),
            (100, self.breached_at, self.due_at),
        ]

    def _next_check(self) -> datetime | None:
        if self.stopped_at is not None:
            return None
        for _percent, recorded, due in self._thresholds():
            if recorded is None:
                return due
        return None

    def _reschedule(self, calendar: WorkingCalendar) -> None:
        schedule = sla.schedule(self, calendar)
        self.due_75_at, self.due_90_at, self.due_at = schedule
        self.next_check_at = self._next_check()

    def _end_pause(self, at: datetime, calendar: WorkingCalendar) -> None:
        assert self.paused_at is not None
        self.paused_total += working_time_between(self.paused_at, at, calendar)
        self.paused_at = None

    def _refuse_if_stopped(self) -> None:
        if self.stopped_at is not None:
            raise ValueError(f"SLA clock {self.pk} stopped at {self.stopped_at}")

    def _working_calendar(self, calendar: WorkingCalendar | None) -> WorkingCalendar:
        if calendar is not None:
            if calendar.kind != self.calendar:
                raise ValueError(f"a {self.calendar} clock was given the {calendar.kind} calendar")
            return calendar
        return get_calendar(self.calendar)


_RECORDED_FIELD = {75: "warned_75_at", 90: "warned_90_at", 100: "breached_at"}
