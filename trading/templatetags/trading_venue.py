"""The notice every trading page shows: executions are simulated, and how the simulated venue
fills (``trading.venue``), with the figures this deployment runs on."""

from django import template
from django.conf import settings

from portal.formatting import percent_trim
from trading import venue

register = template.Library()


@register.inclusion_tag("trading/_simulated.html")
def simulated_notice() -> dict:
    return {
        "on_arrival": getattr(settings, "TRADING_SIM_FILL_ON_ARRIVAL", True),
        "fresh_seconds": f"{getattr(settings, 'TRADING_SIM_PRICE_FRESH_SECONDS', 3.0):g}",
        "participation": percent_trim(venue.participation()),
    }
