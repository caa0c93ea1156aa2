from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from portal.navigation import NavItem


class MarginConfig(AppConfig):
    name = "margin"
    verbose_name = _("Margin")
    nav_items = [NavItem("margin:index", _("Margin status"), 20)]
    # Queued again by the stuck-work sweep when not done in time (portal.background).
    stuck_work = [
        "margin.services.liquidation_plans_requeue",
        "margin.services.liquidation_plans_propose_missing",
    ]

    def ready(self) -> None:
        from disclosures.calculator import client_tier_lookup_register
        from disclosures.signals import version_accepted, version_in_force_changed
        from education.figures import figures_provider_register
        from margin import receivers
        from margin.figures import client_figures

        figures_provider_register(client_figures)
        client_tier_lookup_register(receivers.client_tier)

        version_in_force_changed.connect(
            receivers.on_version_in_force_changed, dispatch_uid="margin-terms-in-force"
        )
        version_accepted.connect(receivers.on_version_accepted, dispatch_uid="margin-accepted")
