"""Least privilege, re-derived from the jobs, and crediting suspense under four eyes.

The attacks this pins: an agent listing every client's email and phone from the user admin or
the outbox; an agent reading the ledger, clients' bank accounts and gate evidence wholesale; an
agent crediting an unmatched receipt in suspense to an accomplice's account on their own say-so.
"""

import datetime
from decimal import Decimal as D

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from accounts import security_alerts
from funds import custodian, suspense
from funds import services as funds_services
from funds.models import CustodianTransaction
from tests.factories import UserFactory
from tests.funds.factories import funded_account, verified_client
from tests.security.conftest import STAFF_ROLES, admin_urls
from tests.support.factories import open_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    # The refusals are matched by their English text, whatever an earlier test left active.
    from django.utils import translation

    with translation.override("en"):
        yield


SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
HEADER = "value_date,bank_reference,type,amount,counterparty_name,counterparty_account,memo\n"


# --- contact details -----------------------------------------------------------------------------


@pytest.fixture
def bystander(db):
    """A client with no ticket: nobody's job needs her contact details today."""
    user = UserFactory(
        email="quiet.client@example.test",
        full_name="沈静",
        phone="13700000042",
        phone_verified=True,
    )
    security_alerts.security_alert(user=user, event="password_changed", key="bystander")
    return user


def test_no_role_but_compliance_reads_clients_contact_details_wholesale(staff, bystander):
    for role in STAFF_ROLES:
        browser = staff[role]
        assert browser.get(reverse("admin:accounts_user_changelist")).status_code == 403, role
        shown = []
        for url in admin_urls():
            response = browser.get(url)
            text = response.content.decode() if response.status_code == 200 else ""
            if bystander.email in text or bystander.phone in text:
                shown.append(url)
        outbox = reverse("admin:notices_notification_changelist")
        # Compliance proves what every client was told: the outbox is its job, and only its.
        if role == "compliance":
            assert shown and all(url.startswith(outbox) for url in shown)
        else:
            assert shown == [], role


def test_an_agent_sees_the_contact_details_of_the_client_on_the_ticket(staff, client_alice):
    ticket = open_ticket(client_alice)
    security_alerts.security_alert(user=client_alice, event="password_changed", key="t")
    page = staff["agent"].get(reverse("admin:support_ticket_change", args=[ticket.pk]))
    text = page.content.decode()
    assert client_alice.email in text and client_alice.phone in text
    assert 'data-testid="client-notices"' in text  # what she was sent, without the outbox


# --- the ledger, bank accounts, gate evidence ----------------------------------------------------

AGENT_MAY_NOT_READ = [
    "admin:funds_ledgeraccount_changelist",
    "admin:funds_journalentry_changelist",
    "admin:funds_charge_changelist",
    "admin:funds_bankaccount_changelist",
    "admin:funds_withdrawalrequest_changelist",
    "admin:funds_custodianstatement_changelist",
    "admin:funds_reconciliationbreak_changelist",
    "admin:education_gateconfirmation_changelist",
    "admin:education_quizattempt_changelist",
    "admin:disclosures_acknowledgement_changelist",
    "admin:disclosures_changenotice_changelist",
    "admin:notices_notification_changelist",
    "admin:accounts_user_changelist",
]


@pytest.mark.parametrize("name", AGENT_MAY_NOT_READ)
def test_an_agent_does_not_read_money_evidence_or_contacts_wholesale(staff, name):
    assert staff["agent"].get(reverse(name)).status_code == 403


# --- crediting suspense --------------------------------------------------------------------------


def _import_receipts(day: str, rows):
    """A custodian statement of unreferenced receipts (ref, amount, payer): all in suspense."""
    total = sum(D(amount) for _ref, amount, _payer in rows)
    body = f"{day},OPEN-{day},OPENING,0.00,,,\n"
    body += "".join(f"{day},{ref},CREDIT,{amount},{payer},6222000011112222,no reference\n"
                    for ref, amount, payer in rows)  # fmt: skip
    body += f"{day},CLOSE-{day},CLOSING,{total},,,\n"
    custodian.custodian_statement_import(data=(HEADER + body).encode())
    return {ref: CustodianTransaction.objects.get(bank_reference=ref) for ref, *_ in rows}


@pytest.fixture
def alice_account(db):
    return funded_account(verified_client("林岚", email="alice@example.test"))


@pytest.fixture
def accomplice_account(db):
    return funded_account(verified_client("王五", email="accomplice@example.test"))


@pytest.mark.parametrize(
    ("payer", "verified", "matches"),
    [
        ("林岚", "林岚", True),
        ("林 岚", "林岚", True),
        ("LIN LAN", "林岚", True),
        ("Lan Lin", "林岚", True),
        ("linlan", "林岚", True),
        ("ＬＩＮ　ＬＡＮ", "林岚", True),  # full-width letters and space, as some banks print
        ("林兰", "林岚", False),
        ("LIN LANG", "林岚", False),
        ("王五", "林岚", False),
        ("", "林岚", False),
        ("林岚", None, False),
    ],
)
def test_payer_names_match_the_verified_name_only_when_they_are_the_same_person(
    payer, verified, matches
):
    assert suspense.names_match(payer, verified) is matches


def test_an_agent_cannot_credit_an_unmatched_receipt_to_an_accomplice_alone(
    staff_users, alice_account, accomplice_account
):
    agent, officer = staff_users["agent"], staff_users["risk_officer"]
    txn = _import_receipts("2026-11-26", [("S1", "80000.00", "林岚")])["S1"]
    suspense.suspense_credit_request(
        transaction_id=txn.pk, margin_account_id=accomplice_account.pk, agent=agent
    )
    txn.refresh_from_db()
    accomplice_account.refresh_from_db()
    assert txn.match == CustodianTransaction.Match.SUSPENSE and txn.payer_name_matched is False
    assert accomplice_account.cash == D("0.00")
    with pytest.raises(PermissionDenied):
        suspense.suspense_credit_approve(transaction_id=txn.pk, approver=agent)
    suspense.suspense_credit_approve(transaction_id=txn.pk, approver=officer)
    accomplice_account.refresh_from_db()
    assert accomplice_account.cash == D("80000.00")


def test_whoever_asked_for_a_credit_cannot_approve_it(staff_users, accomplice_account):
    root = staff_users["superuser"]  # holds every permission, still one person
    txn = _import_receipts("2026-11-26", [("S8", "10.00", "某人")])["S8"]
    suspense.suspense_credit_request(
        transaction_id=txn.pk, margin_account_id=accomplice_account.pk, agent=root
    )
    with pytest.raises(suspense.SuspenseCreditError, match="second, different"):
        suspense.suspense_credit_approve(transaction_id=txn.pk, approver=root)


def test_only_risk_and_compliance_approve_credits_from_suspense(staff_users, accomplice_account):
    txn = _import_receipts("2026-11-26", [("S9", "10.00", "某人")])["S9"]
    suspense.suspense_credit_request(
        transaction_id=txn.pk, margin_account_id=accomplice_account.pk, agent=staff_users["agent"]
    )
    approvers = {
        role for role in STAFF_ROLES if staff_users[role].has_perm("funds.approve_suspense_credit")
    }
    assert approvers == {"risk_officer", "compliance"}
    with pytest.raises(PermissionDenied):
        suspense.suspense_credit_approve(
            transaction_id=txn.pk, approver=staff_users["kyc_reviewer"]
        )


def test_the_confirmation_page_shows_the_verified_name_before_any_money_moves(staff, alice_account):
    txn = _import_receipts("2026-11-26", [("S2", "500.00", "LIN LAN")])["S2"]
    CustodianTransaction.objects.filter(pk=txn.pk).update(margin_account=alice_account)
    changelist = reverse("admin:funds_custodiantransaction_changelist")
    page = staff["agent"].post(
        changelist, {"action": "credit_chosen_client", "_selected_action": [txn.pk]}
    )
    assert page.status_code == 200
    text = page.content.decode()
    assert "林岚" in text and "LIN LAN" in text and 'name="confirm"' in text
    alice_account.refresh_from_db()
    assert alice_account.cash == D("0.00")
    staff["agent"].post(
        changelist,
        {"action": "credit_chosen_client", "_selected_action": [txn.pk], "confirm": "yes"},
    )
    alice_account.refresh_from_db()
    assert alice_account.cash == D("500.00")


def test_an_agent_sees_only_the_suspense_lines_of_the_bank_statement(staff, alice_account):
    reference = funds_services.deposit_reference_for(alice_account)
    day = "2026-11-26"
    body = (
        f"{day},OPEN-{day},OPENING,0.00,,,\n"
        f"{day},MATCHED-01,CREDIT,10.00,林岚,6222999988887777,deposit {reference.reference}\n"
        f"{day},SUSPENSE-03,CREDIT,20.00,某人,6222000011112222,no reference\n"
        f"{day},CLOSE-{day},CLOSING,30.00,,,\n"
    )
    custodian.custodian_statement_import(data=(HEADER + body).encode())
    text = staff["agent"].get(reverse("admin:funds_custodiantransaction_changelist")).content
    assert b"SUSPENSE-03" in text and b"MATCHED-01" not in text
    everything = staff["compliance"].get(reverse("admin:funds_custodiantransaction_changelist"))
    assert b"MATCHED-01" in everything.content


def test_an_agent_credits_at_most_the_daily_limit_a_beijing_day(
    settings, staff_users, alice_account
):
    settings.FUNDS_SUSPENSE_DAILY_LIMIT = "200000.00"
    agent = staff_users["agent"]
    receipts = _import_receipts(
        "2026-11-26",
        [("L1", "150000.00", "林岚"), ("L2", "50000.01", "林岚"), ("L3", "50000.00", "林岚"),
         ("L4", "0.01", "林岚")],
    )  # fmt: skip

    def credit(ref):
        suspense.suspense_credit_request(
            transaction_id=receipts[ref].pk, margin_account_id=alice_account.pk, agent=agent
        )

    morning = datetime.datetime(2026, 11, 26, 9, 0, tzinfo=SHANGHAI)
    with time_machine.travel(morning, tick=False):
        credit("L1")  # 150,000.00 of 200,000.00
        with pytest.raises(suspense.SuspenseCreditError, match="Daily limit"):
            credit("L2")  # 200,000.01 would pass the limit
        credit("L3")  # exactly 200,000.00
        with pytest.raises(suspense.SuspenseCreditError, match="Daily limit"):
            credit("L4")
    # 00:00 in Beijing is a new day, though it is still the 26th in UTC.
    with time_machine.travel(datetime.datetime(2026, 11, 27, 0, 0, tzinfo=SHANGHAI), tick=False):
        credit("L4")
    alice_account.refresh_from_db()
    assert alice_account.cash == D("200000.01")
