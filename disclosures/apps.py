from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from portal.navigation import NavItem


class DisclosuresConfig(AppConfig):
    name = "disclosures"
    verbose_name = _("Fees and terms")
    nav_items = [NavItem("disclosures:index", _("Fees and terms"), 60)]
    # Queued again by the stuck-work sweep when not done in time (portal.background).
    stuck_work = ["disclosures.pdf.pdfs_requeue"]
