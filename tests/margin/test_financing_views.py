"""The financing pages: the open page shows the terms in force and the refusals with a link;
activation and tier changes act on the client's own account only; a replayed POST changes
nothing."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
import time_machine
from django.urls import reverse

from audit.models import AuditEntry
from margin.models import MarginContract
from tests.education import factories as education
from tests.margin.factories import accept_financing_documents, eligible_client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings):
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def world(db):
    education.documents_in_force()
    education.course()


def gate_passed(user, tier=None):
    education.pass_quiz(user)
    return education.confirm(user, education.read_warning(user, tier=tier))


def activate(client, tier=1):
    return client.post(reverse("margin:open"), {"action": "activate", "leverage_tier": tier})


def test_the_open_page_shows_rates_caps_and_lines_from_the_documents_in_force(world, client):
    user = eligible_client()
    client.force_login(user)
    page = client.get(reverse("margin:open"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for shown in ("7.80%", "8.35%", "8.90%", "50.00%", "80.00%", "150.00%", "130.00%", "120.00%"):
        assert shown in page
    assert 'data-testid="accept-documents"' in page


def test_the_page_accepts_the_documents_then_a_refusal_links_to_the_gate(world, client):
    user = eligible_client()
    client.force_login(user)
    response = client.post(reverse("margin:open"), {"action": "accept"})
    assert response.status_code == 302
    response = activate(client)
    page = response.content.decode()
    assert response.status_code == 200 and 'data-testid="financing-refused"' in page
    assert 'href="/education/"' in page
    assert not MarginContract.objects.exists()


def test_activation_from_the_page_and_a_replayed_post_changes_nothing(world, client):
    user = eligible_client()
    accept_financing_documents(user)
    confirmation = gate_passed(user)
    client.force_login(user)
    with time_machine.travel(confirmation.confirmed_at + timedelta(hours=25)):
        first = activate(client)
        assert first.status_code == 302 and first.url == reverse("margin:index")
        again = activate(client, tier=1)
        assert again.status_code == 302
    assert MarginContract.objects.filter(account__client=user).count() == 1
    assert AuditEntry.objects.filter(action="margin.financing_activate").count() == 1
    dashboard = client.get(reverse("margin:index")).content.decode()
    assert 'data-testid="tier-form"' in dashboard


def test_the_tier_form_refuses_without_the_gate_and_links_to_the_warning(world, client):
    user = eligible_client()
    accept_financing_documents(user)
    confirmation = gate_passed(user)
    client.force_login(user)
    with time_machine.travel(confirmation.confirmed_at + timedelta(hours=25)):
        activate(client)
    contract = MarginContract.objects.get(account__client=user)
    response = client.post(reverse("margin:tier", args=[contract.account_id]), {"tier": 3})
    assert response.status_code == 302 and "tier=3" in response.url
    contract.refresh_from_db()
    assert contract.leverage_tier == 1
    education.confirm(user, education.read_warning(user, tier=3))
    response = client.post(reverse("margin:tier", args=[contract.account_id]), {"tier": 3})
    contract.refresh_from_db()
    assert contract.leverage_tier == 3 and contract.annual_rate == D("0.089000")
    client.post(reverse("margin:tier", args=[contract.account_id]), {"tier": 3})  # replayed
    assert AuditEntry.objects.filter(action="margin.leverage_tier_raise").count() == 1


def test_client_b_gets_404_on_client_as_account(world, client):
    alice = eligible_client()
    accept_financing_documents(alice)
    confirmation = gate_passed(alice)
    with time_machine.travel(confirmation.confirmed_at + timedelta(hours=25)):
        client.force_login(alice)
        activate(client)
    contract = MarginContract.objects.get(account__client=alice)
    bob = eligible_client()
    gate_passed(bob, tier=3)
    client.force_login(bob)
    response = client.post(reverse("margin:tier", args=[contract.account_id]), {"tier": 1})
    assert response.status_code == 404
    assert client.get(reverse("margin:tier", args=[contract.account_id])).status_code == 405
    contract.refresh_from_db()
    assert contract.leverage_tier == 1


def test_the_pages_need_a_signed_in_client(client):
    assert client.get(reverse("margin:open")).status_code == 302
    assert client.post(reverse("margin:tier", args=[1]), {"tier": 2}).status_code == 302


def test_the_open_page_and_a_refusal_read_in_chinese(world, client, settings):
    from django.utils import translation

    settings.LANGUAGE_CODE = "zh-hans"
    user = eligible_client(assets="499999.99")
    client.force_login(user)
    with translation.override("zh-hans"):
        page = activate(client).content.decode()
    assert "开通融资" in page and "融资年利率" in page
    assert "您暂不符合融资融券业务的准入条件" in page
