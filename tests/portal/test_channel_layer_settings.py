"""The Redis channel layer's settings, as production and the service-backed tests use them."""

from channels_redis.core import RedisChannelLayer

from portal.settings.services import redis_channel_layer


def test_a_read_outlasts_the_layers_blocking_receive():
    """channels-redis waits for a socket's next message with a 5 s blocking pop; a read timeout
    of 5 s (redis-py 8's default) raced it and tore idle sockets down."""
    [host] = redis_channel_layer("redis://127.0.0.1:6379/0")["default"]["CONFIG"]["hosts"]
    assert host["socket_timeout"] >= RedisChannelLayer.brpop_timeout + 5
    assert host["socket_connect_timeout"] <= 2  # an unreachable Redis refuses a socket at once
