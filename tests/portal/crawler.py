"""A crawler for the whole portal: follows every link a page shows (admin included) and submits
every form it finds empty and with garbage, recording any server error with its traceback.

Pages are grouped by URL pattern (the resolver's route and the names of the query parameters):
each group is visited at most twice and each route at most three times, so a list of 200 tickets
(or an admin list with twenty filters) costs a handful of requests, not hundreds.
"""

from __future__ import annotations

import re
import traceback
from dataclasses import dataclass, field
from functools import lru_cache
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urldefrag, urlencode, urljoin, urlsplit

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.signals import got_request_exception
from django.test import Client
from django.urls import Resolver404, resolve

# Garbage a client (or an attacker) might type or post: markup, quotes, SQL, other scripts,
# full-width digits, numbers out of every range, impossible dates, a long word.
GARBAGE_TEXT = "ʕ•ᴥ•ʔ' OR 1=1;-- <script>alert(1)</script> ９９ ¥-1e309 NaN %s{{x}}"
GARBAGE_BY_TYPE = {
    "number": "-1e309",
    "date": "2026-02-30",
    "datetime-local": "2026-13-45T25:61",
    "email": "not-an-email@@",
    "tel": "+86 ９９９",
    "url": "javascript:alert(1)",
    "hidden": "-99999999999999999999",
    "checkbox": "garbage",
    "radio": "garbage",
}
NEVER = (
    "/accounts/logout/",  # would end the crawl's session
    "/admin/logout/",
    "/static/",
    "/media/",
    "/ws/",
)


@dataclass
class Form:
    action: str
    method: str
    fields: list[tuple[str, str, str]] = field(default_factory=list)  # name, type, value
    options: dict[str, list[str]] = field(default_factory=dict)


class _Page(HTMLParser):
    def __init__(self, base: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base = base
        self.links: list[str] = []
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append(urljoin(self.base, attrs["href"]))
        elif tag == "form":
            action = urljoin(self.base, attrs.get("action") or self.base)
            self._form = Form(action=action, method=(attrs.get("method") or "get").lower())
            self.forms.append(self._form)
        elif self._form is not None and tag in ("input", "textarea", "select", "button"):
            name = attrs.get("name")
            if not name:
                return
            kind = attrs.get("type", "text" if tag == "input" else tag).lower()
            self._form.fields.append((name, kind, attrs.get("value") or ""))
            if tag == "select":
                self._select = name
                self._form.options.setdefault(name, [])
        elif tag == "option" and self._form is not None and self._select:
            self._form.options[self._select].append(attrs.get("value", ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def pattern(url: str) -> tuple | None:
    """The group a URL belongs to: its route and query parameter names; None for elsewhere."""
    parts = urlsplit(url)
    if parts.netloc not in ("", "testserver") or parts.scheme not in ("", "http"):
        return None
    if parts.path.startswith(NEVER):
        return None
    route = _route(parts.path)
    if route is None:
        return ("404", parts.path)
    keys = tuple(sorted({key for key, _ in parse_qsl(parts.query, keep_blank_values=True)}))
    return (route, keys)


@lru_cache(maxsize=20_000)
def _route(path: str) -> str | None:
    """The resolver's route for a path (None: no route). A page lists dozens of links, most of
    them seen before: resolving each again was a tenth of the crawl's time."""
    try:
        return resolve(path).route
    except Resolver404:
        return None


@dataclass
class Failure:
    method: str
    url: str
    status: int
    detail: str

    def __str__(self) -> str:
        return f"{self.method} {self.url} → {self.status}\n{self.detail}"


class Crawler:
    """Crawl as one signed-in client (or anonymously) in one language."""

    def __init__(
        self,
        client: Client,
        *,
        per_pattern: int = 2,
        per_route: int = 3,
        max_requests: int = 1500,
        skip_forms: tuple[str, ...] = (),
        variants: tuple[str, ...] = ("empty", "garbage"),
    ):
        self.client = client
        self.per_pattern = per_pattern
        self.per_route = per_route
        self.seen_routes: dict[str, int] = {}
        self.max_requests = max_requests
        self.skip_forms = skip_forms
        self.variants = variants
        self.seen_urls: set[str] = set()
        self.seen_patterns: dict[tuple, int] = {}
        self.seen_forms: set[tuple] = set()
        self.failures: list[Failure] = []
        self.requests = 0
        self._errors: list[str] = []

    def _on_exception(self, sender, request=None, **kwargs):
        self._errors.append(traceback.format_exc())

    def run(self, start: list[str]) -> list[Failure]:
        got_request_exception.connect(self._on_exception)
        try:
            queue = list(start)
            while queue and self.requests < self.max_requests:
                url = urldefrag(queue.pop(0))[0]
                key = pattern(url)
                if key is None or url in self.seen_urls:
                    continue
                route = key[0]
                if (
                    self.seen_patterns.get(key, 0) >= self.per_pattern
                    or self.seen_routes.get(route, 0) >= self.per_route
                ):
                    continue
                self.seen_urls.add(url)
                self.seen_patterns[key] = self.seen_patterns.get(key, 0) + 1
                self.seen_routes[route] = self.seen_routes.get(route, 0) + 1
                page = self._get(url)
                if page is None:
                    continue
                queue.extend(page.links)
                for form in page.forms:
                    queue.extend(self._submit(form))
        finally:
            got_request_exception.disconnect(self._on_exception)
        return self.failures

    def _record(self, method: str, url: str, response) -> None:
        if response.status_code >= 500:
            detail = (
                self._errors[-1]
                if self._errors
                else response.content[:2000].decode(errors="replace")
            )
            self.failures.append(Failure(method, url, response.status_code, detail))
        self._errors.clear()

    def _get(self, url: str) -> _Page | None:
        self.requests += 1
        response = self.client.get(url)
        self._record("GET", url, response)
        if response.streaming:
            # Read to the end: the test client closes it then, without closing the database.
            b"".join(response.streaming_content)
            return None
        if response.status_code in (301, 302, 303, 307, 308):
            return _Page(url) if not response.get("Location") else self._follow(url, response)
        if "text/html" not in response.get("Content-Type", ""):
            return None
        page = _Page(url)
        page.feed(response.content.decode(errors="replace"))
        return page

    def _follow(self, url: str, response) -> _Page:
        page = _Page(url)
        page.links.append(urljoin(url, response["Location"]))
        return page

    def _submit(self, form: Form) -> list[str]:
        """Submit the form empty and with garbage; returns where the answers sent the browser."""
        followed: list[str] = []
        key = pattern(form.action)
        if key is None or key[0] in self.skip_forms:
            return followed
        # Hidden fields (an admin list's current filters, a token) vary from page to page of the
        # same form; the form is what the visible fields make it.
        names = tuple(sorted({name for name, kind, _value in form.fields if kind != "hidden"}))
        if (key, form.method, names) in self.seen_forms:
            return followed
        self.seen_forms.add((key, form.method, names))
        for variant in self.variants:
            if self.requests >= self.max_requests:
                return followed
            data = {} if variant == "empty" else self._garbage(form)
            self.requests += 1
            if form.method == "post":
                response = self.client.post(form.action, data)
            else:
                base = urlsplit(form.action)
                query = urlencode({k: v for k, v in data.items() if isinstance(v, str)})
                response = self.client.get(f"{base.path}?{query}" if query else base.path)
            if response.streaming:
                b"".join(response.streaming_content)
            self._record(f"{form.method.upper()} ({variant})", form.action, response)
            if response.status_code in (301, 302, 303) and response.get("Location"):
                followed.append(urljoin(form.action, response["Location"]))
        return followed

    @staticmethod
    def _garbage(form: Form) -> dict:
        data: dict = {}
        for name, kind, value in form.fields:
            if kind in ("submit", "button", "image"):
                data.setdefault(name, value)  # the first button: the form's main action
                continue
            if kind == "reset":
                continue
            if name == "csrfmiddlewaretoken":
                continue
            if kind == "file":
                data[name] = SimpleUploadedFile(
                    "garbage.pdf", b"%PDF-1.4 \x00\xff garbage " * 20, "application/pdf"
                )
            elif kind == "select":
                data[name] = "garbage-" + re.sub(r"\W", "", name)
            elif kind == "textarea":
                data[name] = GARBAGE_TEXT * 3
            else:
                data[name] = GARBAGE_BY_TYPE.get(kind, GARBAGE_TEXT)
        return data
