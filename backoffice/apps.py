from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BackofficeConfig(AppConfig):
    """The staff's own pages in the admin: one page per client, search that finds people."""

    name = "backoffice"
    verbose_name = _("Back office")
