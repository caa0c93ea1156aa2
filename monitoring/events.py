"""External events (media, social, macro) from a third party's file, each turned into an alert
linked to the part of the book it touches. Nothing is fetched and nothing is scored here: the
file says what happened and how severe it is.

Formats: JSON (a list of objects) or CSV with a header. Fields: ``time`` (ISO 8601; naive is
Beijing time), ``scope`` (instrument, sector or market) with ``subject`` — or one of
``instrument`` / ``sector`` naming the subject, or ``market`` — ``severity`` (info, warning,
critical; low/medium/high accepted), ``source`` and ``text``. The whole file is checked first:
one bad row and nothing is imported. Importing the same event twice imports it once.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

import audit
from margin import selectors as margin
from monitoring import alerts
from monitoring.models import ExternalEvent
from monitoring.surveillance import Pass, Signal
from portal import calendars

SEVERITY = {
    "info": "info",
    "low": "info",
    "warning": "warning",
    "medium": "warning",
    "critical": "critical",
    "high": "critical",
}
MAX_ROWS = 10_000


class EventFileError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class EventRow:
    occurred_at: datetime.datetime
    scope: str
    subject: str
    severity: str
    source: str
    text: str

    @property
    def digest(self) -> str:
        raw = "|".join(
            [self.occurred_at.isoformat(), self.scope, self.subject, self.source, self.text]
        )
        return hashlib.sha256(raw.encode()).hexdigest()


def parse(data: bytes, *, name: str = "") -> list[EventRow]:
    """Every row of the file, checked; EventFileError lists every problem found."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise EventFileError([_("The file is not UTF-8 text.")]) from None
    stripped = text.lstrip()
    if name.lower().endswith(".json") or stripped.startswith(("[", "{")):
        try:
            records = json.loads(text)
        except json.JSONDecodeError as error:
            raise EventFileError([_("Not valid JSON: %(error)s") % {"error": error}]) from None
        if isinstance(records, dict):
            records = records.get("events", [records])
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise EventFileError([_("JSON must be a list of event objects.")])
    else:
        records = list(csv.DictReader(io.StringIO(text)))
    if not records:
        raise EventFileError([_("The file has no events.")])
    if len(records) > MAX_ROWS:
        raise EventFileError([_("At most %(n)d events per file.") % {"n": MAX_ROWS}])
    rows, problems = [], []
    codes, sectors = margin.instrument_codes_and_sectors()
    for number, record in enumerate(records, start=1):
        try:
            rows.append(
                _row({str(k).strip().lower(): v for k, v in record.items()}, codes, sectors)
            )
        except ValueError as error:
            problems.append(_("Event %(n)d: %(error)s") % {"n": number, "error": error})
    if problems:
        raise EventFileError(problems)
    return rows


def _row(record: dict[str, Any], codes: set[str], sectors: set[str]) -> EventRow:
    def text_of(key: str) -> str:
        return str(record.get(key) or "").strip()

    try:
        moment = datetime.datetime.fromisoformat(text_of("time"))
    except ValueError:
        raise ValueError(_("time must be an ISO 8601 date and time")) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=calendars.SHANGHAI)
    scope, subject = text_of("scope").lower(), text_of("subject")
    if not scope:
        if text_of("instrument"):
            scope, subject = "instrument", text_of("instrument")
        elif text_of("sector"):
            scope, subject = "sector", text_of("sector")
        else:
            scope = "market"
    if scope == "market":
        subject = subject or "market"
    elif scope == "instrument" and subject.upper() not in codes:
        raise ValueError(_("unknown instrument %(code)s") % {"code": subject})
    elif scope == "sector" and subject not in sectors:
        raise ValueError(_("unknown sector %(sector)s") % {"sector": subject})
    elif scope not in ("instrument", "sector"):
        raise ValueError(_("scope must be instrument, sector or market"))
    severity = SEVERITY.get(text_of("severity").lower())
    if severity is None:
        raise ValueError(_("severity must be info, warning or critical"))
    if not text_of("source") or not text_of("text"):
        raise ValueError(_("source and text are required"))
    return EventRow(
        occurred_at=moment,
        scope=scope,
        subject=subject.upper() if scope == "instrument" else subject,
        severity=severity,
        source=text_of("source")[:100],
        text=text_of("text")[:2000],
    )


def book_affected(scope: str, subject: str) -> dict[str, Any]:
    """Holders, value held and share of the platform's positions the event touches."""
    return margin.exposure(scope, subject)


@transaction.atomic
def events_import(*, data: bytes, name: str = "", actor: Any) -> list[ExternalEvent]:
    """Import a file: each new event is stored and raises an alert. Returns the new events."""
    rows = parse(data, name=name)
    known = set(
        ExternalEvent.objects.filter(digest__in=[r.digest for r in rows]).values_list(
            "digest", flat=True
        )
    )
    created = []
    for row in rows:
        if row.digest in known:
            continue
        known.add(row.digest)
        affected = book_affected(row.scope, row.subject)
        event = ExternalEvent.objects.create(
            occurred_at=row.occurred_at,
            scope=row.scope,
            subject=row.subject,
            severity=row.severity,
            source=row.source,
            text=row.text,
            digest=row.digest,
            imported_by=str(getattr(actor, "email", actor) or "import"),
            book=affected,
        )
        signal = Signal(
            rule="external_event",
            subject_kind=row.scope,
            subject=row.subject,
            level=row.severity,
            value=Decimal(1),
            threshold=Decimal(1),
            inputs={"event": event.pk, "source": row.source, "text": row.text, "book": affected},
            # One alert per event, and no evaluation ends it.
            condition=f"external_event:{event.pk}",
        )
        raised = alerts.signals_apply(Pass([signal], set()), at=row.occurred_at, source="event")
        event.alert = raised[0] if raised else None
        event.save(update_fields=["alert"])
        created.append(event)
    audit.record(
        actor=actor,
        action="monitoring.events_imported",
        object_type="monitoring.externalevent",
        data={"file": name, "rows": len(rows), "new": len(created)},
    )
    return created
