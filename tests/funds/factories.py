"""Funds test data: clients with verified KYC, margin accounts brought into the ledger."""

from __future__ import annotations

import datetime
from decimal import Decimal

from accounts.models import KycCase
from funds import ledger, services
from margin.models import Instrument, MarginAccount, MarginContract, Position
from tests.factories import UserFactory

D = Decimal
OPENED = datetime.date(2026, 11, 2)
TIER_RATES = {1: D("0.078000"), 2: D("0.083500"), 3: D("0.089000")}  # demo fee schedule v1


def verified_client(legal_name: str = "林岚", **kwargs):
    user = UserFactory(**kwargs)
    KycCase.objects.create(user=user, status=KycCase.Status.APPROVED, legal_name=legal_name)
    return user


def funded_account(
    client, *, cash="0.00", debt="0.00", holdings=(), tier=1, rollover=datetime.date(2027, 5, 2)
) -> MarginAccount:
    """A margin account with a contract at DESIGN.md's lines and the demo fee schedule's rate of
    its tier, its balances in the ledger."""
    number = f"MA{MarginAccount.objects.count() + 1:08d}"
    account = MarginAccount.objects.create(client=client, number=number, cash=D(cash), debt=D(debt))
    MarginContract.objects.create(
        account=account,
        number=f"RZ-{number}",
        annual_rate=TIER_RATES[tier],
        credit_limit=D("1000000.00"),
        leverage_tier=tier,
        starts_on=OPENED,
        rollover_on=rollover,
    )
    for code, quantity, price in holdings:
        instrument, _created = Instrument.objects.get_or_create(
            code=code,
            defaults={
                "name_zh": f"股票{code[:6]}",
                "name_en": f"Stock {code[:6]}",
                "previous_close": D(price),
                "last_price": D(price),
            },
        )
        Position.objects.create(
            account=account, instrument=instrument, quantity=quantity, cost=D(price) * quantity
        )
    ledger.open_margin_account(account, value_date=OPENED)
    return account


def bank_account(client, *, number="6222020200112233445"):
    return services.bank_account_add(
        client=client,
        bank_name="工商银行",
        account_number=number,
        holder_name=client.kyc_case.legal_name,
    )
