"""The read-only admin: staff with every permission still cannot add, change or delete."""

import pytest
from django.contrib import admin
from django.test import RequestFactory

from portal.admin_mixins import ReadOnlyAdminMixin


def _read_only_admins():
    return [a for a in admin.site._registry.values() if isinstance(a, ReadOnlyAdminMixin)]


def test_the_evidence_and_queue_admins_are_read_only():
    labels = {a.model._meta.label for a in _read_only_admins()}
    assert {"audit.AuditEntry", "funds.JournalEntry", "disclosures.Acknowledgement"} <= labels


@pytest.mark.django_db
def test_a_superuser_cannot_add_change_or_delete_through_them(django_user_model):
    request = RequestFactory().get("/")
    request.user = django_user_model(is_superuser=True, is_staff=True, is_active=True)
    for model_admin in _read_only_admins():
        assert not model_admin.has_add_permission(request)
        assert not model_admin.has_change_permission(request, None)
        assert not model_admin.has_delete_permission(request, None)
