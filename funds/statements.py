"""Client statements as PDFs (WeasyPrint, WenQuanYi Micro Hei for Chinese; see disclosures.pdf).

Rendered in a worker and stored with their SHA-256; a request only asks for one and serves the
stored file.
"""

from __future__ import annotations

import datetime
import hashlib

from dateutil.relativedelta import relativedelta
from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

import audit
from funds import selectors
from funds.models import Statement
from margin.models import MarginAccount, MarginEvent, Position
from notices import services as notices
from portal.background import finished, queue_once

FONT_FAMILY = "WenQuanYi Micro Hei"


def _language(account: MarginAccount) -> str:
    return getattr(account.client, "language", "") or "zh-hans"


# One statement covers at most this many days, counting both ends; the form (funds.forms) also
# keeps periods within the last ten years and not past today.
STATEMENT_MAX_DAYS = 366
STATEMENT_HISTORY_DAYS = 3653


@transaction.atomic
def statement_request(
    *, margin_account: MarginAccount, start: datetime.date, end: datetime.date, monthly=False
) -> Statement:
    """Ask for a statement of a period; it is rendered after commit (in Celery)."""
    if end < start:
        raise ValueError("the period must end on or after its start")
    if (end - start).days + 1 > STATEMENT_MAX_DAYS:
        raise ValueError(f"a statement covers at most {STATEMENT_MAX_DAYS} days")
    if monthly:
        statement, created = Statement.objects.get_or_create(
            margin_account=margin_account,
            period_start=start,
            monthly=True,
            defaults={"period_end": end},
        )
        if not created:
            return statement
    else:
        statement = Statement.objects.create(
            margin_account=margin_account, period_start=start, period_end=end
        )
    from funds import tasks

    transaction.on_commit(lambda: tasks.render_statement.delay(statement.pk))
    return statement


def statement_context(statement: Statement) -> dict:
    account = statement.margin_account
    start, end = statement.period_start, statement.period_end
    movements = selectors.movements(account, start=start, end=end)
    movements.reverse()  # oldest first on paper
    return {
        "statement": statement,
        "account": account,
        "client_name": account.client.display_name,
        "opening": selectors.balances_at(account, start - datetime.timedelta(days=1)),
        "closing": selectors.balances_at(account, end),
        "movements": movements,
        "charges": selectors.charges(account, start=start, end=end).order_by("day", "kind"),
        "positions": Position.objects.filter(account=account).select_related("instrument"),
        "events": MarginEvent.objects.filter(
            account=account, occurred_at__date__gte=start, occurred_at__date__lte=end
        ).order_by("occurred_at"),
        "font_family": FONT_FAMILY,
        "generated_at": timezone.now(),
    }


def render_pdf(statement: Statement) -> bytes:
    from weasyprint import HTML  # heavy import, only in workers

    with translation.override(_language(statement.margin_account)):
        html = render_to_string("funds/statement_pdf.html", statement_context(statement))
    return HTML(string=html).write_pdf()


def statement_available(statement: Statement) -> bool:
    """The statement's PDF is stored and is the file recorded (same SHA-256)."""
    if not statement.pdf or not statement.pdf.storage.exists(statement.pdf.name):
        return False
    with statement.pdf.open("rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest() == statement.sha256


def statement_requested(statement: Statement) -> bool:
    """A client asked for the statement: queue it (again) if it is missing or does not match its
    hash; True when it can be served now."""
    from funds import tasks

    if statement_available(statement):
        return True
    queue_once(f"statement:{statement.pk}", tasks.render_statement, statement.pk)
    statement.refresh_from_db(fields=["pdf", "sha256"])
    return statement_available(statement)


def statements_requeue(*, before: datetime.datetime) -> int:
    """Stuck work: statements asked for before `before` and never rendered."""
    from funds import tasks

    pending = Statement.objects.filter(pdf="", created_at__lt=before).values_list("pk", flat=True)
    return sum(queue_once(f"statement:{pk}", tasks.render_statement, pk) for pk in pending[:500])


def statement_render(*, statement_id: int) -> Statement:
    """Render and store a statement's PDF once (again if the stored file went missing or does not
    match its hash); tell the client it is ready, once."""
    statement = Statement.objects.select_related("margin_account__client").get(pk=statement_id)
    if statement_available(statement):
        return statement
    data = render_pdf(statement)
    with transaction.atomic():
        statement = Statement.objects.select_for_update().get(pk=statement_id)
        if statement_available(statement):
            return statement
        statement.sha256 = hashlib.sha256(data).hexdigest()
        statement.pdf.save(
            f"{statement.margin_account.number}-{statement.pk}.pdf", ContentFile(data)
        )
        audit.record(
            actor="statements",
            action="funds.statement_rendered",
            obj=statement,
            data={"sha256": statement.sha256},
        )
        notices.enqueue(
            recipient=statement.margin_account.client,
            key="funds_statement_ready",
            context={
                "account_number": statement.margin_account.number,
                "period": f"{statement.period_start} – {statement.period_end}",
            },
            idempotency_key=f"funds-statement:{statement.pk}",
        )
    finished(f"statement:{statement.pk}")
    return statement


def monthly_statements_create(*, today: datetime.date | None = None) -> list[Statement]:
    """Last month's statement for every account (once each; safe to run again)."""
    today = today or timezone.localdate()
    end = today.replace(day=1) - datetime.timedelta(days=1)
    start = end.replace(day=1)
    created = []
    for account in MarginAccount.objects.filter(opened_at__date__lte=end).order_by("pk"):
        created.append(
            statement_request(margin_account=account, start=start, end=end, monthly=True)
        )
    return created


def last_month(today: datetime.date) -> tuple[datetime.date, datetime.date]:
    start = (today - relativedelta(months=1)).replace(day=1)
    return start, today.replace(day=1) - datetime.timedelta(days=1)
