"""The tables the risk engine rewrites all day keep room on each page (migration 0012)."""

import pytest
from django.db import connection


@pytest.mark.django_db
@pytest.mark.parametrize("table", ["margin_marginaccount", "margin_instrument"])
def test_the_engines_hot_tables_leave_a_fifth_of_each_page_free(table):
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL storage parameter")
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = %s", [table])
        [(options,)] = cursor.fetchall()
    assert "fillfactor=80" in (options or [])
