"""The client's own figures for the risk warning: lines, rate, leverage tier, margin-call deadline,
and a worked example of a 20% fall on their numbers.

Margin computes them (``margin.figures``) and registers itself here as the provider when the
app registry is ready, so education never imports margin: margin sits above education.
Everything is returned as strings so the figures can be stored in the evidence exactly as
rendered.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from portal import formatting

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


# 0.0835 → "8.35%"; 1.3 → "130%" (no trailing zeros).
percent = formatting.percent_trim


class FiguresProvider(Protocol):
    def __call__(self, user: User, *, tier: int | None = None) -> ClientFigures: ...


_provider: list[FiguresProvider] = []


def figures_provider_register(provider: FiguresProvider) -> None:
    """Called once by margin's AppConfig.ready: the app that owns contracts computes the figures."""
    _provider[:] = [provider]


def client_figures(user: User, *, tier: int | None = None) -> ClientFigures:
    """The figures the warning shows this client, for `tier` (default: their contract's, or 1)."""
    if not _provider:
        raise RuntimeError("No figures provider: is 'margin' in INSTALLED_APPS?")
    return _provider[0](user, tier=tier)
