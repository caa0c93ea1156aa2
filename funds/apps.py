from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from portal.navigation import NavItem


class FundsConfig(AppConfig):
    name = "funds"
    verbose_name = _("Client money")
    nav_items = [NavItem("funds:index", _("Funds"), 25)]
