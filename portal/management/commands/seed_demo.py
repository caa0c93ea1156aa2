from django.core.management.base import BaseCommand

from accounts import demo as accounts_demo


class Command(BaseCommand):
    help = "Load the demo clients, staff and data. Safe to run again."

    def handle(self, *args, **options):
        lines = accounts_demo.seed()
        self.stdout.write("Demo logins (role, email, password):")
        for line in lines:
            self.stdout.write(line)
        self.stdout.write(
            "Staff sign in with a TOTP code: add secret "
            f"{accounts_demo.STAFF_TOTP_SECRET} to an authenticator app, "
            "or run: .venv/bin/python manage.py totp_code <email>"
        )
