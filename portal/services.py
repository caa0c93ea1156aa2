"""Keeping the calendars: the State Council's notice imported, days entered one by one; all audited.

Every change to a closed or open day moves SLA dues and margin-call deadlines, so each is an audit
entry, and an import is all or nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from audit import services as audit
from portal import holiday_notice
from portal.models import CalendarOverride, OfficialSchedule

if TYPE_CHECKING:
    from accounts.models import User


@dataclass(frozen=True)
class NoticeImport:
    year: int
    calendars: list[str]
    created: int
    changed: int
    unchanged: int


def _override_data(row: CalendarOverride) -> dict[str, str]:
    return {
        "date": row.date.isoformat(),
        "calendar": row.calendar,
        "kind": row.kind,
        "note": row.note,
    }


@transaction.atomic
def holiday_notice_import(
    *, actor: User, year: int, source: str, filename: str, data: bytes
) -> NoticeImport:
    """Enter a year's official schedule from the notice's file: its days, then the year itself.

    Days already entered are updated to what the notice says (it is the authority); other
    overrides of the year, such as a typhoon closure, stay. Each calendar the file names is marked
    entered for `year`, which ends the rule-based estimate there. Raises ValidationError, having
    written nothing, when the file or the source is wrong.
    """
    source = source.strip()
    if not source:
        raise ValidationError(_("Name the notice the days come from."), code="source")
    days = holiday_notice.parse(data, filename=filename, year=year)
    created, changed, unchanged = 0, [], 0
    for day in days:
        row, made = CalendarOverride.objects.select_for_update().get_or_create(
            date=day.date, calendar=day.calendar, defaults={"kind": day.kind, "note": day.note}
        )
        if made:
            created += 1
        elif row.kind == day.kind and (row.note == day.note or not day.note):
            unchanged += 1
        else:
            before = _override_data(row)
            row.kind, row.note = day.kind, day.note or row.note
            row.save(update_fields=["kind", "note", "updated_at"])
            changed.append({"before": before, "after": _override_data(row)})
    calendars = sorted({day.calendar for day in days})
    for calendar in calendars:
        OfficialSchedule.objects.update_or_create(
            year=year, calendar=calendar, defaults={"source": source, "entered_by": actor}
        )
    audit.record(
        actor=actor,
        action="portal.holiday_notice_imported",
        object_type="portal.officialschedule",
        object_id=year,
        data={
            "year": year,
            "source": source,
            "filename": filename,
            "sha256": hashlib.sha256(data).hexdigest(),
            "calendars": calendars,
            "days": [
                {"date": d.date.isoformat(), "kind": d.kind, "calendar": d.calendar} for d in days
            ],
            "created": created,
            "changed": changed,
            "unchanged": unchanged,
        },
    )
    return NoticeImport(
        year=year,
        calendars=calendars,
        created=created,
        changed=len(changed),
        unchanged=unchanged,
    )


@transaction.atomic
def calendar_override_save(*, actor: User, override: CalendarOverride) -> CalendarOverride:
    """Save a day entered or changed by hand, audited with what it was before."""
    override.full_clean()
    before = None
    if override.pk is not None:
        previous = CalendarOverride.objects.select_for_update().get(pk=override.pk)
        before = _override_data(previous)
    override.save()
    audit.record(
        actor=actor,
        action="portal.calendar_override_saved",
        obj=override,
        data={"before": before, "after": _override_data(override)},
    )
    return override


@transaction.atomic
def calendar_override_delete(*, actor: User, override: CalendarOverride) -> None:
    """Remove a day: the layers below decide it again."""
    data = _override_data(override)
    pk = override.pk
    override.delete()
    audit.record(
        actor=actor,
        action="portal.calendar_override_deleted",
        object_type="portal.calendaroverride",
        object_id=pk,
        data=data,
    )


@transaction.atomic
def official_schedule_enter(
    *, actor: User, year: int, calendar: str, source: str
) -> OfficialSchedule:
    """Declare a year's official schedule complete after entering its days one by one."""
    schedule, _created = OfficialSchedule.objects.update_or_create(
        year=year, calendar=calendar, defaults={"source": source.strip(), "entered_by": actor}
    )
    audit.record(
        actor=actor,
        action="portal.official_schedule_entered",
        obj=schedule,
        data={"year": year, "calendar": calendar, "source": schedule.source},
    )
    return schedule


@transaction.atomic
def official_schedule_withdraw(*, actor: User, schedule: OfficialSchedule) -> None:
    """Make a year provisional again (a schedule entered by mistake)."""
    data = {"year": schedule.year, "calendar": schedule.calendar, "source": schedule.source}
    pk = schedule.pk
    schedule.delete()
    audit.record(
        actor=actor,
        action="portal.official_schedule_withdrawn",
        object_type="portal.officialschedule",
        object_id=pk,
        data=data,
    )
