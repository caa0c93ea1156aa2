"""A statement compiled once (portal.rows.Statement) runs with each run's values, its
placeholders numbered once for PostgreSQL (``_numbered``)."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models.expressions import RawSQL
from django.test.utils import CaptureQueriesContext

from portal import rows

pytestmark = pytest.mark.django_db


def test_placeholders_are_numbered_and_percent_signs_unescaped():
    assert rows._numbered("SELECT %s, '50%%', %s FROM t WHERE a = %s", 3) == (
        "SELECT $1, '50%', $2 FROM t WHERE a = $3"
    )
    assert rows._numbered("SELECT 1", 0) == "SELECT 1"


@pytest.mark.parametrize(
    ("sql", "count", "message"),
    [
        ("SELECT %s, %s", 1, "unexpected placeholder"),
        ("SELECT %s", 2, "fewer placeholders"),
        ("SELECT %(name)s", 1, "unexpected placeholder"),
        ("SELECT %b", 1, "unexpected placeholder"),
    ],
)
def test_a_statement_whose_placeholders_and_values_disagree_is_refused(sql, count, message):
    with pytest.raises(ValueError, match=message):
        rows._numbered(sql, count)


def users(email: str):
    return (
        get_user_model()
        .objects.filter(email=email)
        .annotate(label=RawSQL("'100%%'", ()), wanted=RawSQL("%s", (email,)))
        .values("email", "label", "wanted")
    )


def test_each_run_takes_its_own_values_and_keeps_literal_percent_signs():
    model = get_user_model()
    model.objects.create_user(email="a@example.com", password="x")
    model.objects.create_user(email="b@example.com", password="x")
    statement = rows.Statement(users, email="\x01standin\x01")
    with CaptureQueriesContext(connection) as captured:
        first = statement.run(connection, email="a@example.com")
        second = statement.run(connection, email="b@example.com")
    assert first == {"email": "a@example.com", "label": "100%", "wanted": "a@example.com"}
    assert second == {"email": "b@example.com", "label": "100%", "wanted": "b@example.com"}
    assert statement.run(connection, email="nobody@example.com") is None
    assert len(captured.captured_queries) == 2
