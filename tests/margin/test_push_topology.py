"""The push topology: each web process's hub is subscribed to the accounts it holds sockets for,
and to nothing else, and a socket that joins is live before its snapshot is read."""

import asyncio
import json

import pytest
import redis.asyncio as redis

from margin import push
from margin.push import Hub, Publisher, channel_for
from tests.loops import run_in_thread

pytestmark = pytest.mark.services


class Socket:
    def __init__(self) -> None:
        self.received: list[str] = []

    async def push_text(self, text: str) -> None:
        self.received.append(text)


def run(scenario):
    return run_in_thread(scenario, timeout=60)


@pytest.fixture
def redis_url(settings):
    if not settings.REDIS_URL:
        pytest.skip("needs Redis")
    return settings.REDIS_URL


async def subscribers(url: str, *account_ids: int) -> dict[int, int]:
    """How many Redis subscriptions each account's channel has (PUBSUB NUMSUB)."""
    client = redis.from_url(url, protocol=2)
    try:
        counts = await client.pubsub_numsub(*map(channel_for, account_ids))
    finally:
        await client.aclose()
    return {int(channel.decode().rpartition(":")[2]): count for channel, count in counts}


async def settle(*hubs: Hub) -> None:
    for hub in hubs:
        await hub.wait_subscribed()
    await asyncio.sleep(0.2)  # the pushes published just before have arrived


def test_two_hubs_each_get_only_the_accounts_they_hold(redis_url):
    first, second = Hub(), Hub()
    alice, carol, bob = Socket(), Socket(), Socket()

    async def scenario():
        first.join(9101, alice)
        first.join(9103, carol)
        second.join(9102, bob)
        await settle(first, second)
        counts = await subscribers(redis_url, 9101, 9102, 9103, 9104)
        await Publisher().publish([{"account_id": a, "seq": 1} for a in (9101, 9102, 9103, 9104)])
        await settle(first, second)
        await first.stop()
        await second.stop()
        return counts, first.delivered, second.delivered

    counts, first_delivered, second_delivered = run(scenario)
    # Each account's channel is held by the one process with its socket; nobody holds 9104's.
    assert counts == {9101: 1, 9102: 1, 9103: 1, 9104: 0}
    assert alice.received == ['{"account_id":9101,"seq":1}']
    assert carol.received == ['{"account_id":9103,"seq":1}']
    assert bob.received == ['{"account_id":9102,"seq":1}']
    assert (first_delivered, second_delivered) == (2, 1)


def test_the_last_socket_of_an_account_leaving_unsubscribes_it(redis_url):
    hub = Hub()
    tab, other_tab, dave = Socket(), Socket(), Socket()

    async def scenario():
        hub.join(9201, tab)
        hub.join(9201, other_tab)
        hub.join(9202, dave)
        await settle(hub)
        hub.leave(9201, tab)  # one tab of two closes: still subscribed
        await settle(hub)
        one_left = await subscribers(redis_url, 9201, 9202)
        hub.leave(9201, other_tab)
        await settle(hub)
        none_left = await subscribers(redis_url, 9201, 9202)
        await hub.stop()
        return one_left, none_left

    one_left, none_left = run(scenario)
    assert one_left == {9201: 1, 9202: 1}
    assert none_left == {9201: 0, 9202: 1}


def test_a_socket_rejoining_while_its_unsubscribe_is_in_flight_misses_nothing(redis_url):
    """Leave and join again, over and over, each time publishing the moment the join is live:
    every one of those pushes arrives, however the UNSUBSCRIBE and SUBSCRIBE interleave."""
    hub = Hub()
    rounds = 30

    async def scenario():
        publisher = Publisher()
        sockets = []
        anchor = Socket()
        hub.join(9302, anchor)  # keeps the connection busy with another account meanwhile
        await settle(hub)
        for seq in range(rounds):
            socket_ = Socket()
            sockets.append(socket_)
            hub.join(9301, socket_)
            assert await hub.until_live(9301, timeout=5)
            await publisher.publish([{"account_id": 9301, "seq": seq}])
            for _ in range(100):
                if socket_.received:
                    break
                await asyncio.sleep(0.01)
            hub.leave(9301, socket_)
            if seq % 2:
                await asyncio.sleep(0)  # sometimes let the UNSUBSCRIBE go out first
        await hub.stop()
        return [s.received for s in sockets]

    received = run(scenario)
    assert received == [[f'{{"account_id":9301,"seq":{seq}}}'] for seq in range(rounds)]


def test_leaving_and_joining_in_the_same_turn_keeps_the_subscription(redis_url):
    hub = Hub()
    old_tab, new_tab = Socket(), Socket()

    async def scenario():
        hub.join(9401, old_tab)
        await settle(hub)
        hub.leave(9401, old_tab)
        hub.join(9401, new_tab)  # a page reload: nothing to change in Redis
        live_at_once = await hub.until_live(9401, timeout=0.001)
        await Publisher().publish([{"account_id": 9401, "seq": 1}])
        await settle(hub)
        await hub.stop()
        return live_at_once

    assert run(scenario) is True
    assert old_tab.received == []
    assert new_tab.received == ['{"account_id":9401,"seq":1}']


def test_a_socket_does_not_wait_long_for_a_redis_that_is_away(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nobody listens
    hub = Hub()

    async def scenario():
        hub.join(9501, Socket())
        live = await hub.until_live(9501, timeout=0.3)
        await hub.stop()
        return live

    assert run(scenario) is False


def test_without_redis_a_joined_socket_is_live_at_once(settings):
    settings.REDIS_URL = ""
    socket_ = Socket()

    async def scenario():
        push.hub.join(9601, socket_)
        live = await push.hub.until_live(9601)
        await Publisher().publish([{"account_id": 9601, "seq": 1}])  # to this process's hub
        push.hub.leave(9601, socket_)
        return live

    assert run(scenario) is True
    assert socket_.received == ['{"account_id":9601,"seq":1}']


def test_the_push_reader_takes_frames_split_anywhere_across_reads():
    from margin.push import _frames

    stream = (
        b"*3\r\n$9\r\nsubscribe\r\n$13\r\nmargin:push:7\r\n:1\r\n"
        b'*3\r\n$7\r\nmessage\r\n$13\r\nmargin:push:7\r\n$12\r\n7 {"a":"\r\n"}\r\n'
        + '*3\r\n$7\r\nmessage\r\n$13\r\nmargin:push:8\r\n$13\r\n8 {"n":"林"}\r\n'.encode()
    )
    for cut in range(len(stream) + 1):
        first, used = _frames(stream[:cut])
        rest, _ = _frames(stream[used:])
        assert first + rest == [
            (b"subscribe", b"margin:push:7", 1),
            (b"message", b"margin:push:7", b'7 {"a":"\r\n"}'),
            (b"message", b"margin:push:8", '8 {"n":"林"}'.encode()),
        ], cut


def test_pubsub_channels_carry_the_redis_database_but_database_0_keeps_plain_names():
    # Keys live in REDIS_URL's database; pub/sub channels are Redis-wide, so two deployments (or
    # test sessions) on one server would hear each other's accounts without the number.
    assert push.channel_for(7, "redis://127.0.0.1:6379/0") == "margin:push:7"
    assert push.channel_for(7, "redis://127.0.0.1:6379") == "margin:push:7"
    assert push.channel_for(7, "redis://127.0.0.1:6379/5") == "margin:push@5:7"
    assert push.channel_for(7, "redis://h:6379?db=3") == "margin:push@3:7"
    assert push.pubsub_name("margin:accounts-changed", "rediss://h:6380/12") == (
        "margin:accounts-changed@12"
    )


def test_a_hub_does_not_hear_another_databases_statuses_for_the_same_account(redis_url, settings):
    base, _, database = redis_url.rpartition("/")
    other = f"{base}/{(int(database) + 1) % 16 if database.isdigit() else 1}"
    hub, alice = Hub(), Socket()

    async def scenario():
        hub.join(9111, alice)
        await settle(hub)
        await Publisher(other).publish([{"account_id": 9111, "seq": 1, "from": "elsewhere"}])
        await Publisher(redis_url).publish([{"account_id": 9111, "seq": 2}])
        await settle(hub)
        await hub.stop()

    run(scenario)
    assert alice.received == ['{"account_id":9111,"seq":2}']


def test_statuses_are_published_as_built_chunk_by_chunk_each_on_its_account_s_channel(
    redis_url, monkeypatch
):
    from margin import status
    from tests.margin.test_status_bulk import AT, INSTRUMENTS, WORKED

    monkeypatch.setattr(push, "CHUNK", 2)  # several script calls, the last one short
    hub = Hub()
    sockets = {n: Socket() for n in (9701, 9702, 9703, 9704, 9705)}
    built = status.build_many(
        [a._replace(account_id=9700 + a.account_id) for a in WORKED[:4]], INSTRUMENTS, at=AT
    )
    plain = {"account_id": 9705, "seq": 2, "name": '林岚 "quoted"\nline'}  # not built: encoded

    async def scenario():
        for account_id, socket in sockets.items():
            hub.join(account_id, socket)
        await settle(hub)
        published = await Publisher().publish([*built, plain])
        await settle(hub)
        await hub.stop()
        return published

    assert run(scenario)
    for each in built:
        assert [json.loads(t) for t in sockets[each["account_id"]].received] == [each]
        assert sockets[each["account_id"]].received == [status.to_json(each).decode()]
    assert [json.loads(t) for t in sockets[9705].received] == [plain]
