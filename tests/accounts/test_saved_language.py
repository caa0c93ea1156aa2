"""The language saved on a client's account wins over the browser's once they sign in."""

import pytest

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("saved", "browser", "lang"),
    [("en", "zh-CN,zh", 'lang="en"'), ("zh-hans", "en-US,en", 'lang="zh-hans"')],
)
def test_the_saved_language_wins_over_the_browsers_at_sign_in(client, saved, browser, lang):
    user = UserFactory(language=saved)
    response = client.post(
        "/accounts/login/",
        {"login": user.email, "password": PASSWORD},
        HTTP_ACCEPT_LANGUAGE=browser,
    )
    assert response.status_code == 302
    assert response.cookies["django_language"].value == saved  # set by signing in
    page = client.get("/", HTTP_ACCEPT_LANGUAGE=browser)
    assert lang in page.content.decode()


def test_choosing_a_language_while_signed_in_saves_it_and_keeps_it(client):
    user = UserFactory(language="zh-hans")
    client.force_login(user)
    client.post("/account/language/", {"language": "en", "next": "/"})
    user.refresh_from_db()
    assert user.language == "en"
    assert 'lang="en"' in client.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
