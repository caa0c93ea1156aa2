"""Nothing a user can do answers a 500: every demo persona, in both languages, follows every link
the portal shows them (admin included) and submits every form it finds.

In zh-Hans, the portal's default, each persona opens every page up to three times a route and
submits every form empty and with garbage. In English what differs is the catalogue and the
formats, which one rendering of each page and of each form's errors exercises: each route once,
each form with garbage (about a third of the requests).

Runs on whichever database the suite runs on (SQLite, or PostgreSQL with DATABASE_URL set).
"""

from datetime import timedelta

import pytest
from django.test import Client

from accounts.demo import CLIENTS, STAFF
from accounts.models import User
from accounts.roles import ROLES
from education import selectors as education
from education import services as education_services
from portal import demo
from tests.portal.crawler import Crawler

pytestmark = pytest.mark.django_db
# The crawl's breadth in each language (see above), and the requests it makes at least.
LANGUAGES = {
    "zh-hans": ({}, 3000),
    "en": ({"per_pattern": 1, "per_route": 1, "variants": ("garbage",)}, 1000),
}
# Every demo client, and one staff member of each role (the second of a role sees the same).
PERSONAS = [
    None,
    *[p.email for p in CLIENTS],
    *[next(s.email for s in STAFF if s.role == role) for role in ROLES],
]
# The typed confirmation comes after the warning's minimum reading time, which no crawl waits
# out: eligible@ has done the course and read the warning, so the crawl reaches that form too.
AT_CONFIRMATION = "eligible@demo.wangrun.test"


@pytest.fixture
def demo_world(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        demo.seed()
        user = User.objects.get(email=AT_CONFIRMATION)
        version = education.gate_course_version()
        with demo.back_in_time(timedelta(hours=1)) as clock:
            answers = {q.pk: q.correct for q in version.questions.all()}
            education_services.quiz_submit(user=user, version=version, answers=answers)
            reading = education_services.warning_open(user=user, language="zh-hans")
            clock.shift(timedelta(minutes=5))
            education_services.warning_reached_end(reading=reading)
            education_services.warning_complete(reading=reading)
    return reading


def crawl(email: str | None, language: str, *, also: tuple[str, ...] = ()) -> tuple[list, int]:
    breadth, _least = LANGUAGES[language]
    client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE=language)
    client.cookies["django_language"] = language
    start = ["/", "/support/sla/", "/disclosures/", "/education/verify/", *also]
    if email is not None:
        user = User.objects.get(email=email)
        client.force_login(user)
        start += ["/admin/"] if user.is_staff else ["/margin/", "/funds/", "/onboarding/"]
    else:
        start += ["/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"]
    crawler = Crawler(client, **breadth)
    return crawler.run(start), crawler.requests


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_page_or_form_answers_a_server_error(demo_world, language):
    confirm = f"/education/warning/{demo_world.token}/confirm/"
    failures, requests = [], 0
    for email in PERSONAS:
        found, made = crawl(email, language, also=(confirm,) if email == AT_CONFIRMATION else ())
        failures += [f"[{email or 'anonymous'}] {failure}" for failure in found]
        requests += made
    assert requests > LANGUAGES[language][1]
    assert not failures, "\n\n".join(failures[:10]) + f"\n\n({len(failures)} in all)"
