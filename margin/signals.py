"""Signals margin sends for other apps to keep their records; margin imports none of them."""

from django.dispatch import Signal

# Sent inside the transaction of ``liquidation_plan_execute`` once an approved plan has filled,
# before any balance moves, with keyword arguments:
#   plan (LiquidationPlan), account_id (int), proceeds (Decimal, the sale proceeds),
#   repaid (dict of "fees_owed", "accrued_interest", "debt" -> Decimal, in that order).
# A receiver that records the fill returns True and must move the account's balances itself
# (funds posts a ledger entry, which applies them through ``account_balances_apply``); when no
# receiver does, margin applies the same amounts through ``account_balances_apply``.
liquidation_filled = Signal()
