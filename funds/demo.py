"""Demo client money: every margin account's balances in the ledger, deposit references, payout
bank accounts in the clients' verified names, a funded risk reserve, yesterday's custodian
statement (a deposit matched to 陈静 at WARNING, one for bob so he may withdraw, an unmatched
receipt in suspense for carol to work), a day of interest, and payout@'s ¥80,000 withdrawal
waiting for its two approvals. Idempotent: what exists is left alone.
"""

from __future__ import annotations

import contextlib
import datetime
from decimal import Decimal

from django.utils import timezone

from accounts.models import User
from funds import custodian, ledger, services
from funds.ledger import Kind
from funds.models import BankAccount, Charge, CustodianStatement, WithdrawalRequest
from margin.models import MarginAccount
from portal import calendars

BANK_ACCOUNTS = {
    "alice@demo.wangrun.test": ("工商银行", "6222020200112233445"),
    "bob@demo.wangrun.test": ("中国银行", "6217000010012345678"),
    "payout@demo.wangrun.test": ("招商银行", "6225880112345678"),
}
LARGE_WITHDRAWAL = ("payout@demo.wangrun.test", Decimal("80000.00"))


def seed() -> list[str]:
    today = timezone.localdate()
    # Each account's balances enter the ledger on the day it was opened (margin.demo: a week
    # before yesterday's custodian statement).
    for account in MarginAccount.objects.order_by("pk"):
        ledger.open_margin_account(account, value_date=timezone.localdate(account.opened_at))
        services.deposit_reference_for(account)
    for email, (bank, number) in BANK_ACCOUNTS.items():
        user = User.objects.get(email=email)
        if not BankAccount.objects.filter(client=user).exists():
            services.bank_account_add(
                client=user, bank_name=bank, account_number=number, holder_name=user.full_name
            )
    if ledger.balance(ledger.house_account(Kind.RISK_RESERVE)) == 0:
        financing = ledger.kind_total([Kind.CLIENT_DEBT])
        amount = (financing * Decimal("0.06")).quantize(ledger.FEN)
        if amount > 0:
            services.risk_reserve_fund(amount=amount, actor="demo seed")
    _statement(today - datetime.timedelta(days=1))
    _interest(today)
    _large_withdrawal()
    return []


def _large_withdrawal() -> None:
    """Above the four-eyes threshold: held from the client's cash, waiting for two approvers."""
    email, amount = LARGE_WITHDRAWAL
    account = MarginAccount.objects.get(client__email=email)
    if WithdrawalRequest.objects.filter(margin_account=account).exists():
        return
    services.withdrawal_request(
        client=account.client,
        margin_account_id=account.pk,
        bank_account_id=BankAccount.objects.get(client=account.client).pk,
        amount=amount,
        idempotency_key="demo-large-withdrawal",
    )


def _statement(day: datetime.date) -> None:
    # 陈静, at WARNING (about 140%), pays in 8,000 to get further from the call line: about 146%,
    # still WARNING, so the demo shows every level (alice stays where the live dashboard's
    # walk-through expects her).
    warned = MarginAccount.objects.filter(client__email="warning@margin-demo.wangrun.test").first()
    if warned is None or CustodianStatement.objects.exists():
        return
    bob = MarginAccount.objects.filter(client__email="bob@demo.wangrun.test").first()
    reference = services.deposit_reference_for(warned).reference
    opening = ledger.balance(ledger.house_account(Kind.CUSTODIAN), until=day)
    closing = opening + Decimal("8000.00") + Decimal("8888.00")
    rows = [
        "value_date,bank_reference,type,amount,counterparty_name,counterparty_account,memo",
        f"{day},OPEN-{day},OPENING,{opening},,,",
        f"{day},DEMO{day:%Y%m%d}001,CREDIT,8000.00,陈静,6222600110022334455,入金 {reference}",
        f"{day},DEMO{day:%Y%m%d}002,CREDIT,8888.00,张三,6228480011223344556,保证金",
    ]
    if bob is not None:  # enough that bob, above 300% afterwards, may withdraw some
        bob_reference = services.deposit_reference_for(bob).reference
        rows.append(
            f"{day},DEMO{day:%Y%m%d}003,CREDIT,150000.00,王博,6217000010012345678,{bob_reference}"
        )
        closing += Decimal("150000.00")
    rows.append(f"{day},CLOSE-{day},CLOSING,{closing},,,")
    custodian.custodian_statement_import(data=("\n".join(rows) + "\n").encode(), actor="demo seed")


def _interest(today: datetime.date) -> None:
    from disclosures.selectors import FeeItemNotFound

    calendar = calendars.trading_calendar()
    day = today - datetime.timedelta(days=1)
    while not calendar.is_working_day(day):
        day -= datetime.timedelta(days=1)
    if Charge.objects.filter(day=day).exists():
        return
    with contextlib.suppress(FeeItemNotFound):  # no fee schedule in force: nothing is charged
        services.interest_accrue(trading_day=day)
