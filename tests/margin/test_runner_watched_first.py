"""A fall big enough (``WATCHED_FIRST_TRANSITIONS``), the runner pushing to watched accounts only:
the watched accounts' transitions are recorded before the statuses are built and pushed, the
others' after the pushes (``RiskRunner.settle``) and before anything else is taken. Every status
pushed shows a level already recorded; every transition is recorded once."""

import asyncio
import datetime

import pytest
from django.db import connection

from margin import push, services, watching
from margin import runner as runner_mod
from margin.feed import ManualFeed
from margin.models import MarginAccount, MarginCall, MarginEvent, Restriction
from margin.runner import RiskRunner
from notices.models import Notification
from tests.factories import UserFactory
from tests.margin.conftest import make_account

pytestmark = pytest.mark.services

THURSDAY = datetime.datetime(2026, 11, 26, 2, 0, tzinfo=datetime.UTC)
# At ¥1,700, 100 shares are 170% (SAFE), 90 are 153% (WATCH); at ¥1,400, 140% (WARNING) and
# 126% (CALL).
QUANTITIES = [100, 100, 100, 90, 90, 90]
WATCHED = (0, 3)  # one falling to WARNING, one to CALL


@pytest.fixture
def accounts():
    return [
        make_account(
            UserFactory(email=f"w{i}@example.test", phone=f"1371111{i:04d}"),
            holdings=[("300750.SZ", quantity, "1700.00")],
        ).pk
        for i, quantity in enumerate(QUANTITIES)
    ]


def _clear_marks():
    if push.redis_url():
        watching._client().delete(watching.KEY)


@pytest.fixture
def watched(accounts, monkeypatch):
    monkeypatch.setattr(runner_mod, "WATCHED_FIRST_TRANSITIONS", 2)
    _clear_marks()
    ids = [accounts[i] for i in WATCHED]
    watching.watch(ids)
    yield ids
    _clear_marks()


@pytest.fixture
def runner(watched):
    """The engine as run_risk_engine runs it, started and through its first step."""
    runner = RiskRunner(feed=ManualFeed(), push_to_watched_only=True)
    runner.start()
    runner.step(now=100.0)
    return runner


def _failing(error):
    """A stand-in that raises ``error`` (a recorder, a watch list)."""

    def fail(**kwargs):
        raise error

    return fail


def _levels(ids):
    return dict(MarginAccount.objects.filter(pk__in=ids).values_list("pk", "current_level"))


def _fallen():
    """The accounts with an event to WARNING or CALL (the fall's), one per event."""
    return list(
        MarginEvent.objects.filter(to_level__in=["warning", "call"]).values_list(
            "account_id", flat=True
        )
    )


def _fallen_in_thread():
    try:
        return set(_fallen())
    finally:
        connection.close()


def _fall(runner, now=101.0):
    runner.feed.put({"300750.SZ": "1400.00"}, at=THURSDAY)
    return {p["account_id"]: p for _, p in runner.step(now=now)}


@pytest.mark.django_db
@pytest.mark.time_machine(THURSDAY, tick=False)
def test_the_watched_accounts_are_recorded_and_pushed_first_the_others_after(
    accounts, watched, runner
):
    others = [pk for pk in accounts if pk not in watched]
    before, recorded = _levels(others), MarginEvent.objects.count()

    pushed = _fall(runner)

    # What was pushed is recorded: the watched accounts' levels, call and restriction.
    assert set(pushed) == set(watched)
    assert _levels(watched) == {watched[0]: "warning", watched[1]: "call"}
    assert pushed[watched[0]]["level"] == "warning"
    assert pushed[watched[1]]["level"] == "call"
    call = MarginCall.objects.get(account_id=watched[1])
    assert pushed[watched[1]]["call"]["deadline"] == call.deadline.isoformat()
    assert pushed[watched[1]]["restrictions"]["blocked"]
    assert Notification.objects.filter(idempotency_key__startswith=f"margin:{watched[1]}:")
    # Nobody watches the others: still at their level before the tick until settled.
    assert _levels(others) == before
    assert MarginEvent.objects.count() == recorded + len(watched)
    assert not Notification.objects.filter(
        recipient__margin_accounts__pk__in=others, key__in=["margin_warning", "margin_call"]
    ).exists()

    events = runner.settle()

    assert sorted(e.account_id for e in events) == sorted(others)
    assert _levels(others) == {
        pk: "call" if q == 90 else "warning"
        for pk, q in zip(accounts, QUANTITIES, strict=True)
        if pk in others
    }
    called = [pk for pk, q in zip(accounts, QUANTITIES, strict=True) if q == 90]
    assert sorted(MarginCall.objects.values_list("account_id", flat=True)) == sorted(called)
    reduce_only = Restriction.objects.filter(
        kind=Restriction.Kind.REDUCE_ONLY, lifted_at__isnull=True
    )
    assert sorted(reduce_only.values_list("account_id", flat=True)) == sorted(called)
    # The tick's moment on both halves' events.
    fall = MarginEvent.objects.filter(to_level__in=["warning", "call"])
    assert {e.occurred_at for e in fall} == {events[0].occurred_at}
    assert runner.settle() == []  # nothing left: once
    assert MarginEvent.objects.count() == recorded + len(accounts)
    assert Notification.objects.filter(key__startswith="margin_").values(
        "recipient"
    ).distinct().count() == len(accounts)


@pytest.mark.django_db
@pytest.mark.time_machine(THURSDAY, tick=False)
def test_the_next_step_records_what_was_left_before_it_takes_its_tick(accounts, watched, runner):
    _fall(runner)  # nobody called settle (a caller other than run)
    runner.feed.put({"300750.SZ": "1800.00"}, at=THURSDAY + datetime.timedelta(minutes=1))

    runner.step(now=102.0)  # back up: 170% → 180% (SAFE), 153% → 162% (WATCH)

    # The fall's transitions recorded before the tick was taken: the others' too.
    assert sorted(_fallen()) == sorted(accounts)
    runner.settle()  # the way back's, for the accounts nobody watches
    for pk, quantity in zip(accounts, QUANTITIES, strict=True):  # down, then up, each once
        levels = list(
            MarginEvent.objects.filter(account_id=pk)
            .order_by("sequence")
            .values_list("to_level", flat=True)
        )
        assert levels == (["warning", "safe"] if quantity == 100 else ["watch", "call", "watch"])


@pytest.mark.django_db
@pytest.mark.time_machine(THURSDAY, tick=False)
def test_a_failed_settle_keeps_what_is_left_and_records_it_once_later(
    accounts, watched, runner, monkeypatch
):
    _fall(runner)
    recorded = MarginEvent.objects.count()
    record = services.margin_transitions_record

    down = _failing(ConnectionError("database restarting"))
    monkeypatch.setattr(services, "margin_transitions_record", down)
    with pytest.raises(ConnectionError):
        runner.settle()
    monkeypatch.setattr(services, "margin_transitions_record", record)

    assert MarginEvent.objects.count() == recorded

    events = runner.settle()

    assert len(events) == len(accounts) - len(watched)
    assert MarginEvent.objects.count() == recorded + len(events)
    assert runner.settle() == []


@pytest.mark.django_db
@pytest.mark.time_machine(THURSDAY, tick=False)
def test_all_at_once_while_the_watch_list_cannot_be_read_or_below_the_threshold(
    accounts, watched, runner, monkeypatch
):
    recorded = MarginEvent.objects.count()

    unreadable = _failing(ConnectionError("Redis restarting"))

    monkeypatch.setattr(watching, "watched", unreadable)
    pushed = _fall(runner)

    assert set(pushed) == set(accounts)  # every level change, each recorded
    assert MarginEvent.objects.count() == recorded + len(accounts)
    assert runner.settle() == []

    monkeypatch.undo()
    monkeypatch.setattr(runner_mod, "WATCHED_FIRST_TRANSITIONS", len(accounts) + 1)
    runner.feed.put({"300750.SZ": "1800.00"}, at=THURSDAY + datetime.timedelta(minutes=1))
    runner.step(now=102.0)
    assert MarginEvent.objects.count() == recorded + 2 * len(accounts)  # all in the step


@pytest.mark.django_db(transaction=True)
@pytest.mark.time_machine(THURSDAY, tick=False)
def test_run_publishes_the_watched_statuses_before_it_records_the_rest(
    accounts, watched, monkeypatch
):
    seen = []  # at each publish: the accounts pushed, and those with an event recorded
    stop = asyncio.Event()

    class Publisher:
        _client = None

        async def publish(self, payloads):
            if not payloads:
                return
            fallen = await asyncio.to_thread(_fallen_in_thread)
            seen.append(({p["account_id"] for p in payloads}, fallen))
            if len(seen) == 2:
                stop.set()

    monkeypatch.setattr(push, "Publisher", Publisher)
    runner = RiskRunner(feed=ManualFeed(), push_to_watched_only=True)
    runner.feed.put({"300750.SZ": "1700.00"}, at=THURSDAY - datetime.timedelta(minutes=1))
    runner.feed.put({"300750.SZ": "1400.00"}, at=THURSDAY)

    asyncio.run(asyncio.wait_for(runner.run(stop, tick_interval=0.01), timeout=60))

    (_, before), (fall_pushed, fallen_then) = seen
    assert before == set()
    assert fall_pushed == set(watched)
    # The watched accounts' fall recorded before the publish, the others' after it, each once.
    assert fallen_then == set(watched)
    assert set(_fallen()) == set(accounts)
    assert len(_fallen()) == len(accounts)


@pytest.mark.django_db
@pytest.mark.time_machine(THURSDAY, tick=False)
def test_an_account_watched_during_the_step_is_pushed_only_once_recorded(accounts, watched, runner):
    late = next(pk for pk, q in zip(accounts, QUANTITIES, strict=True) if q == 90
                and pk not in watched)  # fmt: skip
    apply = runner.apply

    def apply_then_open_a_page(tick, now=None):
        result = apply(tick, now=now)
        watching.watch([late])  # the client opens the page while the fall is recorded
        return result

    runner.apply = apply_then_open_a_page
    pushed = _fall(runner)
    del runner.apply

    assert late not in pushed  # its CALL is not recorded yet
    runner.settle()
    pushed = {p["account_id"]: p for _, p in runner.step(now=101.5)}
    assert pushed[late]["level"] == "call"
    assert pushed[late]["call"]["deadline"] == (
        MarginCall.objects.get(account_id=late).deadline.isoformat()
    )
    assert _levels([late]) == {late: "call"}


@pytest.mark.django_db
@pytest.mark.time_machine(THURSDAY, tick=False)
def test_the_watch_list_lost_during_the_step_pushes_no_unrecorded_level(
    accounts, watched, runner, monkeypatch
):
    apply = runner.apply

    unreadable = _failing(ConnectionError("Redis restarting"))

    def apply_then_lose_redis(tick, now=None):
        result = apply(tick, now=now)
        monkeypatch.setattr(watching, "watched", unreadable)
        return result

    runner.apply = apply_then_lose_redis
    pushed = _fall(runner)

    assert set(pushed) == set(watched)  # every level change, but only the recorded ones
    runner.settle()
    del runner.apply
    pushed = runner.step(now=101.5)  # still unreadable: every level change, now recorded
    assert {p["account_id"] for _, p in pushed} == set(accounts) - set(watched)


@pytest.mark.django_db
@pytest.mark.time_machine(THURSDAY, tick=False)
def test_the_rest_is_kept_when_recording_the_first_part_fails(
    accounts, watched, runner, monkeypatch
):
    recorded = MarginEvent.objects.count()
    record = services.margin_transitions_record

    down = _failing(ConnectionError("database restarting"))
    monkeypatch.setattr(services, "margin_transitions_record", down)
    with pytest.raises(ConnectionError):
        _fall(runner)
    monkeypatch.setattr(services, "margin_transitions_record", record)

    events = runner.settle()

    assert len(events) == len(accounts) - len(watched)
    assert MarginEvent.objects.count() == recorded + len(events)


@pytest.mark.django_db
@pytest.mark.time_machine(THURSDAY, tick=False)
def test_a_reload_asked_for_during_a_fall_waits_for_its_rest_then_settle_does_it(accounts, watched):
    from margin.models import Position

    runner = RiskRunner(feed=ManualFeed(), push_to_watched_only=True, reload_interval=0.0)
    runner.start()
    runner.step(now=100.0)
    recorded = MarginEvent.objects.count()
    Position.objects.filter(account_id=watched[0]).update(quantity=120)  # a fill: 120 shares
    runner.mark_accounts_changed([watched[0]])

    _fall(runner)

    # The periodic reload and the fill's wait: the rest is not recorded inside the step.
    assert MarginEvent.objects.count() == recorded + len(watched)
    runner.settle()  # the rest, then the reloads that waited for it: the fill's account back up
    assert MarginEvent.objects.count() == recorded + len(accounts) + 1
    assert _levels([watched[0]]) == {watched[0]: "safe"}
    pushed = {p["account_id"]: p for _, p in runner.step(now=101.5)}  # no tick
    # 120 shares at ¥1,400: 168%, back above the warning line, pushed as reloaded.
    assert (pushed[watched[0]]["ratio"], pushed[watched[0]]["level"]) == ("1.6800", "safe")


@pytest.mark.django_db
@pytest.mark.time_machine(THURSDAY, tick=False)
def test_a_rest_that_keeps_failing_is_given_up_and_found_again(
    accounts, watched, runner, monkeypatch
):
    others = [pk for pk in accounts if pk not in watched]
    before, recorded = _levels(others), MarginEvent.objects.count()
    _fall(runner)
    record = services.margin_transitions_record

    failing = _failing(ValueError("a notice that cannot be written"))
    monkeypatch.setattr(services, "margin_transitions_record", failing)
    for _ in range(runner_mod.SETTLE_ATTEMPTS - 1):
        with pytest.raises(ValueError):
            runner.settle()
    assert runner.settle() == []  # given up: the engine goes on
    assert runner._deferred is None
    assert _levels(others) == before
    monkeypatch.setattr(services, "margin_transitions_record", record)

    # The engine holds the tables' levels for them again: the next tick finds the fall again.
    runner.feed.put({"300750.SZ": "1399.99"}, at=THURSDAY + datetime.timedelta(minutes=1))
    runner.step(now=102.0)
    runner.settle()
    assert _levels(others) == {
        pk: "call" if q == 90 else "warning"
        for pk, q in zip(accounts, QUANTITIES, strict=True)
        if pk in others
    }
    assert MarginEvent.objects.count() == recorded + len(accounts)
