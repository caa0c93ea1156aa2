from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MarginConfig(AppConfig):
    name = "margin"
    verbose_name = _("Margin")
