from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from portal.navigation import NavItem


class FundsConfig(AppConfig):
    name = "funds"
    verbose_name = _("Client money")
    nav_items = [NavItem("funds:index", _("Funds"), 25)]
    # Queued again by the stuck-work sweep when not done in time (portal.background).
    stuck_work = ["funds.statements.statements_requeue"]

    def ready(self) -> None:
        from funds import receivers
        from margin.books import books_owner_register
        from margin.signals import liquidation_filled

        liquidation_filled.connect(
            receivers.liquidation_filled, dispatch_uid="funds.liquidation_filled"
        )
        # The client-money ledger is the record; margin's balances follow its entries.
        books_owner_register("funds")
