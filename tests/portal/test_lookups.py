"""``field__any``: the rows ``field__in`` finds, with the values as one array parameter."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from margin.models import MarginAccount, MarginContract
from tests.factories import UserFactory
from tests.margin.conftest import make_account

pytestmark = pytest.mark.django_db


def test_any_finds_what_in_finds_on_keys_relations_and_text(client_alice, client_bob):
    accounts = [make_account(client_alice), make_account(client_bob)]
    make_account(UserFactory(email="c@example.test", phone="13800000031"))
    ids = [a.pk for a in accounts]
    asked = [*ids, ids[0], None, 10**12]  # a repeat, a None and an unknown id

    def same(model, **lookup):
        (name, values), = lookup.items()  # fmt: skip
        found = set(model.objects.filter(**{f"{name}__any": values}).values_list("pk", flat=True))
        wanted = set(model.objects.filter(**{f"{name}__in": values}).values_list("pk", flat=True))
        assert found == wanted
        return found

    assert same(MarginAccount, pk=asked) == set(ids)
    assert len(same(MarginContract, account_id=asked)) == 2
    assert len(same(MarginContract, account=ids)) == 2
    assert same(MarginAccount, number=[a.number for a in accounts]) == set(ids)
    assert same(MarginAccount, pk=[]) == set()


def test_any_sends_one_parameter_however_many_values():
    if connection.vendor != "postgresql":
        pytest.skip("IN elsewhere")
    with CaptureQueriesContext(connection) as queries:
        list(MarginAccount.objects.filter(pk__any=list(range(5000))))
    assert "= ANY(" in queries[0]["sql"] and queries[0]["sql"].count("%s") <= 1


def test_any_of_odd_strings_and_sets_finds_what_in_finds(client_alice, client_bob):
    """Ids and strings go as one array literal: quotes and backslashes survive it, and a set
    (which the ORM passes without walking each element) finds the same rows as a list."""
    odd = ['B"1', "B\\2", "B,{3}"]
    users = (client_alice, client_bob, UserFactory(email="o@example.test", phone="13800000032"))
    accounts = [make_account(user) for user in users]
    for account, number in zip(accounts, odd, strict=True):
        MarginAccount.objects.filter(pk=account.pk).update(number=number)
    asked = [*odd, "none"]
    found = set(MarginAccount.objects.filter(number__any=asked).values_list("pk", flat=True))
    assert found == {a.pk for a in accounts}
    ids = {a.pk for a in accounts[:2]}
    assert set(MarginAccount.objects.filter(pk__any=ids).values_list("pk", flat=True)) == ids
    assert MarginContract.objects.filter(account_id__any=ids).count() == 2
