"""The public pages need no login and no JavaScript; the change pages are the client's own."""

import re
from decimal import Decimal as D

import pytest
from django.conf import settings
from django.urls import reverse

from disclosures import services
from disclosures.models import ChangeNotice, DocumentKind
from tests.disclosures.factories import approved_change, days_from_now, fees, in_force

pytestmark = pytest.mark.django_db


@pytest.fixture
def change(compliance_frank, compliance_grace, fees_v1, client_alice, client_bob):
    version = approved_change(
        maker=compliance_frank, checker=compliance_grace, items=fees(tier2="0.086000")
    )
    return services.version_schedule(
        actor=compliance_frank, version=version, effective_at=days_from_now(31)
    )


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_the_fee_page_needs_no_login_and_shows_every_item(client, fees_v1):
    response = client.get(reverse("disclosures:fees"))
    assert response.status_code == 200
    page = text(response)
    for item in fees_v1.items.all():
        assert f'data-code="{item.code}"' in page
    assert "8.35%" in page and "0.05%" in page
    # The worked example is what the ledger charges: 30 × (100,000 × 8.35% ÷ 360 = 23.19).
    assert "23.19" in page and "695.70" in page and "695.83" not in page
    assert "<script" not in page.split("<main")[1]  # the page itself needs no script


def test_the_calculator_works_with_a_plain_get(client, fees_v1):
    response = client.get(
        reverse("disclosures:fees"), {"amount": "100000", "days": "30", "tier": "2"}
    )
    page = text(response)
    assert re.search(r'data-testid="calc-interest"> CNY 695.70', page)
    # The trade service fee is charged per trade, not by financing: not in the total.
    assert re.search(r'data-testid="calc-total"> <strong>CNY 695.70', page)
    assert re.search(r'data-testid="calc-trade-fee"> 0.03% of each trade', page)
    assert re.search(r'data-testid="calc-ear"> 8.46%', page)
    assert re.search(r'data-testid="calc-ear-compounded"> 8.80%', page)
    assert "365 ÷ the days held" in page
    assert page.count('class="chart-bar') == 3


def test_the_calculator_explains_bad_input(client, fees_v1):
    response = client.get(
        reverse("disclosures:fees"), {"amount": "12.345", "days": "0", "tier": "9"}
    )
    assert response.status_code == 200
    page = text(response)
    assert 'data-testid="calc-result"' not in page
    assert page.count('class="errorlist') == 3


def test_the_index_lists_every_document_and_the_announced_change(client, change):
    for kind in DocumentKind.values:
        if kind != DocumentKind.FEE_SCHEDULE:
            in_force(kind)
    page = text(client.get(reverse("disclosures:index")))
    for kind in DocumentKind.values:
        assert reverse("disclosures:document", args=[kind]) in page
    assert "?b=2" in page


def test_the_archive_and_the_diff_are_public(client, change):
    page = text(client.get(reverse("disclosures:document", args=["fee_schedule"])))
    assert "v1" in page and "v2" in page
    assert reverse("disclosures:pdf", args=["fee_schedule", 2, "zh-hans"]) in page
    diff = text(client.get(reverse("disclosures:compare", args=["fee_schedule"]), {"a": 1, "b": 2}))
    assert 'data-code="financing_rate_tier2"' in diff and "effect-worse" in diff
    assert "8.35%" in diff and "8.60%" in diff


def test_drafts_are_not_public(client, compliance_frank, fees_v1):
    services.version_draft_create(actor=compliance_frank, document=fees_v1.document)
    assert client.get(reverse("disclosures:version", args=["fee_schedule", 2])).status_code == 404
    assert client.get(reverse("disclosures:pdf", args=["fee_schedule", 2, "en"])).status_code == 404


def test_a_missing_pdf_is_queued_not_rendered_in_the_request(client, fees_v1, monkeypatch):
    queued = []
    monkeypatch.setattr(
        "disclosures.tasks.render_version_pdfs.delay", lambda version_id: queued.append(version_id)
    )
    response = client.get(reverse("disclosures:pdf", args=["fee_schedule", 1, "en"]))
    assert response.status_code == 503 and response["Retry-After"] == "10"
    assert queued == [fees_v1.pk]
    # Many readers asking before it is ready queue it once, not once each.
    for _ in range(5):
        client.get(reverse("disclosures:pdf", args=["fee_schedule", 1, "en"]))
    assert queued == [fees_v1.pk]


def test_the_banner_shows_until_the_client_answers(client, change, client_alice):
    client.force_login(client_alice)
    page = text(client.get("/"))
    notice = ChangeNotice.objects.get(client=client_alice, version=change)
    assert 'data-testid="change-banner"' in page
    assert reverse("disclosures:change", args=[notice.pk]) in page
    response = client.post(
        reverse("disclosures:change-answer", args=[notice.pk]),
        {"decision": "accepted", "shown_hash": change.content_hash},
        HTTP_USER_AGENT="pytest-browser",
        REMOTE_ADDR="198.51.100.4",
    )
    assert response.status_code == 302
    ack = notice.version.acknowledgements.get(client=client_alice)
    assert (ack.ip_address, ack.user_agent) == ("198.51.100.4", "pytest-browser")
    assert 'data-testid="change-banner"' not in text(client.get("/"))


def test_bob_cannot_see_or_answer_alices_notice(client, change, client_alice, client_bob):
    notice = ChangeNotice.objects.get(client=client_alice, version=change)
    client.force_login(client_bob)
    assert client.get(reverse("disclosures:change", args=[notice.pk])).status_code == 404
    response = client.post(
        reverse("disclosures:change-answer", args=[notice.pk]),
        {"decision": "accepted", "shown_hash": change.content_hash},
    )
    assert response.status_code == 404
    assert not change.acknowledgements.exists()


def test_a_bad_answer_is_explained_and_nothing_is_recorded(client, change, client_alice):
    notice = ChangeNotice.objects.get(client=client_alice, version=change)
    client.force_login(client_alice)
    response = client.post(
        reverse("disclosures:change-answer", args=[notice.pk]),
        {"decision": "maybe", "shown_hash": change.content_hash},
    )
    assert response.status_code == 400
    assert not change.acknowledgements.exists()


def test_the_change_page_shows_the_summary_and_both_versions(client, change, client_bob):
    notice = ChangeNotice.objects.get(client=client_bob, version=change)
    client.force_login(client_bob)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = text(client.get(reverse("disclosures:change", args=[notice.pk])))
    assert change.summary_en in page
    assert 'data-testid="diff"' in page and 'data-testid="item-diff"' in page
    assert change.content_hash in page


def test_the_change_pages_need_a_login(client, change):
    response = client.get(reverse("disclosures:changes"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_interest_shown_is_read_from_the_schedule_in_force(client, change):
    services.versions_switch_due(now=change.effective_at)
    page = text(
        client.get(reverse("disclosures:fees"), {"amount": "100000", "days": "30", "tier": "2"})
    )
    # One day: 100,000 × 8.60% ÷ 360 = 23.888… → 23.89, charged 30 times = 716.70
    assert re.search(r'data-testid="calc-interest"> CNY 716.70', page)
    assert D("0.086") == change.items.get(code="financing_rate_tier2").value


def test_the_pages_are_in_chinese_by_default_for_chinese_readers(client, change, client_alice):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    page = text(
        client.get(reverse("disclosures:fees"), {"amount": "100000", "days": "30", "tier": "2"})
    )
    assert "收费标准与费用计算器" in page and "实际年化成本（单利）" in page
    assert "融资年利率（二档）" in page and "年化 8.35%" in page
    notice = ChangeNotice.objects.get(client=client_alice, version=change)
    client.force_login(client_alice)
    page = text(client.get(reverse("disclosures:change", args=[notice.pk])))
    assert "二档利率上调。" in page and "对您的影响" in page and "费用增加 / 要求收紧" in page
