"""Margin answers disclosures' signals (a client's accepted version reaches their contract) and
its questions (the calculator's starting tier)."""

from __future__ import annotations

from typing import Any

from margin import contracts, selectors


def on_version_in_force_changed(
    sender: Any, kind: str, old_version: Any, new_version: Any, **kwargs: Any
) -> None:
    contracts.contracts_adopt_accepted(version=new_version)


def on_version_accepted(sender: Any, user: Any, version: Any, **kwargs: Any) -> None:
    contracts.contract_adopt_on_acceptance(user=user, version=version)


def client_tier(user: Any) -> int | None:
    """The leverage tier of the client's active contract, where the fee calculator starts."""
    contract = selectors.client_active_contract(user)
    return contract.leverage_tier if contract else None
