"""The client's own figures for the risk warning, computed by margin and handed to education.

From the client's active margin contract when they have one; otherwise from the contract terms
and fee schedule in force in disclosures — clients going through the gate usually have no
contract yet. Everything is returned as strings so the figures can be stored in the evidence
exactly as rendered. Education does not import margin: ``margin.apps`` registers
``client_figures`` as education's figures provider.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING

from disclosures import selectors as disclosures
from education.figures import (
    CALL_DEADLINE_TRADING_DAYS,
    EXAMPLE_FALL,
    EXAMPLE_MARGIN,
    FEN,
    ClientFigures,
    percent,
)
from margin import rules as margin_rules
from margin.models import MarginAccount, MarginContract, Position
from portal import formatting

if TYPE_CHECKING:
    from accounts.models import User


def _money(value: Decimal) -> str:
    return formatting.yuan(value)


def _active_contract(user: User) -> MarginContract | None:
    return (
        MarginContract.objects.filter(account__client=user, status=MarginContract.Status.ACTIVE)
        .select_related("account")
        .order_by("-starts_on")
        .first()
    )


def _cap(tier: int) -> Decimal:
    try:
        return disclosures.contract_item_in_force(f"financing_cap_tier{tier}").value
    except disclosures.FeeItemNotFound:
        return Decimal("1.0000")


def client_figures(user: User, *, tier: int | None = None) -> ClientFigures:
    """The figures the warning shows this client, for `tier` (default: their contract's, or 1)."""
    contract = _active_contract(user)
    if contract is not None and (tier is None or tier == contract.leverage_tier):
        lines = contract.lines
        rate = contract.annual_rate
        tier = contract.leverage_tier
        source, number = "contract", contract.number
    elif contract is not None and tier is not None:
        # Another tier on an existing contract: the contract keeps its lines until rollover and
        # takes the tier's rate in force (margin.services.leverage_tier_change).
        lines = contract.lines
        rate = disclosures.financing_rate_in_force(tier).value
        source, number = "tier", contract.number
    else:
        tier = tier or 1
        lines = margin_rules.Lines(
            withdrawal=disclosures.contract_item_in_force("withdrawal_line").value,
            warning=disclosures.contract_item_in_force("warning_line").value,
            call=disclosures.contract_item_in_force("call_line").value,
            liquidation=disclosures.contract_item_in_force("liquidation_line").value,
        )
        rate = disclosures.financing_rate_in_force(tier).value
        source, number = "defaults", ""
    cap = _cap(tier)
    cash, value, owed, own = _example(user, contract, cap)
    before = margin_rules.maintenance_ratio(assets=cash + value, liabilities=owed)
    after_value = (value * (1 - EXAMPLE_FALL)).quantize(FEN, rounding=ROUND_DOWN)
    after = margin_rules.maintenance_ratio(assets=cash + after_value, liabilities=owed)

    def fall(line: Decimal) -> tuple[str, str]:
        d = margin_rules.fall_to_line(line=line, cash=cash, market_value=value, liabilities=owed)
        if d is None:
            return "", "none"
        return percent(d), "reached" if d == 0 else "fall"

    fall_to_call, call_reach = fall(lines.call)
    fall_to_liquidation, liquidation_reach = fall(lines.liquidation)

    return ClientFigures(
        source=source,
        contract_number=number,
        leverage_tier=tier,
        annual_rate=percent(rate),
        withdrawal_line=percent(lines.withdrawal),
        warning_line=percent(lines.warning),
        call_line=percent(lines.call),
        liquidation_line=percent(lines.liquidation),
        call_deadline_days=CALL_DEADLINE_TRADING_DAYS,
        financing_cap=percent(cap),
        example_own=own,
        example_cash=_money(cash),
        example_market_value=_money(value),
        example_liabilities=_money(owed),
        ratio_before=percent(before) if before is not None else "—",
        ratio_after=percent(after) if after is not None else "—",
        fall_to_call=fall_to_call,
        fall_to_liquidation=fall_to_liquidation,
        call_reach=call_reach,
        liquidation_reach=liquidation_reach,
    )


def _example(
    user: User, contract: MarginContract | None, cap: Decimal
) -> tuple[Decimal, Decimal, Decimal, bool]:
    """(cash, market value, liabilities, from the client's own account?)."""
    account = contract.account if contract else MarginAccount.objects.filter(client=user).first()
    if account is not None and account.liabilities > 0:
        holdings = [
            (quantity, last if last is not None else close)
            for quantity, last, close in Position.objects.filter(account=account).values_list(
                "quantity", "instrument__last_price", "instrument__previous_close"
            )
        ]
        return account.cash, margin_rules.market_value(holdings), account.liabilities, True
    financing = (EXAMPLE_MARGIN * cap).quantize(FEN)
    return Decimal("0.00"), EXAMPLE_MARGIN + financing, financing, False
