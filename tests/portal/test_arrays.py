"""Array literals (portal.arrays) read back by PostgreSQL as the values they were made of."""

import datetime
from decimal import Decimal as D

import pytest
from django.db import connection

from portal import arrays

pytestmark = pytest.mark.django_db

ODD = ['plain', "", " spaced ", 'a "quote"', "back\\slash", "comma,brace{}", "NULL", "中文",
       "new\nline", "tab\t", "\\\"both\"\\", None]  # fmt: skip


def read_back(literal, cast):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT %s::{cast}", [literal])
        return cursor.fetchone()[0]


def test_literals_spell_what_they_hold():
    assert arrays.numbers([1, 2, None, 3]) == "{1,2,NULL,3}"
    assert arrays.numbers([]) == "{}"
    assert arrays.texts(["a", "b"]) == '{"a","b"}'
    assert arrays.texts([]) == "{}"
    assert arrays.texts(['a"b', None]) == '{"a\\"b",NULL}'


def test_postgresql_reads_each_element_back_as_it_was():
    if connection.vendor != "postgresql":
        pytest.skip("array literals are PostgreSQL's")
    assert read_back(arrays.texts(ODD), "text[]") == ODD
    assert read_back(arrays.texts(ODD[:-1]), "text[]") == ODD[:-1]  # the fast path
    numbers = [D("1.2900"), None, D("-0.01"), D("123456789.12")]
    assert read_back(arrays.numbers(numbers), "numeric[]") == numbers
    assert read_back(arrays.numbers([1, 2**40, None]), "bigint[]") == [1, 2**40, None]
    moment = datetime.datetime(2026, 11, 26, 2, 0, 1, 5, tzinfo=datetime.UTC)
    assert read_back(arrays.texts([moment.isoformat()]), "timestamptz[]") == [moment]
