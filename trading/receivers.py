"""What trading registers with margin: an approved liquidation plan's sales go through the venue."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone

from margin import holdings as margin_holdings
from trading.models import Order


def route_liquidation(plan: Any) -> bool:
    """Send each planned sale as a market sell order of the channel (risk control's own: halts
    and the ticket's clock do not hold it back, what makes a sale impossible does). A sale the
    check refuses (suspended, nothing sellable) is left out, as margin's own execution does, and
    named in the plan's audit entry."""
    from trading import services

    if not getattr(settings, "TRADING_LIQUIDATION_THROUGH_VENUE", True):
        return False
    now = timezone.now()
    for sale in margin_holdings.liquidation_plan_sales(plan.pk):
        _sell(plan.pk, plan.account_id, sale, now)
    services.liquidation_progress(plan.pk)
    return True


# Refusals that a smaller sale, or the client's own sell orders cancelled, can answer.
_WHAT_THERE_IS = {"not_held", "t_plus_one"}


def _sell(plan_id: int, account_id: int, sale: margin_holdings.PlannedSale, at) -> None:
    """One planned sale. The client's own open sell orders of the instrument hold its shares
    back, so when the sale needs them they are cancelled first (a client cannot shield a
    position from a forced liquidation by offering it at limit-up); a position smaller than
    planned, or partly bought today (T+1), sells what can be sold, as margin's own execution
    does."""
    from trading import services

    quantity, cleared = sale.quantity, False
    while True:
        try:
            services.order_submit(
                account_id=account_id,
                side=Order.Side.SELL,
                kind=Order.Kind.MARKET,
                code=sale.code,
                quantity=quantity,
                price=None,
                client_token=services.liquidation_client_token(plan_id, sale.item_id),
                source=Order.Source.LIQUIDATION,
                liquidation_plan_id=plan_id,
                actor="risk engine",
                at=at,
            )
            return
        except services.OrderRefused as refused:
            check = refused.check
            if not set(check.codes) <= _WHAT_THERE_IS:
                return
            if not cleared:
                cleared = True
                if _cancel_client_sells(plan_id, account_id, sale.code, at):
                    continue
            if 0 < check.sellable < quantity:
                quantity = check.sellable
                continue
            return


def _cancel_client_sells(plan_id: int, account_id: int, code: str, at) -> bool:
    from trading import services

    parked = Order.objects.filter(
        account_id=account_id,
        instrument__code=code,
        side=Order.Side.SELL,
        source=Order.Source.CLIENT,
        status__in=Order.OPEN,
    ).values_list("pk", flat=True)
    cancelled = False
    for order_id in list(parked):
        try:
            services.order_cancel(
                order_id=order_id,
                account_id=account_id,
                actor="risk engine",
                by_risk_control=f"forced liquidation plan {plan_id}",
                at=at,
            )
        except services.CancelRefused:  # the exchange takes no cancellation now, or it filled
            continue
        cancelled = True
    return cancelled
