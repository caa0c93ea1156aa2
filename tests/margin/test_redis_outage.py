"""With Redis gone (restarting), the engine keeps running and the page keeps answering."""

import datetime

import pytest
from asgiref.sync import async_to_sync
from django.urls import reverse

from margin.feed import ManualFeed
from margin.push import Publisher
from margin.runner import RiskRunner
from tests.margin.conftest import make_account

pytestmark = pytest.mark.django_db
THURSDAY = datetime.datetime(2026, 11, 26, 2, 0, tzinfo=datetime.UTC)
NOWHERE = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@pytest.fixture
def redis_down(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": NOWHERE,
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    yield


def test_the_engine_records_and_keeps_going_when_pushes_and_cache_fail(client_alice, redis_down):
    from margin.models import MarginEvent

    account = make_account(client_alice)
    runner = RiskRunner(feed=ManualFeed())
    runner.start()
    runner.feed.put({"300750.SZ": "1290.00"}, at=THURSDAY)
    pushes = runner.step(now=10.0)
    assert [p["level"] for _, p in pushes] == ["call"]
    assert MarginEvent.objects.filter(account=account, to_level="call").exists()
    assert async_to_sync(Publisher(url=NOWHERE).publish)([pushes[0][1]]) is False


def test_the_status_page_and_json_answer_from_the_tables_while_the_cache_is_down(
    client, client_alice, redis_down
):
    account = make_account(client_alice)
    client.force_login(client_alice)
    data = client.get(reverse("margin:status")).json()
    assert (data["account"], data["ratio"], data["history"]) == (account.number, "1.5000", [])
