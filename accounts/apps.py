from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from portal.navigation import NavItem


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")
    nav_items = [NavItem("onboarding:index", _("Onboarding"), 10)]

    def ready(self) -> None:
        from accounts import receivers  # noqa: F401  (security and welcome notices on allauth's signals)
