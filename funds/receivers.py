"""Funds answers other apps' signals by handing each to a funds service."""

from __future__ import annotations

from typing import Any

from funds.liquidation import liquidation_fill_post


def liquidation_filled(sender: Any, signal: Any = None, **fill: Any) -> None:
    """A forced-liquidation plan filled (margin.signals): post it to the ledger."""
    liquidation_fill_post(**fill)
