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
    check refuses (suspended, nothing sellable) is left out, as margin's own execution does."""
    from trading import services

    if not getattr(settings, "TRADING_LIQUIDATION_THROUGH_VENUE", True):
        return False
    now = timezone.now()
    for sale in margin_holdings.liquidation_plan_sales(plan.pk):
        try:
            services.order_submit(
                account_id=plan.account_id,
                side=Order.Side.SELL,
                kind=Order.Kind.MARKET,
                code=sale.code,
                quantity=sale.quantity,
                price=None,
                client_token=f"liquidation-{plan.pk}-{sale.item_id}",
                source=Order.Source.LIQUIDATION,
                liquidation_plan_id=plan.pk,
                actor="risk engine",
                at=now,
            )
        except services.OrderRefused:
            continue
    services.liquidation_progress(plan.pk)
    return True
