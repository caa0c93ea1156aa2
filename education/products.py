"""Products a client can ask for, with their risk level (R1–R5). Margin financing is R4."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Product:
    code: str
    name: str | Promise
    risk: str
    leverage_tier: int = 0  # > 0: a financing product needing the gate for this tier


PRODUCTS = {
    p.code: p
    for p in (
        Product("cash_management", _("Cash management account"), "R1"),
        Product("bond_fund", _("Bond fund"), "R2"),
        Product("equity_fund", _("Equity fund"), "R3"),
        Product("margin_financing", _("Margin financing"), "R4", leverage_tier=1),
        Product("star_market_financing", _("Financing on the STAR Market and ChiNext"), "R5", 3),
        Product("high_risk_securities", _("High-risk stocks (ST, *ST, delisting)"), "R5"),
    )
}


def get(code: str) -> Product | None:
    return PRODUCTS.get(code)


def product_label(code: str) -> str:
    """A stored product code as people read it ("" for the gate of no particular product)."""
    product = PRODUCTS.get(code)
    return str(product.name) if product is not None else code
