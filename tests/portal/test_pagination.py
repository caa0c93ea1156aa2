"""Every list a client sees comes in pages, whatever the page number in the address says."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from portal.pagination import PER_PAGE, page_number
from support.models import Priority, Ticket, TicketType

START = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


def tickets_for(client, count, *, label):
    """`count` tickets, one a minute, subjects "<label> 000" (oldest) upwards."""
    return Ticket.objects.bulk_create(
        Ticket(
            client=client,
            type=TicketType.QUESTION,
            priority=Priority.NORMAL,
            subject=f"{label} {n:03d}",
            created_at=START + timedelta(minutes=n),
        )
        for n in range(count)
    )


def subjects_on(response):
    return [ticket.subject for ticket in response.context["tickets"]]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, 1),
        ("", 1),
        ("2", 2),
        ("0", 1),
        ("-1", 1),
        ("abc", 1),
        ("２", 1),  # full-width digits are not a page number we ever print
        ("1.5", 1),
        ("9" * 5000, 10**9),  # past the end (int() refuses strings this long)
    ],
)
def test_the_page_number_is_read_defensively(raw, expected):
    assert page_number(raw) == expected


@pytest.mark.django_db
def test_alices_200_tickets_come_twenty_to_a_page_newest_first(client, client_alice):
    tickets_for(client_alice, 200, label="Alice")
    client.force_login(client_alice)
    first = client.get(reverse("support:index"))
    second = client.get(reverse("support:index"), {"page": 2})
    assert subjects_on(first) == [f"Alice {n:03d}" for n in range(199, 199 - PER_PAGE, -1)]
    assert subjects_on(second) == [f"Alice {n:03d}" for n in range(179, 179 - PER_PAGE, -1)]
    html = second.content.decode()
    assert 'rel="prev"' in html and 'rel="next"' in html
    assert "?page=3" in html and "?page=10" in html  # next and last


@pytest.mark.django_db
def test_bob_never_sees_alices_tickets_on_any_page(client, client_alice, client_bob):
    tickets_for(client_alice, 45, label="Alice")
    tickets_for(client_bob, 3, label="Bob")
    client.force_login(client_bob)
    for page in ("1", "2", "3", "999"):
        response = client.get(reverse("support:index"), {"page": page})
        assert sorted(subjects_on(response)) == ["Bob 000", "Bob 001", "Bob 002"]
        assert "Alice" not in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("page", "shown"), [("0", 1), ("-1", 1), ("abc", 1), ("２", 1), ("99999", 3), ("9" * 30, 3)]
)
def test_a_bad_page_number_gives_the_nearest_real_page(client, client_alice, page, shown):
    tickets_for(client_alice, 45, label="Alice")
    client.force_login(client_alice)
    response = client.get(reverse("support:index"), {"page": page})
    assert response.status_code == 200
    assert response.context["page"].number == shown
    assert subjects_on(response)  # never an empty page that reads as "no tickets"


@pytest.mark.django_db
def test_the_ticket_list_takes_the_same_queries_for_200_tickets_as_for_20(
    client, client_alice, django_assert_max_num_queries
):
    tickets_for(client_alice, 20, label="Alice")
    client.force_login(client_alice)
    client.get(reverse("support:index"))  # session and caches warm
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(reverse("support:index"))
    tickets_for(client_alice, 180, label="More")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("support:index"))


@pytest.mark.django_db
def test_the_page_links_are_translated_and_labelled(client, client_alice, settings):
    tickets_for(client_alice, 45, label="Alice")
    client.force_login(client_alice)
    zh = client.get(reverse("support:index"), {"page": 2}).content.decode()
    assert 'aria-label="工单的分页"' in zh
    assert "上一页" in zh and "下一页" in zh and "第 2 页，共 3 页" in zh
    assert 'aria-current="page"' in zh
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    en = client.get(reverse("support:index"), {"page": 2}).content.decode()
    assert 'aria-label="Pages of your tickets"' in en
    assert "Previous page" in en and "Next page" in en and "Page 2 of 3" in en


@pytest.mark.django_db
def test_other_filters_in_the_address_are_kept_by_the_page_links(client, client_alice):
    tickets_for(client_alice, 45, label="Alice")
    client.force_login(client_alice)
    html = client.get(reverse("support:index"), {"page": 2, "sort": "new"}).content.decode()
    assert "?page=3&amp;sort=new" in html or "?sort=new&amp;page=3" in html
