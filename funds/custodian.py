"""The custodian bank's daily statement: the CSV format, its parsing and its import.

Format (UTF-8, comma separated, a header row, one statement date per file)::

    value_date,bank_reference,type,amount,counterparty_name,counterparty_account,memo
    2026-11-26,OPEN,OPENING,1000000.00,,,
    2026-11-26,CMB20261126000123,CREDIT,50000.00,林岚,6222020200112233445,WRAB3CD7EF
    2026-11-26,CMB20261126000124,DEBIT,20000.00,林岚,6222020200112233445,WD42
    2026-11-26,CLOSE,CLOSING,1030000.00,,,

- ``type``: OPENING and CLOSING (exactly one each: the account's balances that day), CREDIT
  (money received) or DEBIT (money paid out).
- ``amount``: yuan with at most 2 decimals, positive; ``bank_reference`` unique per transaction.
- A CREDIT whose memo holds a client's deposit reference (WR + 8 characters) is credited to
  that client; any other CREDIT is held in suspense for an agent. A DEBIT whose memo is ``WD<id>``
  is the payment of that withdrawal; any other DEBIT is left for the reconciliation to show.

The whole file is checked before anything is written; a file already imported is refused.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils.translation import gettext as _

import audit
from funds import ledger, services
from funds.ledger import Kind
from funds.models import (
    CustodianStatement,
    CustodianTransaction,
    DepositReference,
    JournalEntry,
    WithdrawalRequest,
)

COLUMNS = [
    "value_date",
    "bank_reference",
    "type",
    "amount",
    "counterparty_name",
    "counterparty_account",
    "memo",
]
_REFERENCE = re.compile(r"\bWR[A-Z0-9]{8}\b")
_WITHDRAWAL = re.compile(r"\bWD(\d+)\b")


class StatementError(ValueError):
    """The file is not a valid statement; the message says which line and why."""


@dataclass(frozen=True)
class Row:
    line: int
    value_date: datetime.date
    bank_reference: str
    type: str
    amount: Decimal
    counterparty_name: str
    counterparty_account: str
    memo: str


def parse(data: bytes) -> list[Row]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise StatementError("the file is not UTF-8") from exc
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames != COLUMNS:
        raise StatementError(f"the header must be: {','.join(COLUMNS)}")
    rows = []
    for number, raw in enumerate(reader, start=2):
        try:
            value_date = datetime.date.fromisoformat(raw["value_date"].strip())
            amount = Decimal(raw["amount"].strip())
        except (ValueError, InvalidOperation, AttributeError) as exc:
            raise StatementError(f"line {number}: bad date or amount") from exc
        kind = (raw["type"] or "").strip().upper()
        if kind not in ("OPENING", "CLOSING", "CREDIT", "DEBIT"):
            raise StatementError(f"line {number}: type must be OPENING, CLOSING, CREDIT or DEBIT")
        if amount != amount.quantize(ledger.FEN) or (kind in ("CREDIT", "DEBIT") and amount <= 0):
            raise StatementError(f"line {number}: amount must be positive yuan with 2 decimals")
        reference = (raw["bank_reference"] or "").strip()
        if not reference:
            raise StatementError(f"line {number}: bank_reference is empty")
        rows.append(
            Row(
                number,
                value_date,
                reference,
                kind,
                amount.quantize(ledger.FEN),
                (raw["counterparty_name"] or "").strip(),
                (raw["counterparty_account"] or "").strip(),
                (raw["memo"] or "").strip(),
            )
        )
    dates = {row.value_date for row in rows}
    kinds = [row.type for row in rows]
    if len(dates) != 1 or kinds.count("OPENING") != 1 or kinds.count("CLOSING") != 1:
        raise StatementError("a statement covers one date and has one OPENING and one CLOSING")
    moves = [row for row in rows if row.type in ("CREDIT", "DEBIT")]
    if len({row.bank_reference for row in moves}) != len(moves):
        raise StatementError("a bank_reference appears twice")
    opening = next(row.amount for row in rows if row.type == "OPENING")
    closing = next(row.amount for row in rows if row.type == "CLOSING")
    net = sum((r.amount if r.type == "CREDIT" else -r.amount for r in moves), Decimal("0.00"))
    if opening + net != closing:
        raise StatementError(f"opening {opening} plus movements {net} is not closing {closing}")
    return rows


@transaction.atomic
def custodian_statement_import(*, data: bytes, actor="custodian import") -> CustodianStatement:
    """Import one statement: match credits to clients (or suspense), then reconcile its date."""
    rows = parse(data)
    digest = hashlib.sha256(data).hexdigest()
    if CustodianStatement.objects.filter(sha256=digest).exists():
        raise StatementError("this file has already been imported")
    day = rows[0].value_date
    if CustodianStatement.objects.filter(statement_date=day).exists():
        raise StatementError(f"a statement for {day} has already been imported")
    known = set(
        CustodianTransaction.objects.filter(
            bank_reference__in=[r.bank_reference for r in rows]
        ).values_list("bank_reference", flat=True)
    )
    if known:
        raise StatementError(f"already imported: {', '.join(sorted(known))}")
    statement = CustodianStatement.objects.create(
        statement_date=day,
        opening_balance=next(r.amount for r in rows if r.type == "OPENING"),
        closing_balance=next(r.amount for r in rows if r.type == "CLOSING"),
        sha256=digest,
    )
    for row in rows:
        if row.type == "CREDIT":
            _credit(statement, row, actor)
        elif row.type == "DEBIT":
            _debit(statement, row)
    audit.record(
        actor=actor,
        action="funds.statement_imported",
        obj=statement,
        data={"date": day.isoformat(), "rows": len(rows), "sha256": digest},
    )
    services.reconciliation_run(day=day)
    return statement


def _transaction(statement, row: Row, match: str, **extra) -> CustodianTransaction:
    return CustodianTransaction.objects.create(
        statement=statement,
        bank_reference=row.bank_reference,
        value_date=row.value_date,
        direction=row.type,
        amount=row.amount,
        counterparty_name=row.counterparty_name,
        counterparty_account=row.counterparty_account,
        memo=row.memo,
        match=match,
        **extra,
    )


def _credit(statement, row: Row, actor) -> None:
    found = _REFERENCE.search(row.memo.upper())
    reference = (
        DepositReference.objects.select_related("margin_account__client")
        .filter(reference=found.group(0))
        .first()
        if found
        else None
    )
    if reference is not None:
        entry = services.deposit_credit(
            margin_account=reference.margin_account,
            amount=row.amount,
            value_date=row.value_date,
            bank_reference=row.bank_reference,
            actor=actor,
        )
        _transaction(
            statement,
            row,
            CustodianTransaction.Match.DEPOSIT,
            margin_account=reference.margin_account,
            entry=entry,
        )
        return
    entry = ledger.entry_post(
        kind=JournalEntry.Kind.SUSPENSE,
        description=ledger.memo(
            None,
            lambda: (
                _("Unmatched receipt %(ref)s from %(payer)s")
                % {"ref": row.bank_reference, "payer": row.counterparty_name}
            ),
        ),
        value_date=row.value_date,
        lines=[
            (ledger.house_account(Kind.CUSTODIAN), row.amount),
            (ledger.house_account(Kind.SUSPENSE), -row.amount),
        ],
        idempotency_key=f"suspense:{row.bank_reference}",
    )
    _transaction(statement, row, CustodianTransaction.Match.SUSPENSE, entry=entry)


def _debit(statement, row: Row) -> None:
    found = _WITHDRAWAL.search(row.memo.upper())
    withdrawal = (
        WithdrawalRequest.objects.filter(
            pk=int(found.group(1)), status=WithdrawalRequest.Status.PAID, amount=row.amount
        ).first()
        if found
        else None
    )
    if withdrawal is not None:
        _transaction(
            statement,
            row,
            CustodianTransaction.Match.WITHDRAWAL,
            margin_account=withdrawal.margin_account,
            entry=withdrawal.payout_entry,
        )
    else:
        _transaction(statement, row, CustodianTransaction.Match.UNMATCHED_DEBIT)
