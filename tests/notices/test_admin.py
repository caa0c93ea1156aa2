import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.auth.models import Permission
from django.core import mail
from django.urls import reverse

from audit.models import AuditEntry
from notices import services
from notices.models import Notification
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def staff_client(client, *perms, email="staff@example.test"):
    # Staff with exactly these permissions (plus reading the outbox), not a whole role.
    user = UserFactory(email=email, is_staff=True)
    for perm in ("view_notification", *perms):
        user.user_permissions.add(Permission.objects.get(codename=perm))
    TOTP.activate(user, generate_totp_secret())
    client.force_login(user)
    return client, user


@pytest.fixture
def failed_notice(client_alice):
    [row] = services.enqueue(
        recipient=client_alice,
        key="welcome",
        context={},
        idempotency_key="welcome:alice",
        channels=["email"],
    )
    Notification.objects.filter(pk=row.pk).update(
        status="failed", attempts=6, last_error="SMTPServerDisconnected: gone"
    )
    return row


def test_the_outbox_is_read_only_in_admin(client, failed_notice):
    client, _ = staff_client(client)
    listing = client.get(reverse("admin:notices_notification_changelist"), {"q": "alice@"})
    assert listing.status_code == 200
    assert "alice@example.test" in listing.content.decode()
    change = client.get(reverse("admin:notices_notification_change", args=[failed_notice.pk]))
    assert change.status_code == 200
    assert b'name="_save"' not in change.content
    assert client.get(reverse("admin:notices_notification_add")).status_code == 403
    delete = reverse("admin:notices_notification_delete", args=[failed_notice.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert Notification.objects.filter(pk=failed_notice.pk).exists()


def test_staff_with_the_permission_can_requeue_failed_notices(
    client, failed_notice, django_capture_on_commit_callbacks
):
    client, staff = staff_client(client, "resend_notification")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:notices_notification_changelist"),
            {"action": "resend_failed", "_selected_action": [failed_notice.pk]},
        )
    assert response.status_code == 302
    failed_notice.refresh_from_db()
    assert (failed_notice.status, failed_notice.attempts) == ("sent", 1)
    assert len(mail.outbox) == 1
    assert AuditEntry.objects.get(action="notice.requeued").actor == staff


def test_staff_without_the_permission_do_not_get_the_resend_action(client, failed_notice):
    client, _ = staff_client(client)
    listing = client.get(reverse("admin:notices_notification_changelist"))
    assert "resend_failed" not in listing.content.decode()
    client.post(
        reverse("admin:notices_notification_changelist"),
        {"action": "resend_failed", "_selected_action": [failed_notice.pk]},
    )
    failed_notice.refresh_from_db()
    assert failed_notice.status == "failed"


def test_staff_send_an_announcement_once_even_if_the_form_is_submitted_twice(
    client, client_alice, django_capture_on_commit_callbacks
):
    client, staff = staff_client(client, "send_announcement")
    url = reverse("admin:notices_notification_announce")
    form = client.get(url)
    assert form.status_code == 200
    token = form.context["form"]["token"].value()
    data = {
        "recipient_email": "Alice@Example.test",
        "title": "Your statement is ready",
        "body": "See the portal for November.",
        "token": str(token),
    }
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(url, data)
        client.post(url, data)
    assert first.status_code == 302
    rows = Notification.objects.filter(recipient=client_alice, key="announcement")
    assert sorted(rows.values_list("channel", "status")) == [("email", "sent"), ("inapp", "sent")]
    assert len(mail.outbox) == 1
    # Alice reads Chinese: the frame is translated, the staff-written title is kept as written.
    assert mail.outbox[0].subject == "旺润：Your statement is ready"
    entry = AuditEntry.objects.get(action="notice.announcement_sent")
    assert (entry.actor, entry.data["title"]) == (staff, "Your statement is ready")


def test_an_announcement_to_an_unknown_address_is_refused(client):
    client, _ = staff_client(client, "send_announcement")
    url = reverse("admin:notices_notification_announce")
    token = client.get(url).context["form"]["token"].value()
    response = client.post(
        url, {"recipient_email": "nobody@example.test", "title": "t", "body": "b", "token": token}
    )
    assert response.status_code == 200
    assert "没有使用该电子邮箱的有效客户。" in response.content.decode()
    assert not Notification.objects.exists()


def test_staff_without_the_permission_cannot_open_the_announcement_form(client):
    client, _ = staff_client(client)
    assert client.get(reverse("admin:notices_notification_announce")).status_code == 403
