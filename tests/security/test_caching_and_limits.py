"""Private pages are never cached; oversized bodies are refused before they are read; secrets stay
out of logs and error reports.

The attacks this pins: the next user of a shared computer (or a caching proxy) replaying a
client's funds, tickets, statements or KYC pages from cache; an anonymous client making every web
process read 50 MB bodies; a reset key read from the server log.
"""

import io
import logging

import pytest
from asgiref.sync import async_to_sync
from django.test import Client, RequestFactory
from django.urls import reverse

from portal.limits import RequestBodyLimit
from portal.redaction import RedactSecretsFilter, SecretsReporterFilter
from tests.funds.factories import funded_account, verified_client
from tests.support.factories import open_ticket

pytestmark = pytest.mark.django_db
MB = 1024 * 1024


# --- Cache-Control: no-store ---------------------------------------------------------------------


@pytest.fixture
def alice_browser(db):
    alice = verified_client("林岚", email="alice.cache@example.test")
    funded_account(alice)
    ticket = open_ticket(alice)
    browser = Client()
    browser.force_login(alice)
    return browser, ticket


def test_every_private_page_says_no_store(alice_browser):
    browser, ticket = alice_browser
    pages = [
        reverse("funds:index"),
        reverse("support:index"),
        reverse("support:ticket-detail", args=[ticket.pk]),
        reverse("onboarding:status"),
        reverse("onboarding:privacy"),
        reverse("education:index"),
        reverse("margin:index"),
        reverse("notices:list"),
        reverse("accounts:settings"),
        "/",
    ]
    for path in pages:
        response = browser.get(path)
        assert response.status_code in (200, 302), path
        assert "no-store" in response.get("Cache-Control", ""), path


def test_reset_and_verification_pages_say_no_store_before_sign_in():
    anonymous = Client()
    for path in ["/accounts/password/reset/key/1-abc-def/", "/accounts/confirm-email/abc/"]:
        assert "no-store" in anonymous.get(path).get("Cache-Control", ""), path


def test_public_pages_for_anonymous_visitors_stay_cacheable():
    response = Client().get(reverse("support:sla"))
    assert "no-store" not in response.get("Cache-Control", "")


# --- request bodies ------------------------------------------------------------------------------


def _post_scope(length: int | None, cookie: bool = False) -> dict:
    headers = [(b"host", b"testserver"), (b"content-type", b"application/octet-stream")]
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    if cookie:
        headers.append((b"cookie", b"sessionid=whatever"))
    return {
        "type": "http",
        "method": "POST",
        "path": "/accounts/login/",
        "headers": headers,
        "query_string": b"",
    }


def _run(app, scope, chunks):
    sent, reads = [], []

    async def receive():
        reads.append(1)
        body = chunks.pop(0) if chunks else b""
        return {"type": "http.request", "body": body, "more_body": bool(chunks)}

    async def send(message):
        sent.append(message)

    async_to_sync(app)(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, len(reads)


def test_a_50_mb_anonymous_post_is_refused_before_a_byte_is_read():
    from portal.asgi import application

    status, reads = _run(application, _post_scope(50 * MB), [b"x" * MB] * 50)
    assert (status, reads) == (413, 0)


def test_a_body_without_a_length_is_cut_off_once_it_passes_the_limit(settings):
    settings.REQUEST_BODY_MAX_BYTES_ANONYMOUS = 6 * MB
    reached = []

    async def django(scope, receive, send):
        while True:
            message = await receive()
            if message["type"] == "http.disconnect" or not message.get("more_body"):
                break
        reached.append(True)

    status, reads = _run(RequestBodyLimit(django), _post_scope(None), [b"x" * MB] * 50)
    assert status == 413 and reads == 7  # stopped after the chunk that passed 6 MB
    assert reached == [True]


def test_a_signed_in_upload_may_be_larger_but_is_still_bounded(settings):
    calls = []

    async def django(scope, receive, send):
        calls.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    limit = settings.REQUEST_BODY_MAX_BYTES
    assert _run(RequestBodyLimit(django), _post_scope(40 * MB, cookie=True), [])[0] == 200
    assert _run(RequestBodyLimit(django), _post_scope(limit + 1, cookie=True), [])[0] == 413
    assert _run(RequestBodyLimit(django), _post_scope(40 * MB), [])[0] == 413
    assert len(calls) == 1


def test_django_keeps_its_own_limits_for_form_fields(settings):
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE <= 2_621_440
    assert settings.FILE_UPLOAD_MAX_MEMORY_SIZE <= 2_621_440
    assert settings.DATA_UPLOAD_MAX_NUMBER_FILES <= 10


# --- logs and error reports ----------------------------------------------------------------------


@pytest.fixture
def server_log():
    """What the console handler (the server's log) writes, captured."""
    handler = next(h for h in logging.getLogger().handlers if _redacts(h))
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


def _redacts(handler) -> bool:
    return any(isinstance(f, RedactSecretsFilter) for f in handler.filters)


def test_the_server_log_withholds_keys_and_tokens_in_paths(server_log):
    Client().post("/support/survey/Sup3r-Secret-Survey-Token/", {"rating": "5"})
    logging.getLogger("django.request").warning(
        "Not Found: %s", "/accounts/password/reset/key/3-abc123-def456/"
    )
    written = server_log.getvalue()
    assert "/support/survey/[withheld]" in written
    assert "Sup3r-Secret-Survey-Token" not in written
    assert "abc123-def456" not in written and "/password/reset/key/[withheld]" in written


def test_error_reports_hide_posted_codes_and_path_keys():
    request = RequestFactory().post(
        "/accounts/confirm-email/KEY-123/", {"code": "123456", "email": "a@example.test"}
    )
    report = SecretsReporterFilter()
    params = report.get_post_parameters(request)
    assert params["code"] != "123456" and params["email"] == "a@example.test"
    meta = report.get_safe_request_meta(request)
    assert "KEY-123" not in str(meta.get("PATH_INFO"))
