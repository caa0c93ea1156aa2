"""When an agent merges a client's ticket into another, the client is told where the
conversation continues, by email and in the portal, in their language."""

import pytest
from django.urls import reverse

from notices.models import Notification
from notices.services import _render
from support import services
from tests.support.factories import open_ticket

pytestmark = pytest.mark.django_db


def test_alice_is_told_by_email_and_in_app_which_ticket_hers_went_into(client_alice, agent_carol):
    target = open_ticket(client_alice, subject="Statement for November")
    duplicate = open_ticket(client_alice, subject="Where is my statement?")
    services.ticket_merge(source=duplicate, target=target, actor=agent_carol)
    notices = Notification.objects.filter(recipient=client_alice, key="support_ticket_merged")
    assert sorted(notices.values_list("channel", flat=True)) == ["email", "inapp"]
    email = notices.get(channel="email")
    assert email.context["target_id"] == target.pk
    assert email.context["url"].endswith(reverse("support:ticket-detail", args=[target.pk]))

    email.language = "en"
    english = _render(email)
    assert english.subject == f"Ticket #{duplicate.pk} continues in ticket #{target.pk}"
    assert "the conversation continues there" in english.body
    assert "Statement for November" in english.body and "Where is my statement?" in english.body
    assert english.html and reverse("support:ticket-detail", args=[target.pk]) in english.html

    email.language = "zh-hans"
    chinese = _render(email)
    assert f"#{target.pk}" in chinese.subject and "继续" in chinese.subject
    assert "继续" in chinese.body and "Hello" not in chinese.body

    inapp = notices.get(channel="inapp")
    inapp.language = "zh-hans"
    assert f"#{target.pk}" in _render(inapp).body and "合并" in _render(inapp).body


def test_merging_again_sends_no_second_notice(client_alice, agent_carol):
    target, duplicate = open_ticket(client_alice), open_ticket(client_alice)
    services.ticket_merge(source=duplicate, target=target, actor=agent_carol)
    with pytest.raises(Exception):  # noqa: B017 - a merged ticket is no longer open
        services.ticket_merge(source=duplicate, target=target, actor=agent_carol)
    assert Notification.objects.filter(key="support_ticket_merged").count() == 2  # email + in-app


def test_bob_is_not_told_of_alices_merge(client_alice, client_bob, agent_carol):
    target, duplicate = open_ticket(client_alice), open_ticket(client_alice)
    open_ticket(client_bob)
    services.ticket_merge(source=duplicate, target=target, actor=agent_carol)
    assert not Notification.objects.filter(recipient=client_bob, key="support_ticket_merged")


def test_the_merge_confirmation_shows_the_merged_tickets_messages(
    client, agent_carol, client_alice
):
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    TOTP.activate(agent_carol, generate_totp_secret())
    client.force_login(agent_carol)
    target = open_ticket(client_alice, subject="Statement for November")
    duplicate = open_ticket(client_alice, body="The PDF link in my email is broken.")
    page = client.post(
        reverse("admin:support_ticket_act", args=[duplicate.pk]),
        {"action": "merge", "merge_into": f"#{target.pk}"},
    ).content.decode()
    assert 'data-testid="confirm-merge"' in page
    assert "The PDF link in my email is broken." in page
    assert not Notification.objects.filter(key="support_ticket_merged").exists()  # not yet
