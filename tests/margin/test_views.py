"""The dashboard and its polling fallback: own account only, a fixed number of queries."""

from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.margin.conftest import make_account

pytestmark = pytest.mark.django_db


def test_the_dashboard_needs_a_signed_in_client(client):
    response = client.get(reverse("margin:index"))
    assert response.status_code == 302
    assert client.get(reverse("margin:status")).status_code == 302


def test_a_client_without_an_account_is_told_so(client, client_bob):
    client.force_login(client_bob)
    response = client.get(reverse("margin:index"))
    assert response.status_code == 200
    assert "margin/no_account.html" in [t.name for t in response.templates]
    assert client.get(reverse("margin:status")).status_code == 404


def test_alice_sees_her_ratio_level_distances_and_line_prices(client, client_alice):
    make_account(client_alice, cash="10000.00", holdings=[("300750.SZ", 100, "1500.00")])
    client.force_login(client_alice)
    response = client.get(reverse("margin:index"))
    page = response.content.decode()
    assert "160.00%" in page  # 160,000 / 100,000
    status = response.context["status"]
    # Prices can fall 1 − (1.3 × 100,000 − 10,000) / 150,000 = 20% before the call line.
    assert status["distances"] == {"warning": "0.0666", "call": "0.2000", "liquidation": "0.2666"}
    # The ratio shows 130.00% (half-up to 4 places) up to 1,200.04 a share.
    assert status["positions"][0]["call_price"] == "1200.04"
    assert status["positions"][0]["liquidation_price"] == "1100.04"


def test_status_json_is_the_clients_own_and_names_no_other_account(
    client, client_alice, client_bob
):
    alice = make_account(client_alice)
    bob = make_account(client_bob, holdings=[("600036.SH", 5000, "42.10")])
    client.force_login(client_bob)
    data = client.get(reverse("margin:status"), {"account": alice.pk}).json()
    assert data["account"] == bob.number
    assert data["ratio"] == "2.1050"
    assert data["type"] == "snapshot"


def _queries_for(client, user):
    client.force_login(user)
    client.get(reverse("margin:index"))  # session and language warm-up
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("margin:index")).status_code == 200
    return len(queries)


def test_the_dashboard_takes_the_same_number_of_queries_for_1_or_30_positions(
    client, client_alice, client_bob
):
    make_account(client_alice, holdings=[("300750.SZ", 100, "1500.00")])
    many = [(f"6000{n:02d}.SH", 100, "50.00") for n in range(30)]
    make_account(client_bob, debt="100000.00", holdings=many)
    assert _queries_for(client, client_alice) == _queries_for(client, client_bob)


def test_the_page_reads_in_english_too(client, client_bob):
    make_account(client_bob)
    client.force_login(client_bob)
    page = client.get(reverse("margin:index"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Prices can fall" in page


def test_withdrawable_cash_keeps_the_ratio_at_300_percent_and_is_nil_while_restricted(client_alice):
    from margin import selectors
    from margin.models import Restriction

    # 50,000 cash + 150,000 of shares on 50,000 owed: 400%; 300% needs 150,000 of assets.
    account = make_account(client_alice, cash="50000.00", debt="50000.00")
    assert selectors.withdrawable_cash(account) == D("50000.00")
    account.debt = D("60000.00")
    assert selectors.withdrawable_cash(account) == D("20000.00")  # 200,000 − 3 × 60,000
    Restriction.objects.create(account=account, kind="reduce_only", reason="call")
    assert selectors.withdrawable_cash(account) == D("0.00")
