import pytest

from notices import services
from notices.models import NoticePreference, Notification
from notices.selectors import preference_rows

pytestmark = pytest.mark.django_db


def test_a_client_who_turned_off_email_for_news_gets_only_the_in_app_notice(client_alice):
    services.notice_preferences_set(user=client_alice, enabled={("general", "email"): False})
    rows = services.enqueue(
        recipient=client_alice, key="welcome", context={}, idempotency_key="welcome:alice"
    )
    assert [r.channel for r in rows] == ["inapp"]


def test_turning_a_channel_back_on_takes_effect_for_the_next_notice(client_alice):
    services.notice_preferences_set(user=client_alice, enabled={("general", "email"): False})
    services.notice_preferences_set(user=client_alice, enabled={("general", "email"): True})
    rows = services.enqueue(recipient=client_alice, key="welcome", context={}, idempotency_key="w")
    assert [r.channel for r in rows] == ["email", "inapp"]


def test_security_alerts_go_out_on_every_channel_even_when_a_preference_row_says_off(
    client_alice,
):
    for channel in ("email", "sms", "inapp"):
        NoticePreference.objects.create(
            user=client_alice, category="security", channel=channel, enabled=False
        )
    rows = services.enqueue(
        recipient=client_alice,
        key="security_alert",
        context={"event": "email_changed"},
        idempotency_key="email-changed:1",
    )
    assert [r.channel for r in rows] == ["email", "sms", "inapp"]


def test_mandatory_categories_cannot_be_turned_off_through_the_service(client_alice):
    services.notice_preferences_set(
        user=client_alice,
        enabled={("security", "email"): False, ("margin_call", "sms"): False},
    )
    assert not NoticePreference.objects.exists()


def test_an_unknown_category_or_channel_is_refused(client_alice):
    with pytest.raises(ValueError):
        services.notice_preferences_set(user=client_alice, enabled={("gossip", "email"): False})
    with pytest.raises(ValueError):
        services.notice_preferences_set(user=client_alice, enabled={("general", "fax"): False})


def test_one_clients_choice_does_not_affect_another(client_alice, client_bob):
    services.notice_preferences_set(user=client_alice, enabled={("general", "email"): False})
    rows = services.enqueue(recipient=client_bob, key="welcome", context={}, idempotency_key="w")
    assert [r.channel for r in rows] == ["email", "inapp"]
    assert Notification.objects.filter(recipient=client_alice).count() == 0


def test_preference_grid_shows_mandatory_categories_locked_on(client_alice):
    services.notice_preferences_set(user=client_alice, enabled={("general", "inapp"): False})
    rows = {row.category: row for row in preference_rows(user=client_alice)}
    assert rows["security"].mandatory and rows["margin_call"].mandatory
    assert all(cell.enabled for cell in rows["security"].cells)
    general = {cell.channel: cell for cell in rows["general"].cells}
    assert general["email"].used and general["email"].enabled
    assert general["inapp"].used and not general["inapp"].enabled
    assert not general["sms"].used
