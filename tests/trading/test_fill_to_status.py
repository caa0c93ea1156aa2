"""A fill reaches the client's pushed status at once: the engine is told, it does not wait for
its next periodic look (margin.changes)."""

import datetime
from decimal import Decimal as D

import pytest
from django.conf import settings

from margin import changes
from margin.feed import ManualFeed
from margin.runner import RiskRunner
from tests.trading.conftest import THURSDAY, instrument, tick, trader
from trading import services

pytestmark = pytest.mark.django_db
SECOND = datetime.timedelta(seconds=1)


def buy_and_fill(account, capture, *, announce: bool):
    services.order_submit(
        account_id=account.pk,
        side="buy",
        kind="limit",
        code="600036.SH",
        quantity=500,
        price=D("36.00"),
        client_token="one",
        at=THURSDAY,
    )
    tick("600036.SH", "35.80", THURSDAY + SECOND)
    with capture(execute=announce):
        assert services.venue_step(now=THURSDAY + SECOND) == 1


def pushed_quantity(pushes, account_id, code):
    for _group, payload in pushes:
        if payload["account_id"] == account_id:
            return {h["code"]: h["quantity"] for h in payload["positions"]}.get(code, 0)
    return None  # no push for the account


@pytest.fixture
def engine(documents, thursday):
    account = trader(cash="100000.00", holdings=[("000001.SZ", 1000, "20.00")])
    instrument("600036.SH", "36.00")
    # The periodic look is an hour away: only the announcement can make the engine reload now.
    runner = RiskRunner(feed=ManualFeed(), reload_interval=3600, clock=lambda: 0.0)
    runner.start()
    runner.step(now=0.0)  # the start's pushes go out
    return account, runner


def test_the_next_step_pushes_the_new_position_after_a_fill(
    engine, django_capture_on_commit_callbacks
):
    account, runner = engine
    buy_and_fill(account, django_capture_on_commit_callbacks, announce=True)
    # 0.1 s later: within the once-a-second limit, and still the client's own fill goes out.
    assert pushed_quantity(runner.step(now=0.1), account.pk, "600036.SH") == 500


def test_between_ticks_a_refresh_pushes_it_without_taking_a_tick(
    engine, django_capture_on_commit_callbacks
):
    account, runner = engine
    buy_and_fill(account, django_capture_on_commit_callbacks, announce=True)
    assert runner.accounts_changed()
    assert pushed_quantity(runner.refresh(now=0.1), account.pk, "600036.SH") == 500
    assert not runner.accounts_changed()  # seen once


def test_without_the_announcement_the_engine_waits_for_its_periodic_look(
    engine, django_capture_on_commit_callbacks
):
    account, runner = engine
    buy_and_fill(account, django_capture_on_commit_callbacks, announce=False)
    assert not runner.accounts_changed()
    assert pushed_quantity(runner.step(now=0.1), account.pk, "600036.SH") is None


needs_redis = pytest.mark.skipif(not settings.REDIS_URL, reason="the channel is Redis pub/sub")


@needs_redis
def test_a_fill_publishes_its_account_on_the_changes_channel_once_committed(
    engine, django_capture_on_commit_callbacks
):
    import redis

    account, _runner = engine
    client = redis.Redis.from_url(settings.REDIS_URL)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(changes.channel())
    try:
        buy_and_fill(account, django_capture_on_commit_callbacks, announce=True)
        heard: list[int] = []
        for _ in range(20):  # None for the subscription's confirmation; others' ids may land
            message = pubsub.get_message(timeout=0.5)
            if message is not None:
                heard += changes.parse(message["data"])
            if account.pk in heard:
                break
        assert account.pk in heard
    finally:
        pubsub.close()
        client.close()


def test_a_refresh_of_the_announced_accounts_reloads_them_alone(
    engine, django_capture_on_commit_callbacks
):
    from django.utils import timezone

    from margin.models import MarginAccount, Position

    account, runner = engine
    other = trader(cash="100000.00", holdings=[("000001.SZ", 1000, "20.00")])
    runner.start()  # the other account in the engine
    runner.step(now=0.0)
    buy_and_fill(account, django_capture_on_commit_callbacks, announce=True)
    # The other account changed too, stamped but not announced: the periodic look finds it.
    Position.objects.filter(account=other).update(quantity=2000)
    MarginAccount.objects.filter(pk=other.pk).update(state_changed_at=timezone.now())
    pushes = runner.refresh(now=0.1, account_ids=[account.pk, 999_999_999])
    assert pushed_quantity(pushes, account.pk, "600036.SH") == 500
    assert pushed_quantity(pushes, other.pk, "000001.SZ") is None
    assert pushed_quantity(runner.refresh(now=0.2), other.pk, "000001.SZ") == 2000


@needs_redis
def test_the_runner_wakes_on_an_announcement_with_the_ids_it_names():
    import asyncio

    from margin.runner import _Announcements

    async def hear() -> list[int] | None:
        heard = _Announcements()
        try:
            assert await heard.subscribe() is not None
            asyncio.get_running_loop().call_later(0.05, changes._publish, [7, 8])
            found: list[int] = []
            for _ in range(20):  # other tests' announcements may land too
                found += await heard.wait(1.0) or []
                if {7, 8} <= set(found):
                    break
            return found
        finally:
            await heard.close()

    assert {7, 8} <= set(asyncio.run(hear()))
