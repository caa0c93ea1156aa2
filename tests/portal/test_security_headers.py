import pytest

pytestmark = pytest.mark.django_db


def test_pages_carry_a_strict_csp_and_deny_framing(client):
    response = client.get("/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_no_page_has_an_inline_script(client, client_alice):
    for path in ["/", "/accounts/login/", "/accounts/signup/"]:
        html = client.get(path).content.decode()
        assert "<script>" not in html and "<script " not in html.replace("<script src=", "")
    client.force_login(client_alice)
    html = client.get("/").content.decode()
    assert "<script>" not in html


def test_session_and_csrf_cookies_are_httponly(settings):
    assert settings.SESSION_COOKIE_HTTPONLY and settings.CSRF_COOKIE_HTTPONLY
