import pytest
from django.urls import reverse

from notices import services
from notices.models import NoticePreference, Notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def inapp_for(deliver):
    def make(user, key, title="Holiday hours", body="Closed on 1 October."):
        [row] = deliver(
            services.enqueue,
            recipient=user,
            key="announcement",
            context={"title": title, "body": body},
            idempotency_key=key,
            channels=["inapp"],
        )
        row.refresh_from_db()
        return row

    return make


def test_the_notice_pages_need_a_signed_in_user(client):
    for name in ("notices:list", "notices:preferences"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert reverse("account_login") in response["Location"]


def test_the_list_shows_only_the_clients_own_notices_newest_first(
    client, client_alice, client_bob, inapp_for
):
    inapp_for(client_alice, "a1", title="Older for Alice")
    inapp_for(client_alice, "a2", title="Newer for Alice")
    inapp_for(client_bob, "b1", title="For Bob only")
    client.force_login(client_alice)
    response = client.get(reverse("notices:list"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "For Bob only" not in html
    assert html.index("Newer for Alice") < html.index("Older for Alice")
    assert html.count('class="notice-item unread"') == 2


def test_the_bell_count_comes_from_the_context_processor(client, client_alice, inapp_for):
    inapp_for(client_alice, "a1")
    inapp_for(client_alice, "a2")
    client.force_login(client_alice)
    response = client.get(reverse("notices:list"))
    assert response.context["unread_notice_count"] == 2
    assert 'data-count="2"' in response.content.decode()


def test_anonymous_pages_get_no_unread_count(client):
    response = client.get(reverse("home"))
    assert "unread_notice_count" not in response.context


def test_a_client_marks_her_notice_read(client, client_alice, inapp_for):
    notice = inapp_for(client_alice, "a1")
    client.force_login(client_alice)
    response = client.post(reverse("notices:mark-read", args=[notice.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("notices:list")
    notice.refresh_from_db()
    assert notice.read_at is not None
    page = client.get(reverse("notices:list")).content.decode()
    assert 'class="notice-item unread"' not in page


def test_bob_marking_alices_notice_read_gets_404_and_changes_nothing(
    client, client_alice, client_bob, inapp_for
):
    notice = inapp_for(client_alice, "a1")
    client.force_login(client_bob)
    response = client.post(reverse("notices:mark-read", args=[notice.pk]))
    assert response.status_code == 404
    notice.refresh_from_db()
    assert notice.read_at is None


def test_an_email_notification_cannot_be_marked_read_as_an_in_app_notice(
    client, client_alice, deliver
):
    [email] = deliver(
        services.enqueue,
        recipient=client_alice,
        key="welcome",
        context={},
        idempotency_key="w",
        channels=["email"],
    )
    client.force_login(client_alice)
    assert client.post(reverse("notices:mark-read", args=[email.pk])).status_code == 404


def test_marking_read_needs_a_post(client, client_alice, inapp_for):
    notice = inapp_for(client_alice, "a1")
    client.force_login(client_alice)
    assert client.get(reverse("notices:mark-read", args=[notice.pk])).status_code == 405


def test_mark_all_read_touches_only_the_clients_own_notices(
    client, client_alice, client_bob, inapp_for
):
    inapp_for(client_alice, "a1")
    inapp_for(client_alice, "a2")
    bobs = inapp_for(client_bob, "b1")
    client.force_login(client_alice)
    response = client.post(reverse("notices:mark-all-read"), {"next": "https://evil.example/"})
    assert response["Location"] == reverse("notices:list")
    assert not Notification.objects.filter(recipient=client_alice, read_at__isnull=True).exists()
    bobs.refresh_from_db()
    assert bobs.read_at is None


def test_the_list_is_paginated(client, client_alice, inapp_for):
    for i in range(23):
        inapp_for(client_alice, f"a{i}", title=f"Notice number {i:02d}")
    client.force_login(client_alice)
    first = client.get(reverse("notices:list")).content.decode()
    second = client.get(reverse("notices:list") + "?page=2").content.decode()
    assert "Notice number 22" in first and "Notice number 02" not in first
    assert "Notice number 02" in second and "Notice number 22" not in second


def test_preferences_page_shows_mandatory_categories_locked_on(client, client_alice):
    client.force_login(client_alice)
    response = client.get(reverse("notices:preferences"))
    html = response.content.decode()
    assert response.status_code == 200
    security = response.context["form"]["security__email"]
    assert security.field.disabled and security.value() is True
    assert 'name="security__email"' in html and "disabled" in str(security)
    assert "始终开启" in html
    assert not response.context["form"]["general__email"].field.disabled


def test_preferences_are_saved_but_mandatory_ones_cannot_be_turned_off(client, client_alice):
    client.force_login(client_alice)
    # Only "general by in-app" is ticked; a crafted post also leaves out every security box.
    response = client.post(reverse("notices:preferences"), {"general__inapp": "on"})
    assert response.status_code == 302
    saved = set(
        NoticePreference.objects.filter(user=client_alice, category="general").values_list(
            "channel", "enabled"
        )
    )
    assert saved == {("email", False), ("inapp", True)}
    assert not NoticePreference.objects.filter(category__in=["security", "margin_call"]).exists()
    rows = services.enqueue(
        recipient=client_alice,
        key="security_alert",
        context={"event": "new_sign_in"},
        idempotency_key="s",
    )
    assert [r.channel for r in rows] == ["email", "sms", "inapp"]
    rows = services.enqueue(recipient=client_alice, key="welcome", context={}, idempotency_key="w")
    assert [r.channel for r in rows] == ["inapp"]
