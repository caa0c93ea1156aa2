"""The client's own figures for the risk warning: lines, rate, leverage tier, margin-call deadline,
and a worked example of a 20% fall on their numbers.

From the client's active margin contract when they have one (read-only, through margin's models);
otherwise from the contract terms and fee schedule in force in disclosures — clients going
through the gate usually have no contract yet. Everything is returned as strings so the figures
can be stored in the evidence exactly as rendered.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from disclosures import selectors as disclosures
from margin import rules as margin_rules
from margin.models import MarginAccount, MarginContract, Position
from portal import money

if TYPE_CHECKING:
    from accounts.models import User

# DESIGN.md: below the call line the client must restore the ratio to the warning line within
# 2 trading days. Not (yet) a contract item in disclosures, so it is stated here once.
CALL_DEADLINE_TRADING_DAYS = 2
EXAMPLE_FALL = Decimal("0.20")
# The example for a client without debt: RMB 100,000 of their own, financed to the tier's cap,
# all of it invested.
EXAMPLE_MARGIN = Decimal("100000.00")
FEN = Decimal("0.01")


@dataclass(frozen=True)
class ClientFigures:
    source: str  # "contract" or "defaults"
    contract_number: str
    leverage_tier: int
    annual_rate: str  # "8.35%"
    withdrawal_line: str
    warning_line: str
    call_line: str
    liquidation_line: str
    call_deadline_days: int
    financing_cap: str
    example_own: bool  # True when the example uses the client's real account
    example_cash: str
    example_market_value: str
    example_liabilities: str
    ratio_before: str
    ratio_after: str
    fall_to_call: str
    fall_to_liquidation: str
    call_reach: str  # "fall" (a fall of fall_to_call reaches it), "reached" or "none"
    liquidation_reach: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def percent(value: Decimal, places: str = "0.01") -> str:
    """0.0835 → "8.35%"; 1.3 → "130%" (no trailing zeros)."""
    shown = (Decimal(value) * 100).quantize(Decimal(places), rounding=ROUND_HALF_UP).normalize()
    return f"{shown:f}%"


def _money(value: Decimal) -> str:
    return money.yuan(value)


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
