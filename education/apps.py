from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from portal.navigation import NavItem


class EducationConfig(AppConfig):
    name = "education"
    verbose_name = _("Education and risk warning")
    nav_items = [NavItem("education:index", _("Learn and confirm"), 40)]
    # Queued again by the stuck-work sweep when not done in time (portal.background).
    stuck_work = ["education.services.receipts_requeue"]

    def ready(self) -> None:
        from accounts.signals import suitability_changed
        from disclosures.signals import version_in_force_changed
        from education import receivers

        suitability_changed.connect(receivers.on_suitability_changed, dispatch_uid="edu-rating")
        version_in_force_changed.connect(
            receivers.on_version_in_force_changed, dispatch_uid="edu-disclosure"
        )
