"""One way to cut a client's or staff member's list into pages, whatever the page number says.

Every list a person sees is paginated, so a client with 200 tickets gets a page as fast as one
with two (two queries: the count and the page). The page number comes from the query string and
is never trusted: ``abc``, ``0``, ``-1``, full-width digits (``２``) or a number past the end give
the nearest real page (the first, or the last), never an error page or an empty list that looks
like "you have nothing".
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.http import HttpRequest

PER_PAGE = 20


def page_number(raw: str | None) -> int:
    """The page asked for, 1 when it is not a plain positive ASCII number.

    int() reads full-width and other Unicode digits (int("２") is 2); a link we print never has
    them, so they are treated as garbage rather than as a second URL for the same page.
    """
    if not raw or not (raw.isascii() and raw.isdigit()):
        return 1
    if len(raw) > 9:  # past any list's end (and int() refuses strings of thousands of digits)
        return 10**9
    return max(int(raw), 1)


def paginate(
    request: HttpRequest, items: Any, *, per_page: int = PER_PAGE, param: str = "page"
) -> Page:
    """The page of `items` (an ordered queryset, or anything with count() and slicing) that
    ``request.GET[param]`` asks for; past the end, the last page."""
    paginator = Paginator(items, per_page)
    number = min(page_number(request.GET.get(param)), paginator.num_pages)
    page = paginator.page(number)
    page.param = param  # type: ignore[attr-defined]  (the template's links need it)
    return page
