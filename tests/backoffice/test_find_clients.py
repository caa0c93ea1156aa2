"""Search that finds people: whatever the caller or the bank statement gives staff."""

import pytest
from django.urls import reverse

from accounts.models import KycCase
from accounts.services import id_number_index
from backoffice.search import find_clients
from funds.models import CustodianStatement, CustodianTransaction
from tests.factories import UserFactory
from tests.funds.factories import funded_account, verified_client
from tests.support.factories import open_ticket

pytestmark = pytest.mark.django_db
ID_NUMBER = "11010519491231002X"


@pytest.fixture
def lin(db):
    user = verified_client("林岚", email="Lin.Lan@example.test", phone="13800138000")
    user.full_name = "林岚"
    user.save(update_fields=["full_name"])
    KycCase.objects.filter(user=user).update(id_number_index=id_number_index(ID_NUMBER))
    return user


@pytest.fixture
def others(db):
    clients = [
        verified_client("王博", phone="13900139000"),
        verified_client("林兰", phone="13700137000"),
    ]
    # The account names match the verified names: a random factory name such as 林秀英 would
    # read "lin" too and make the name searches depend on the draw.
    for user in clients:
        user.full_name = user.kyc_case.legal_name
        user.save(update_fields=["full_name"])
    return clients


def found(query):
    return [hit.client.kyc_case.legal_name for hit in find_clients(query)]


PHONE_FORMATS = ["13800138000", "138 0013 8000", "138-0013-8000", "+86 138 0013 8000",
                 "008613800138000", "１３８００１３８０００"]  # fmt: skip


@pytest.mark.parametrize("query", PHONE_FORMATS)
def test_a_phone_number_finds_the_client_whatever_its_format(lin, others, query):
    assert found(query) == ["林岚"]


def test_an_id_number_finds_the_client_through_the_blind_index(lin, others):
    assert found(ID_NUMBER) == ["林岚"]
    assert found(ID_NUMBER.lower()) == ["林岚"]
    assert found("110105194912310011") == []


@pytest.mark.parametrize("query", ["lin.lan@example.test", "LIN.LAN@EXAMPLE.TEST"])
def test_an_email_finds_the_client(lin, others, query):
    assert found(query) == ["林岚"]


def test_a_chinese_name_finds_that_client_only(lin, others):
    assert found("林岚") == ["林岚"]
    assert sorted(found("林")) == sorted(["林岚", "林兰"])


@pytest.mark.parametrize("query", ["lin lan", "LinLan", "Lan Lin", "linlan", "ＬＩＮ　ＬＡＮ"])
def test_pinyin_finds_every_client_whose_name_reads_so(lin, others, query):
    # 林岚 and 林兰 are both "lin lan": pinyin cannot tell them apart, so staff see both.
    assert sorted(found(query)) == sorted(["林岚", "林兰"])


def test_pinyin_of_another_name_does_not_match(lin, others):
    assert "林岚" not in found("wang bo")
    assert found("wang bo") == ["王博"]


def test_account_contract_ticket_and_bank_reference_find_the_client(lin, others):
    account = funded_account(lin)
    ticket = open_ticket(lin)
    statement = CustodianStatement.objects.create(
        statement_date="2026-11-26", opening_balance="0.00", closing_balance="100.00",
        sha256="0" * 64,
    )  # fmt: skip
    CustodianTransaction.objects.create(
        statement=statement, bank_reference="BR20261126001", value_date="2026-11-26",
        direction="CREDIT", amount="100.00", margin_account=account,
    )  # fmt: skip
    assert found(account.number) == ["林岚"]
    assert found(account.number.lower()) == ["林岚"]
    assert found(account.contracts.first().number) == ["林岚"]
    assert found(f"#{ticket.pk}") == ["林岚"]
    assert found(f"# {ticket.pk}") == ["林岚"]
    assert found("br20261126001") == ["林岚"]


def test_staff_are_never_found(db):
    UserFactory(full_name="林岚", email="staff.lin@example.test", phone="13800138000", role="agent")
    assert find_clients("13800138000") == []
    assert find_clients("林岚") == []
    assert find_clients("lin lan") == []


def test_the_search_page_lists_hits_with_what_matched_and_masks_the_phone(staff, lin):
    html = staff["agent"].get(reverse("backoffice:search"), {"q": "lin lan"}).content.decode()
    assert reverse("backoffice:client", args=[lin.pk]) in html
    assert "138****8000" in html and "13800138000" not in html


def test_one_hit_from_the_header_box_opens_the_client_page(staff, lin):
    response = staff["agent"].get(reverse("backoffice:search"), {"q": "13800138000", "go": "1"})
    assert response.status_code == 302
    assert response.url == reverse("backoffice:client", args=[lin.pk])


@pytest.mark.parametrize("query", ["", " ", "%", "' OR 1=1;--", "#", "#99999999999", "x" * 500])
def test_odd_queries_answer_a_page_not_an_error(staff, lin, query):
    assert staff["agent"].get(reverse("backoffice:search"), {"q": query}).status_code == 200


@pytest.mark.parametrize("query", ["ll", "LL", "ｌｌ"])
def test_pinyin_initials_find_the_clients_whose_names_start_so(lin, others, query):
    assert sorted(found(query)) == sorted(["林岚", "林兰"])
    assert found("wb") == ["王博"]


def test_a_name_carries_its_pinyin_from_the_moment_it_is_saved(lin):
    lin.refresh_from_db()
    assert (lin.name_pinyin, lin.name_pinyin_given_first, lin.name_initials) == (
        "linlan",
        "lanlin",
        "ll",
    )
    lin.full_name = "欧阳娜娜"
    lin.save(update_fields=["full_name"])
    lin.refresh_from_db()
    assert (lin.name_pinyin, lin.name_initials) == ("ouyangnana", "oynn")
    assert lin.kyc_case.legal_name_pinyin == "linlan"  # the verified name keeps its own


def test_search_reads_the_stored_pinyin_and_converts_no_names(lin, others, monkeypatch):
    import pypinyin

    def refuse(*args, **kwargs):
        raise AssertionError("a name was converted at search time")

    monkeypatch.setattr(pypinyin, "lazy_pinyin", refuse)
    monkeypatch.setattr("accounts.names.lazy_pinyin", refuse)
    assert sorted(found("lin lan")) == sorted(["林岚", "林兰"])
    assert found("wb") == ["王博"]


def test_the_migration_backfills_names_saved_before_it(lin, others):
    import importlib

    from django.apps import apps

    from accounts.models import User

    migration = importlib.import_module("accounts.migrations.0008_name_pinyin")
    User.objects.update(name_pinyin="", name_pinyin_given_first="", name_initials="")
    KycCase.objects.update(
        legal_name_pinyin="", legal_name_pinyin_given_first="", legal_name_initials=""
    )
    assert found("lin lan") == []
    migration.backfill(apps, None)
    assert sorted(found("lin lan")) == sorted(["林岚", "林兰"])
    assert sorted(found("ll")) == sorted(["林岚", "林兰"])
