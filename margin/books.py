"""Who keeps the books that margin balances follow.

The client-money ledger (funds) is the one owner: it registers here at start-up, and then every
money movement margin causes (a forced-liquidation fill, ``margin.signals``) is posted there as a
balanced entry that moves the margin balances (``account_balances_apply``). Margin moves them
itself only when no app keeps the books. Margin imports no owner; the owner imports margin.
"""

from __future__ import annotations

_owner: list[str] = []


def books_owner_register(app_label: str) -> None:
    """Called once by the owning app's AppConfig.ready."""
    _owner[:] = [app_label]


def books_owner() -> str | None:
    """The app that keeps the books, or None when margin runs alone."""
    return _owner[0] if _owner else None
