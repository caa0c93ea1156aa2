import pytest
from django.urls import reverse

import audit
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_audit_trail_is_read_only_in_admin(admin_client_with_mfa):
    entry = audit.record(actor=None, action="demo")
    change = admin_client_with_mfa.get(reverse("admin:audit_auditentry_change", args=[entry.pk]))
    assert change.status_code == 200
    assert b'name="_save"' not in change.content
    assert admin_client_with_mfa.get(reverse("admin:audit_auditentry_add")).status_code == 403
    delete = reverse("admin:audit_auditentry_delete", args=[entry.pk])
    assert admin_client_with_mfa.post(delete, {"post": "yes"}).status_code == 403


@pytest.fixture
def admin_client_with_mfa(client):
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    frank = UserFactory(email="frank-audit@example.test", role="compliance")
    TOTP.activate(frank, generate_totp_secret())
    client.force_login(frank)
    return client
