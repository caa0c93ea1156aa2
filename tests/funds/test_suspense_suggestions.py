"""Money in suspense comes with suggestions: who it most likely belongs to, how sure, and why."""

from decimal import Decimal as D

import pytest

from funds import custodian, suspense
from funds.models import CustodianTransaction
from tests.funds.factories import bank_account, funded_account, verified_client

pytestmark = pytest.mark.django_db
HEADER = "value_date,bank_reference,type,amount,counterparty_name,counterparty_account,memo\n"


def receive(ref: str, amount: str, payer: str, *, account: str = "6222000011112222", memo=""):
    day = "2026-11-26"
    body = f"{day},OPEN-{ref},OPENING,0.00,,,\n"
    body += f"{day},{ref},CREDIT,{amount},{payer},{account},{memo or 'no reference'}\n"
    body += f"{day},CLOSE-{ref},CLOSING,{amount},,,\n"
    custodian.custodian_statement_import(data=(HEADER + body).encode())
    return CustodianTransaction.objects.get(bank_reference=ref)


@pytest.fixture
def lin(db):
    return funded_account(verified_client("林岚", email="lin@example.test"))


@pytest.fixture
def wang(db):
    return funded_account(verified_client("王五", email="wang@example.test"))


def numbers(suggestions):
    return [s.margin_account.number for s in suggestions]


def test_the_payers_chinese_name_suggests_that_client(lin, wang):
    [best] = suspense.suspense_suggestions(receive("S1", "500.00", "林岚"))
    assert best.margin_account == lin and best.confidence == D("0.50")
    assert best.verified_name == "林岚"


def test_a_pinyin_payer_name_suggests_the_client_with_less_confidence(lin, wang):
    [best] = suspense.suspense_suggestions(receive("S2", "500.00", "LIN LAN"))
    assert best.margin_account == lin and best.confidence == D("0.40")


def test_an_account_number_in_the_memo_and_the_own_bank_account_add_up(lin, wang):
    own = bank_account(lin.client, number="6222020200112233445")
    txn = receive("S3", "500.00", "林岚", account=own.account_number, memo=f"{lin.number} 入金")
    [best] = suspense.suspense_suggestions(txn)
    assert best.margin_account == lin
    assert best.confidence == D("0.99")  # never certainty: the agent still confirms
    assert len(best.reasons) == 3


def test_a_stranger_gets_no_suggestion(lin, wang):
    assert suspense.suspense_suggestions(receive("S4", "500.00", "张三")) == []


def test_the_memo_account_outranks_a_name_alone(lin, wang):
    txn = receive("S5", "500.00", "王五", memo=f"for {lin.number}")
    assert numbers(suspense.suspense_suggestions(txn)) == [lin.number, wang.number]
