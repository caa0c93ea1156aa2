"""Every admin list a manager takes away, as CSV or Excel: the columns on screen, as shown.

An export is an admin action, so it carries the list's own filters, search and row limits
(``get_queryset``: an agent's export holds no compliance tickets) and is offered only to staff
who may read the list. What it holds is what the list shows: masked numbers stay masked, no
hidden column leaves. Each export is one audit entry (who, which list, how many rows).
"""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Iterable

from django.contrib.admin.utils import label_for_field, lookup_field
from django.db import transaction
from django.http import HttpResponse
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.translation import gettext as _
from openpyxl import Workbook

import audit

MAX_ROWS = 50_000
# CSV opened in Excel on a Chinese Windows needs the byte-order mark to read UTF-8.
BOM = "\ufeff"


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return strip_tags(str(value)).strip()


def table(model_admin, request, queryset) -> tuple[list[str], list[list[str]]]:
    """The list's columns and rows, each cell as the list shows it (in Beijing time)."""
    columns = [
        name
        for name in model_admin.get_list_display(request)
        if name != "action_checkbox" and not callable(name)
    ]
    header = [
        strip_tags(str(label_for_field(name, model_admin.model, model_admin))) for name in columns
    ]
    rows = []
    for obj in queryset[:MAX_ROWS]:
        row = []
        for name in columns:
            field, _attr, value = lookup_field(name, obj, model_admin)
            if field is not None and getattr(field, "choices", None):
                value = dict(field.flatchoices).get(value, value)
            row.append(_text(value))
        rows.append(row)
    return header, rows


def _record(request, model_admin, fmt: str, count: int) -> None:
    meta = model_admin.model._meta
    with transaction.atomic():
        audit.record(
            actor=request.user,
            action="admin.exported",
            object_type=meta.label_lower,
            data={"format": fmt, "rows": count},
        )


def _filename(model_admin, ext: str) -> str:
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return f"{model_admin.model._meta.model_name}-{stamp}.{ext}"


def _attachment(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _csv(header: list[str], rows: Iterable[list[str]]) -> bytes:
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer)
    writer.writerow(header)
    # A cell starting with = + - @ is a formula to a spreadsheet: quoted so it stays text.
    writer.writerows([[f"'{c}" if c[:1] in "=+-@" else c for c in row] for row in rows])
    return buffer.getvalue().encode("utf-8")


def _xlsx(title: str, header: list[str], rows: Iterable[list[str]]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31] or "export")
    sheet.append(header)
    for row in rows:
        # Written as strings: openpyxl never evaluates them, so nothing is a formula.
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def export_csv(model_admin, request, queryset):
    header, rows = table(model_admin, request, queryset)
    _record(request, model_admin, "csv", len(rows))
    return _attachment(_csv(header, rows), "text/csv; charset=utf-8", _filename(model_admin, "csv"))


def export_xlsx(model_admin, request, queryset):
    header, rows = table(model_admin, request, queryset)
    _record(request, model_admin, "xlsx", len(rows))
    title = str(model_admin.model._meta.verbose_name_plural)
    return _attachment(
        _xlsx(title, header, rows),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _filename(model_admin, "xlsx"),
    )
