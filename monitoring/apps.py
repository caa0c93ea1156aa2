from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = _("Market monitoring")

    def ready(self) -> None:
        from monitoring import alerts, responses

        alerts.on_raised(responses.propose_for)
