import datetime
from decimal import Decimal as D

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from funds import services
from funds.admin import REJECT
from funds.models import ReconciliationBreak, WithdrawalRequest
from notices.models import Notification
from tests.disclosures.factories import staff
from tests.funds.factories import bank_account, funded_account, verified_client

pytestmark = pytest.mark.django_db


def test_compliance_sees_open_breaks_with_their_age(client):
    frank = staff("compliance", email="frank@example.test")
    ReconciliationBreak.objects.create(
        kind="client_money",
        expected=D("100.00"),
        actual=D("100.01"),
        first_seen_on=timezone.localdate() - datetime.timedelta(days=3),
        last_seen_on=timezone.localdate(),
    )
    client.force_login(frank)
    page = client.get(reverse("admin:funds_reconciliationbreak_changelist"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "0.01" in text and '<td class="field-age">3</td>' in text


@pytest.mark.parametrize(
    "name",
    ["ledgeraccount", "journalentry", "charge", "withdrawalrequest", "custodiantransaction"],
)
def test_staff_pages_render(client, name):
    frank = staff("compliance", email="frank@example.test")
    client.force_login(frank)
    assert client.get(reverse(f"admin:funds_{name}_changelist")).status_code == 200


@pytest.fixture
def waiting_withdrawal():
    alice = verified_client("林岚", email="alice@example.test")
    account = funded_account(
        alice, cash="100000.00", debt="60000.00", holdings=[("600519.SH", 100, "1500.00")]
    )
    return services.withdrawal_request(
        client=alice,
        margin_account_id=account.pk,
        bank_account_id=bank_account(alice).pk,
        amount=D("60000.00"),
    )


def test_a_rejection_without_a_reason_asks_again_and_changes_nothing(client, waiting_withdrawal):
    client.force_login(staff("risk_officer", email="erin@example.test"))
    changelist = reverse("admin:funds_withdrawalrequest_changelist")
    chosen = {"action": "reject", "_selected_action": [waiting_withdrawal.pk]}

    asked = client.post(changelist, chosen)
    empty = client.post(changelist, {**chosen, "confirm": "1", "reason": "  "})

    assert asked.status_code == empty.status_code == 200  # the form, then the form again
    for page in (asked, empty):
        text = page.content.decode()
        assert 'name="reason"' in text
        assert f'name="_selected_action" value="{waiting_withdrawal.pk}"' in text
    waiting_withdrawal.refresh_from_db()
    assert waiting_withdrawal.status == WithdrawalRequest.Status.AWAITING_APPROVAL
    assert waiting_withdrawal.margin_account.cash == D("40000.00")  # still set aside
    assert not Notification.objects.filter(key="funds_withdrawal_rejected").exists()


def test_a_withdrawal_no_longer_waiting_is_not_offered_for_rejection(client, waiting_withdrawal):
    erin = staff("risk_officer", email="erin@example.test")
    services.withdrawal_reject(withdrawal_id=waiting_withdrawal.pk, staff=erin, reason="unusual")
    client.force_login(erin)

    page = client.post(
        reverse("admin:funds_withdrawalrequest_changelist"),
        {"action": "reject", "_selected_action": [waiting_withdrawal.pk]},
    )

    assert page.status_code == 200
    text = page.content.decode()
    assert 'name="reason"' not in text
    with translation.override(page.headers["Content-Language"]):
        assert str(REJECT.none_left) in text and str(REJECT.back) in text
