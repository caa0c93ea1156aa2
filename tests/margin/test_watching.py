"""The watched accounts as the engine reads them from Redis: the live marks only, the lapsed
ones deleted on the way, in one script run (margin.watching.watched)."""

import pytest

from margin import push, watching

pytestmark = pytest.mark.services


@pytest.fixture
def marks():
    if not push.redis_url():
        pytest.skip("the marks live in Redis")
    client = watching._client()
    client.delete(watching.KEY)
    yield client
    client.delete(watching.KEY)


def test_the_live_marks_are_read_and_the_lapsed_ones_deleted(marks):
    now = 1_800_000_000.25
    watching.watch([1, 2, 3], now=now - watching.TTL + 1.0)  # expire at now + 1
    watching.watch([4, 5], now=now - watching.TTL)  # expire at now exactly: lapsed
    watching.watch([6], now=now - watching.TTL - 0.125)  # lapsed
    assert watching.watched(now=now) == {1, 2, 3}
    assert sorted(int(f) for f in marks.hkeys(watching.KEY)) == [1, 2, 3]
    assert watching.watched(now=now + 1.0) == set()  # at their expiry: lapsed too
    assert marks.hlen(watching.KEY) == 0


def test_thousands_of_marks_lapse_at_once_and_none_is_live(marks):
    now = 1_800_000_000.0
    watching.watch(range(1, 5_001), now=now - 2 * watching.TTL)
    watching.watch([99_999], now=now)
    assert watching.watched(now=now) == {99_999}
    assert marks.hkeys(watching.KEY) == [b"99999"]


def test_nobody_watching_reads_as_an_empty_set(marks):
    assert watching.watched(now=1_800_000_000.0) == set()


def test_a_mark_that_is_not_a_number_makes_the_read_fail(marks):
    """As float() refused it before: the runner then treats the list as unreadable."""
    marks.hset(watching.KEY, mapping={7: "soon"})
    from redis.exceptions import ResponseError

    with pytest.raises(ResponseError):
        watching.watched(now=1_800_000_000.0)
