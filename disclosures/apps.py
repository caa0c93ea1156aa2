from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from portal.navigation import NavItem


class DisclosuresConfig(AppConfig):
    name = "disclosures"
    verbose_name = _("Fees and terms")
    nav_items = [NavItem("disclosures:index", _("Fees and terms"), 60)]
