from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from portal.navigation import NavItem


class TradingConfig(AppConfig):
    name = "trading"
    verbose_name = _("Trading")
    nav_items = [NavItem("trading:ticket", _("Trade"), 25)]

    def ready(self) -> None:
        from margin.sales import liquidation_route_register
        from trading import receivers

        liquidation_route_register(receivers.route_liquidation)
