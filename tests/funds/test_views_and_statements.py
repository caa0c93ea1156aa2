import datetime
import io
import uuid
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from funds import selectors, services, statements
from funds.models import Statement
from tests.funds.factories import bank_account, funded_account, verified_client

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def alice():
    return verified_client("林岚", email="alice@example.test", full_name="林岚")


@pytest.fixture
def account(alice):
    return funded_account(
        alice, cash="100000.00", debt="60000.00", holdings=[("600519.SH", 100, "1500.00")]
    )


def test_alice_sees_the_custodian_account_her_reference_and_her_balances(client, alice, account):
    client.force_login(alice)
    page = client.get(reverse("funds:index")).content.decode()
    reference = services.deposit_reference_for(account).reference
    assert reference in page and "121909876510888" in page
    assert "¥100,000.00" in page and "¥70,000.00" in page


def test_a_refused_withdrawal_says_why_and_the_most_allowed(client, alice, account):
    bank = bank_account(alice)
    client.force_login(alice)
    token = str(uuid.uuid4())
    response = client.post(
        reverse("funds:withdraw"),
        {"bank_account": bank.pk, "amount": "90000", "token": token},
        follow=True,
    )
    page = response.content.decode()
    assert "300%" in page and "¥70,000.00" in page


def test_submitting_the_same_withdrawal_form_twice_pays_once(client, alice, account):
    bank = bank_account(alice)
    client.force_login(alice)
    form = {"bank_account": bank.pk, "amount": "30000.00", "token": str(uuid.uuid4())}
    client.post(reverse("funds:withdraw"), form)
    client.post(reverse("funds:withdraw"), form)  # a double click, or back and submit again
    [paid] = account.withdrawals.all()
    assert paid.status == "paid" and paid.amount == D("30000.00")
    account.refresh_from_db()
    assert account.cash == D("70000.00")
    # A form without its token is refused and changes nothing.
    client.post(reverse("funds:withdraw"), {"bank_account": bank.pk, "amount": "10.00"})
    assert account.withdrawals.count() == 1


def test_a_statement_pdf_shows_each_movement(
    alice, account, fee_schedule, django_capture_on_commit_callbacks
):
    services.interest_accrue(trading_day=datetime.date(2026, 11, 26))
    with django_capture_on_commit_callbacks(execute=True):
        statement = statements.statement_request(
            margin_account=account,
            start=datetime.date(2026, 11, 1),
            end=datetime.date(2026, 11, 30),
        )
    statement.refresh_from_db()
    assert statement.pdf and len(statement.sha256) == 64
    from pypdf import PdfReader

    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(statement.pdf.read())).pages)
    # Memos are written in the client's language: Alice reads Chinese.
    assert "MA00000001 期初余额" in text and "融资利息" in text
    assert "13.00" in text  # 60,000 × 7.8% / 360
    # The charge names its basis as the client reads it, not by internal codes and raw rates.
    assert "收费标准 v1 · 融资年利率（一档）" in text and "7.80%" in text
    assert "financing_rate_tier1" not in text and "fee_schedule" not in text
    assert "0.078000" not in text


def test_bob_cannot_download_alices_statement(client, alice, account):
    bob = verified_client("Bob", email="bob@example.test")
    funded_account(bob)
    statement = Statement.objects.create(
        margin_account=account,
        period_start=datetime.date(2026, 11, 1),
        period_end=datetime.date(2026, 11, 30),
    )
    statement.pdf.save("x.pdf", io.BytesIO(b"%PDF-1.4"))
    client.force_login(bob)
    assert client.get(reverse("funds:statement-download", args=[statement.pk])).status_code == 404
    client.force_login(alice)
    assert client.get(reverse("funds:statement-download", args=[statement.pk])).status_code == 200


def test_bob_sees_only_his_own_ledger(client, alice, account):
    bob = verified_client("Bob", email="bob@example.test")
    funded_account(bob, cash="1.00")
    client.force_login(bob)
    page = client.get(reverse("funds:index")).content.decode()
    assert account.number not in page and "100,000.00" not in page


# Opened in November, so the run on 1 December owes it November's statement.
@pytest.mark.time_machine(datetime.datetime(2026, 11, 26, 10, tzinfo=SHANGHAI), tick=False)
def test_monthly_statements_are_made_once_per_account(account, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        first = statements.monthly_statements_create(today=datetime.date(2026, 12, 1))
        again = statements.monthly_statements_create(today=datetime.date(2026, 12, 1))
    assert [s.pk for s in first] == [s.pk for s in again]
    assert first[0].period_start == datetime.date(2026, 11, 1)
    assert first[0].period_end == datetime.date(2026, 11, 30)


def statements_for(account, count):
    return Statement.objects.bulk_create(
        Statement(
            margin_account=account,
            period_start=datetime.date(2024, 1, 1) + datetime.timedelta(days=31 * n),
            period_end=datetime.date(2024, 1, 28) + datetime.timedelta(days=31 * n),
        )
        for n in range(count)
    )


def test_alices_statements_come_in_pages_of_their_own(client, alice, account):
    statements_for(account, 30)
    bob = verified_client("Bob", email="bob@example.test")
    statements_for(funded_account(bob), 3)
    client.force_login(alice)
    first = client.get(reverse("funds:index"))
    second = client.get(reverse("funds:index"), {"statements": 2, "movements": 1})
    assert len(first.context["statements"]) == 24
    assert [s.margin_account_id for s in second.context["statements"]] == [account.pk] * 6
    assert first.context["statements"][0].period_end > second.context["statements"][0].period_end
    # Each list keeps its own page number in the links.
    assert "statements=2" in first.content.decode()


def test_the_ledger_pages_hold_every_movement_once_newest_first(client, alice, account):
    every = [m.entry_id for m in selectors.movements(account)]
    pages = selectors.MovementPages(account)
    assert pages.count() == len(every) > 0
    assert [m.entry_id for m in pages[0:1] + pages[1 : len(every)]] == every
    client.force_login(alice)
    for bad in ("0", "-1", "abc", "２", "999999"):
        response = client.get(reverse("funds:index"), {"movements": bad})
        assert response.status_code == 200
        assert [m.entry_id for m in response.context["movements"]] == every
