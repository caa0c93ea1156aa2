"""Reading the State Council's holiday notice, transcribed by staff as a small CSV or YAML file.

One row per day the notice names: the date, `closed` (a day off) or `open` (a make-up working day,
调休; `make-up` is accepted too), the calendar (`service`, or `trading` for an exchange closure the
service calendar does not imply), and an optional note. CSV has a header line; YAML is a list of
mappings with the same keys. For 2027, for example::

    date,kind,calendar,note
    2027-02-05,closed,service,春节
    2027-02-20,open,service,春节调休上班

A notice may reach back into December of the year before (a make-up Saturday before New Year's
Day), never further. Every problem in the file is reported, with its line, before anything is
written: a half-imported notice would be worse than none.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from typing import Any

import yaml
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from portal.models import CalendarKind, CalendarOverride

# A notice names a few dozen days: anything bigger is the wrong file.
MAX_BYTES = 64 * 1024
COLUMNS = ("date", "kind", "calendar", "note")
REQUIRED = ("date", "kind", "calendar")
KINDS = {
    "closed": CalendarOverride.Kind.CLOSED,
    "open": CalendarOverride.Kind.OPEN,
    "make-up": CalendarOverride.Kind.OPEN,
}
# Errors beyond this many say nothing new: the file needs fixing either way.
MAX_ERRORS = 20


@dataclass(frozen=True)
class NoticeDay:
    line: int
    date: date
    kind: str
    calendar: str
    note: str


def parse(data: bytes, *, filename: str, year: int) -> list[NoticeDay]:
    """The days of a notice for `year`, or a ValidationError listing every problem found."""
    if len(data) > MAX_BYTES:
        raise ValidationError(
            _("The file is larger than %(size)d KB: a holiday notice names a few dozen days.")
            % {"size": MAX_BYTES // 1024},
            code="too_large",
        )
    try:
        text = data.decode("utf-8-sig")  # spreadsheets save CSV with a byte-order mark
    except UnicodeDecodeError:
        raise ValidationError(_("The file is not UTF-8 text."), code="encoding") from None
    name = filename.lower()
    if name.endswith(".csv"):
        rows = _csv_rows(text)
    elif name.endswith((".yaml", ".yml")):
        rows = _yaml_rows(text)
    else:
        raise ValidationError(
            _("Upload a .csv or .yaml file (this one is called “%(name)s”).") % {"name": filename},
            code="file_type",
        )
    if not rows:
        raise ValidationError(_("The file lists no days."), code="empty")

    days, errors = [], []
    seen: dict[tuple[date, str], int] = {}
    for line, row in rows:
        try:
            day = _day(line, row, year=year)
        except ValidationError as error:
            errors.extend(error.messages)
            continue
        earlier = seen.setdefault((day.date, day.calendar), line)
        if earlier != line:
            errors.append(
                _("Line %(line)d: %(date)s is listed for this calendar on line %(earlier)d too.")
                % {"line": line, "date": day.date.isoformat(), "earlier": earlier}
            )
            continue
        days.append(day)
    if errors:
        if len(errors) > MAX_ERRORS:
            more = len(errors) - MAX_ERRORS
            errors = [
                *errors[:MAX_ERRORS],
                _("… and %(count)d more problems.") % {"count": more},
            ]
        raise ValidationError(errors, code="invalid")
    return days


def _csv_rows(text: str) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text))
    header = [column.strip().lower() for column in reader.fieldnames or []]
    missing = [column for column in REQUIRED if column not in header]
    unknown = [column for column in header if column not in COLUMNS]
    if missing or unknown:
        raise ValidationError(
            _(
                "The first line must name the columns date, kind, calendar and, if you like, note "
                "(it has: %(header)s)."
            )
            % {"header": ", ".join(header) or "—"},
            code="header",
        )
    reader.fieldnames = header
    rows = []
    for row in reader:
        values = {key: (value or "").strip() for key, value in row.items() if key is not None}
        if None in row:
            values["_extra"] = row[None]
        if any(values.values()):  # blank lines are not days
            rows.append((reader.line_num, values))
    return rows


def _yaml_rows(text: str) -> list[tuple[int, dict[str, Any]]]:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise ValidationError(
            _("The file is not valid YAML (line %(line)s).")
            % {"line": mark.line + 1 if mark else "?"},
            code="yaml",
        ) from None
    if document is None:
        return []
    if not isinstance(document, list) or not all(isinstance(item, dict) for item in document):
        raise ValidationError(
            _("The YAML file must be a list of days, each with date, kind and calendar."),
            code="yaml_shape",
        )
    rows = []
    for number, item in enumerate(document, start=1):
        values = {str(key).strip().lower(): value for key, value in item.items()}
        unknown = [key for key in values if key not in COLUMNS]
        if unknown:
            values["_unknown"] = unknown
        rows.append((number, values))
    return rows


def _day(line: int, row: dict[str, Any], *, year: int) -> NoticeDay:
    where = {"line": line}
    if row.get("_extra") or row.get("_unknown"):
        raise ValidationError(
            _("Line %(line)d: only date, kind, calendar and note may be given.") % where
        )
    raw_date = row.get("date")
    if isinstance(raw_date, date):
        day = raw_date
    else:
        try:
            day = date.fromisoformat(str(raw_date or "").strip())
        except ValueError:
            raise ValidationError(
                _("Line %(line)d: “%(value)s” is not a date written YYYY-MM-DD.")
                % {**where, "value": raw_date or ""}
            ) from None
    if not (day.year == year or (day.year == year - 1 and day.month == 12)):
        raise ValidationError(
            _("Line %(line)d: %(date)s is outside the notice's year %(year)d.")
            % {**where, "date": day.isoformat(), "year": year}
        )
    kind = KINDS.get(str(row.get("kind") or "").strip().lower())
    if kind is None:
        raise ValidationError(
            _(
                "Line %(line)d: the kind must be “closed” or “open” (a make-up working day), "
                "not “%(value)s”."
            )
            % {**where, "value": row.get("kind") or ""}
        )
    calendar = str(row.get("calendar") or "").strip().lower()
    if calendar not in CalendarKind.values:
        raise ValidationError(
            _("Line %(line)d: the calendar must be “service” or “trading”, not “%(value)s”.")
            % {**where, "value": row.get("calendar") or ""}
        )
    note = str(row.get("note") or "").strip()
    if len(note) > 200:
        raise ValidationError(_("Line %(line)d: the note is longer than 200 characters.") % where)
    if (
        calendar == CalendarKind.TRADING
        and kind == CalendarOverride.Kind.OPEN
        and day.weekday() >= 5
    ):
        raise ValidationError(
            _("Line %(line)d: %(date)s is a weekend day, and the exchange never trades on one.")
            % {**where, "date": day.isoformat()}
        )
    return NoticeDay(line=line, date=day, kind=kind, calendar=calendar, note=note)
