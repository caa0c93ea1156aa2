from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from accounts.roles import ROLES
from accounts.staff import StaffError, staff_create, staff_invite


class Command(BaseCommand):
    help = (
        "Create a staff member in one role. They are emailed an invitation with a link to choose "
        "their password, and set up an authenticator app right after. --resend sends a new "
        "invitation to a staff member who has not set a password yet."
    )

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--role", required=True, choices=ROLES)
        parser.add_argument("--name", default="", help="Full name as shown to colleagues")
        parser.add_argument("--resend", action="store_true", help="Send a new invitation")

    def handle(self, *args, email, role, name, resend, **options):
        if resend:
            user = User.objects.filter(email__iexact=email, is_staff=True).first()
            if user is None or user.has_usable_password():
                raise CommandError(f"{email} is not a staff member waiting for an invitation.")
            if not user.groups.filter(name=role).exists():
                raise CommandError(f"{email} is not in the role {role}.")
            staff_invite(user=user, role=role)
            self.stdout.write(f"A new invitation was emailed to {user.email} ({role}).")
            return
        try:
            user = staff_create(email=email, role=role, full_name=name, actor="create_staff")
        except StaffError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Created {user.email} ({role}); an invitation was emailed.")
