from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings

from accounts import demo as accounts_demo
from notices import selectors as notices
from portal import demo


class Command(BaseCommand):
    help = "Load the demo clients, staff and data (README: who is who). Safe to run again."

    def handle(self, *args, **options):
        # The demo logins share one published password and a printed TOTP secret: they must
        # never exist in a database anyone else can reach. Only `make run` (dev settings, DEBUG
        # on) loads them; production and test settings refuse, as totp_code does.
        if not settings.DEBUG:
            raise CommandError(
                "seed_demo creates demo logins with a published password and only runs with the "
                "development settings (make run, DEBUG on)."
            )
        before = notices.outbox_size()
        # The demo's own notices are delivered to memory, not printed: they stay readable in the
        # portal and in admin (the outbox), and the console keeps the URL and logins in view.
        quiet = override_settings(
            EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
            SMS_BACKEND="notices.sms.LocmemSmsBackend",
        )
        with quiet:
            lines = demo.seed()
        written = notices.outbox_size() - before
        self.stdout.write(f"Demo data loaded; {written} demo notices are in the outbox (admin).")
        self.stdout.write(f"Demo logins (password {accounts_demo.DEMO_PASSWORD} for everyone):")
        for line in lines:
            self.stdout.write(line)
        self.stdout.write(
            "Staff sign in with a TOTP code: add secret "
            f"{accounts_demo.STAFF_TOTP_SECRET} to an authenticator app, "
            "or run: .venv/bin/python manage.py totp_code <email>"
        )
