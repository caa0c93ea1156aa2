from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from portal.navigation import NavItem


class SupportConfig(AppConfig):
    name = "support"
    verbose_name = _("Support")
    nav_items = [NavItem("support:index", _("Support"), 60)]
    # Queued again by the stuck-work sweep when not done in time (portal.background).
    stuck_work = ["support.services.ticket_exports_requeue"]

    def ready(self) -> None:
        from support import receivers  # noqa: F401  (connects the signal receivers)
