"""Signals margin sends for other apps to keep their records; margin imports none of them."""

from django.dispatch import Signal

# Sent inside the transaction of ``liquidation_plan_execute`` once an approved plan has filled,
# before any balance moves, with keyword arguments:
#   plan (LiquidationPlan), account_id (int), proceeds (Decimal, the gross sale proceeds),
#   costs (dict of "commission", "stamp_duty", "transfer_fee" -> Decimal, what the sales paid),
#   cost_references (dict of fee item code -> "fee_schedule vN code", what justifies each),
#   repaid (dict of "fees_owed", "accrued_interest", "debt" -> Decimal, in that order, out of
#   the proceeds net of the costs).
# A receiver that records the fill returns True and must move the account's balances itself
# (funds posts a ledger entry, which applies them through ``account_balances_apply``); when no
# receiver does, margin applies the same amounts through ``account_balances_apply``.
liquidation_filled = Signal()

# Sent by ``liquidation_plan_execute`` for an approved plan before margin fills it at the feed's
# prices itself, with keyword argument plan (LiquidationPlan). A receiver that sends the plan's
# sales to a trading channel returns True: the fills, fees and proceeds then come back through
# that channel, and ``margin.holdings.liquidation_plan_executed`` records the plan as executed
# once its last sale is closed. Sending it again for the same plan must change nothing.
liquidation_sales_route = Signal()
