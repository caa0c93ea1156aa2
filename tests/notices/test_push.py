"""A batch of in-app pushes: one look at who listens, then a group_send only to those who do."""

import pytest
from asgiref.sync import async_to_sync
from channels.layers import channel_layers, get_channel_layer

from notices import push

# User ids no test database reaches, so no other test's pushes meet these groups.
FIRST, LISTENING, LAST = 900_000_001, 900_000_007, 900_000_051


@pytest.fixture
def redis_layer(settings):
    if "channels_redis" not in settings.CHANNEL_LAYERS["default"]["BACKEND"]:
        pytest.skip("needs the Redis channel layer (REDIS_URL)")
    channel_layers.backends.clear()
    layer = get_channel_layer()
    yield layer
    channel_layers.backends.clear()


def test_only_users_with_an_open_tab_cost_a_group_send(redis_layer, monkeypatch):
    channel = async_to_sync(redis_layer.new_channel)()
    async_to_sync(redis_layer.group_add)(push.user_group(LISTENING), channel)
    sent_to = []
    group_send = redis_layer.group_send

    async def counting(group, message):
        sent_to.append(group)
        await group_send(group, message)

    monkeypatch.setattr(redis_layer, "group_send", counting)
    events = [(user_id, {"type": "notice.push", "id": user_id}) for user_id in range(FIRST, LAST)]
    try:
        assert push.push_to_users(events) == 1
        assert sent_to == [push.user_group(LISTENING)]
        message = async_to_sync(redis_layer.receive)(channel)
        assert message == {"type": "notice.push", "id": LISTENING}
    finally:
        async_to_sync(redis_layer.group_discard)(push.user_group(LISTENING), channel)


def test_a_user_who_left_is_not_pushed_to(redis_layer, monkeypatch):
    channel = async_to_sync(redis_layer.new_channel)()
    async_to_sync(redis_layer.group_add)(push.user_group(FIRST), channel)
    async_to_sync(redis_layer.group_discard)(push.user_group(FIRST), channel)
    assert push.push_to_users([(FIRST, {"type": "notice.push", "id": 1})]) == 0


def test_without_redis_every_group_is_sent_to(in_memory_channel_layer):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(push.user_group(3), channel)
    assert push.push_to_users([(3, {"type": "notice.push", "id": 1}), (4, {"type": "x"})]) == 2
    assert async_to_sync(layer.receive)(channel) == {"type": "notice.push", "id": 1}
