from importlib import import_module

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts import demo as accounts_demo


def demo_modules():
    """Each project app may ship `<app>/demo.py` with `seed() -> list[str]`; run in app order."""
    for app_config in apps.get_app_configs():
        try:
            yield import_module(f"{app_config.name}.demo")
        except ModuleNotFoundError as exc:
            if exc.name != f"{app_config.name}.demo":
                raise


class Command(BaseCommand):
    help = "Load the demo clients, staff and data. Safe to run again."

    def handle(self, *args, **options):
        lines: list[str] = []
        with transaction.atomic():
            for module in demo_modules():
                lines.extend(module.seed() or [])
        self.stdout.write("Demo logins (role, email, password):")
        for line in lines:
            self.stdout.write(line)
        self.stdout.write(
            "Staff sign in with a TOTP code: add secret "
            f"{accounts_demo.STAFF_TOTP_SECRET} to an authenticator app, "
            "or run: .venv/bin/python manage.py totp_code <email>"
        )
