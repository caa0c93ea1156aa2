from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext_lazy as _


class NoticesConfig(AppConfig):
    name = "notices"
    verbose_name = _("Notices")

    def ready(self) -> None:
        from notices import checks  # noqa: F401  (registers the check)

        # Every app declares its notice types in `<app>/notice_types.py`; load them all up front so
        # an unknown key is unknown everywhere, in web processes and workers alike.
        autodiscover_modules("notice_types")
