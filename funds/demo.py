"""Demo client money: every margin account's balances in the ledger, deposit references, bank
accounts for alice and bob, a funded risk reserve, yesterday's custodian statement (one deposit
matched to alice, one unmatched receipt in suspense for carol to work) and a day of interest.
Idempotent: what exists is left alone.
"""

from __future__ import annotations

import contextlib
import datetime
from decimal import Decimal

from django.utils import timezone

from accounts.models import KycCase, User
from funds import custodian, ledger, services
from funds.ledger import Kind
from funds.models import BankAccount, Charge, CustodianStatement
from margin.models import MarginAccount
from portal import calendars

CLIENTS = {
    "alice@demo.wangrun.test": "6222020200112233445",
    "bob@demo.wangrun.test": "6217000010012345678",
}


def seed() -> list[str]:
    today = timezone.localdate()
    # Balances brought forward a week back, so the demo statement and yesterday's custodian
    # statement start from them.
    brought_forward = today - datetime.timedelta(days=7)
    for account in MarginAccount.objects.order_by("pk"):
        opened = timezone.localdate(account.opened_at)
        ledger.open_margin_account(account, value_date=min(opened, brought_forward))
        services.deposit_reference_for(account)
    for email, number in CLIENTS.items():
        user = User.objects.filter(email=email).first()
        if user is None:
            continue
        # The portal personas have no onboarding case in the accounts demo; withdrawals need one.
        KycCase.objects.get_or_create(
            user=user, defaults={"status": KycCase.Status.APPROVED, "legal_name": user.full_name}
        )
        if not BankAccount.objects.filter(client=user).exists() and user.full_name:
            with contextlib.suppress(services.BankAccountError):
                services.bank_account_add(
                    client=user, bank_name="工商银行", account_number=number,
                    holder_name=user.full_name,
                )  # fmt: skip
    if ledger.balance(ledger.house_account(Kind.RISK_RESERVE)) == 0:
        financing = ledger.kind_total([Kind.CLIENT_DEBT])
        amount = (financing * Decimal("0.06")).quantize(ledger.FEN)
        if amount > 0:
            services.risk_reserve_fund(amount=amount, actor="demo seed")
    _statement(today - datetime.timedelta(days=1))
    _interest(today)
    return []


def _statement(day: datetime.date) -> None:
    alice = MarginAccount.objects.filter(client__email="alice@demo.wangrun.test").first()
    if alice is None or CustodianStatement.objects.exists():
        return
    bob = MarginAccount.objects.filter(client__email="bob@demo.wangrun.test").first()
    reference = services.deposit_reference_for(alice).reference
    opening = ledger.balance(ledger.house_account(Kind.CUSTODIAN), until=day)
    closing = opening + Decimal("20000.00") + Decimal("8888.00")
    rows = [
        "value_date,bank_reference,type,amount,counterparty_name,counterparty_account,memo",
        f"{day},OPEN-{day},OPENING,{opening},,,",
        f"{day},DEMO{day:%Y%m%d}001,CREDIT,20000.00,林岚,6222020200112233445,入金 {reference}",
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
