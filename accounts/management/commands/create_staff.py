from django.core.management.base import BaseCommand, CommandError

from accounts.roles import ROLES
from accounts.staff import StaffError, staff_create


class Command(BaseCommand):
    help = (
        "Create a staff member in one role. They get an email link to choose their password and "
        "must set up an authenticator app at first sign-in."
    )

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--role", required=True, choices=ROLES)
        parser.add_argument("--name", default="", help="Full name as shown to colleagues")

    def handle(self, *args, email, role, name, **options):
        try:
            user = staff_create(email=email, role=role, full_name=name, actor="create_staff")
        except StaffError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Created {user.email} ({role}); a link to set the password was emailed.")
