"""The attacker's seat: every staff role, signed in to the admin with its second factor.

`staff` maps each role (and a superuser, who should not see secrets either) to a signed-in
Django test client. `admin_pages_showing` and `stored_places_holding` look for a secret in
everything staff can read: every admin changelist and change page, and every stored text column
of every table.
"""

from collections.abc import Iterator

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.apps import apps
from django.contrib import admin
from django.db.models import CharField, JSONField, Q, TextField
from django.db.models.functions import Cast
from django.test import Client
from django.urls import NoReverseMatch, reverse

from accounts.roles import ROLES
from tests.factories import UserFactory

STAFF_ROLES = ROLES
# The newest rows of each model: a test's own rows are the newest, and pages of the same model
# render every row alike.
ROWS_PER_MODEL = 5


def _staff_user(role: str):
    if role == "superuser":
        user = UserFactory(email="root@example.test", is_staff=True, is_superuser=True)
    else:
        user = UserFactory(email=f"{role}@staff.example.test", role=role)
    TOTP.activate(user, generate_totp_secret())  # the admin stays closed without it
    return user


@pytest.fixture
def staff_users(db) -> dict:
    return {role: _staff_user(role) for role in (*STAFF_ROLES, "superuser")}


@pytest.fixture
def staff(staff_users) -> dict[str, Client]:
    clients = {}
    for role, user in staff_users.items():
        browser = Client()
        browser.force_login(user)
        clients[role] = browser
    return clients


def existing_rows() -> dict[type, set]:
    """The primary keys of every row of every admin model, to tell a test's own rows apart."""
    return {
        model: set(model._default_manager.values_list("pk", flat=True))
        for model in admin.site._registry
    }


def admin_urls(before: dict[type, set] | None = None) -> Iterator[str]:
    """Every admin page that shows stored rows: changelists and change pages (the newest rows of
    each model; with `before`, every row made since as well)."""
    for model in admin.site._registry:
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        try:
            yield reverse(f"{prefix}_changelist")
        except NoReverseMatch:
            continue
        rows = model._default_manager.order_by("-pk").values_list("pk", flat=True)
        pks = list(rows[:ROWS_PER_MODEL])
        if before is not None:
            pks += [pk for pk in rows if pk not in before.get(model, ()) and pk not in pks]
        for pk in pks:
            yield reverse(f"{prefix}_change", args=[pk])


def admin_pages_showing(
    browser: Client, *needles: str, before: dict[type, set] | None = None
) -> dict[str, list[str]]:
    """The admin pages this signed-in staff member can open that contain any of `needles`,
    with the needles each shows."""
    found = {}
    for url in admin_urls(before):
        response = browser.get(url)
        if response.status_code != 200:
            continue
        text = response.content.decode()
        shown = [needle for needle in needles if needle in text]
        if shown:
            found[url] = shown
    return found


def stored_places_holding(*needles: str) -> list[str]:
    """Every `app.Model.field` whose stored text (JSON included) contains any of `needles`."""
    found = []
    for model in apps.get_models():
        if not model._meta.managed or model._meta.proxy:
            continue
        for field in model._meta.concrete_fields:
            if not isinstance(field, (CharField, TextField, JSONField)):
                continue
            as_text = model._default_manager.annotate(_as_text=Cast(field.name, TextField()))
            anywhere = Q()
            for needle in needles:
                anywhere |= Q(_as_text__contains=needle)
            if as_text.filter(anywhere).exists():
                found.append(f"{model._meta.label}.{field.name}")
    return found
