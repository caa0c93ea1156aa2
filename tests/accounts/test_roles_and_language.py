import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.models import User
from accounts.roles import ROLES, declared_role_permissions

pytestmark = pytest.mark.django_db


def test_each_staff_role_is_a_group_with_exactly_its_permissions():
    declared = declared_role_permissions()
    assert set(Group.objects.values_list("name", flat=True)) >= set(ROLES)
    assert declared["agent"] >= {"support.view_ticket", "support.reply_ticket"}
    for role, codes in declared.items():
        granted = {
            f"{p.content_type.app_label}.{p.codename}"
            for p in Group.objects.get(name=role).permissions.select_related("content_type")
        }
        # Equality also catches a declared code that names no real permission (a typo).
        assert granted == codes, role


def test_no_role_can_change_the_audit_trail():
    for role, codes in declared_role_permissions().items():
        writes = {c for c in codes if c.startswith("audit.") and not c.startswith("audit.view")}
        assert not writes, role


def test_agent_cannot_read_the_audit_trail_but_compliance_can(agent_carol, compliance_frank):
    assert not User.objects.get(pk=agent_carol.pk).has_perm("audit.view_auditentry")
    assert User.objects.get(pk=compliance_frank.pk).has_perm("audit.view_auditentry")
    assert not agent_carol.is_superuser and not compliance_frank.is_superuser


def test_chinese_is_the_default_language(client):
    response = client.get("/")
    assert response["Content-Language"] == "zh-hans"
    assert "开立账户" in response.content.decode() or "开户" in response.content.decode()


def test_switching_to_english_sticks_and_is_remembered_for_notices(client, client_alice):
    client.force_login(client_alice)
    response = client.post(reverse("accounts:language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
    page = client.get("/")
    assert page["Content-Language"] == "en"
    assert "Welcome" in page.content.decode()
    client_alice.refresh_from_db()
    assert client_alice.language == "en"


def test_an_unknown_language_changes_nothing(client, client_alice):
    client.force_login(client_alice)
    client.post(reverse("accounts:language"), {"language": "xx", "next": "/"})
    client_alice.refresh_from_db()
    assert client_alice.language == "zh-hans"
    assert client.get("/")["Content-Language"] == "zh-hans"


def test_times_are_shown_in_shanghai(settings):
    assert settings.TIME_ZONE == "Asia/Shanghai" and settings.USE_TZ
