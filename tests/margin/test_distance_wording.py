""" "How far prices can fall" on the dashboard, in whole sentences for every case and in both
languages: the same sentences the page's script writes as the status changes."""

import pytest
from django.urls import reverse
from django.utils.html import strip_tags

from tests.margin.conftest import make_account

pytestmark = pytest.mark.django_db


def distances(client, user) -> list[str]:
    client.force_login(user)
    client.cookies["django_language"] = user.language  # as signing in sets it
    page = client.get(reverse("margin:index")).content.decode()
    start = page.index('<ul class="distance-list">')
    items = page[start : page.index("</ul>", start)].split("</li>")[:-1]
    return [" ".join(strip_tags(item).split()) for item in items]


def test_a_fall_to_each_line_is_a_sentence_with_its_size(client, client_bob):
    # Bob reads English. 1 − (1.3 × 100,000 − 10,000) / 150,000 = 20% before the call line.
    make_account(client_bob, cash="10000.00", holdings=[("300750.SZ", 100, "1500.00")])
    assert distances(client, client_bob) == [
        "Prices can fall 6.66% before you reach the warning line (150.00%).",
        "Prices can fall 20.00% before you reach the margin call line (130.00%).",
        "Prices can fall 26.66% before you reach the forced liquidation line (120.00%).",
    ]


def test_the_same_in_chinese(client, client_alice):
    make_account(client_alice, cash="10000.00", holdings=[("300750.SZ", 100, "1500.00")])
    assert distances(client, client_alice) == [
        "价格全部下跌 6.66% 将触及预警线（150.00%）。",
        "价格全部下跌 20.00% 将触及追保线（130.00%）。",
        "价格全部下跌 26.66% 将触及强制平仓线（120.00%）。",
    ]


def test_a_line_already_reached_is_said_so(client, client_bob, client_alice):
    # 140,000 of shares against 100,000 owed: 140%, below the warning line, above the call line.
    make_account(client_bob, holdings=[("300750.SZ", 100, "1400.00")])
    assert distances(client, client_bob)[0] == (
        "Your ratio is already at or below the warning line (150.00%)."
    )
    make_account(client_alice, holdings=[("600519.SH", 100, "1400.00")])
    assert distances(client, client_alice)[0] == "您的维持担保比例已处于或低于预警线（150.00%）。"


def test_no_debt_and_cash_that_covers_the_line_each_have_their_sentence(
    client, client_bob, client_alice
):
    make_account(client_bob, debt="0.00", cash="5000.00")
    assert distances(client, client_bob)[1] == (
        "You owe nothing, so no fall in prices can reach the margin call line."
    )
    make_account(client_alice, debt="10000.00", cash="50000.00", holdings=[])
    assert distances(client, client_alice)[2] == (
        "无论价格如何变动，仅您的现金就能使您保持在强制平仓线（120.00%）之上。"
    )
