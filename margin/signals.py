"""Signals margin sends for other apps to keep their records; margin imports none of them."""

from django.dispatch import Signal

# Sent inside the transaction of ``liquidation_plan_execute`` once an approved plan has filled,
# before any balance moves, with keyword arguments:
#   plan (LiquidationPlan), account_id (int), proceeds (Decimal, the gross sale proceeds),
#   costs (dict of "commission", "stamp_duty", "transfer_fee" -> Decimal, what the sales paid),
#   cost_references (dict of fee item code -> "fee_schedule vN code", what justifies each),
#   repaid (dict of "fees_owed", "accrued_interest", "debt" -> Decimal, in that order, out of
#   the proceeds net of the costs).
# The app that keeps the books (``margin.books``; funds) records the fill and moves the account's
# balances itself (its ledger entry applies them through ``account_balances_apply``); when no app
# keeps the books, margin applies the same amounts through ``account_balances_apply``.
liquidation_filled = Signal()
