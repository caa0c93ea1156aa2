"""Settings for the real backing services, shared by production and the service-backed test run."""

import dj_database_url


def database(url: str) -> dict:
    return dict(dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True))


def redis_cache(url: str) -> dict:
    return {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}}


# channels-redis waits for a socket's next message with a blocking pop that Redis ends after
# RedisChannelLayer.brpop_timeout (5 s). redis-py 8 gives every read a 5 s socket timeout by
# default, so the read raced the pop and idle sockets were torn down every few seconds with
# TimeoutError. The read timeout must outlast the pop; it stays finite so a Redis that vanished
# without closing the connection (a network partition) is still noticed.
CHANNEL_LAYER_READ_TIMEOUT = 15
# A refused or unreachable Redis should fail a socket's join at once (it is then refused cleanly,
# and the browser retries), not hold the handshake for the read timeout.
CHANNEL_LAYER_CONNECT_TIMEOUT = 2


def redis_channel_layer(url: str, prefix: str = "asgi") -> dict:
    return {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # redis-py's pool refuses (rather than waits) past 100 connections, and thousands of
            # sockets joining their groups at once (a deploy, Redis back after a restart) need more.
            "CONFIG": {
                "hosts": [
                    {
                        "address": url,
                        "max_connections": 2000,
                        "socket_timeout": CHANNEL_LAYER_READ_TIMEOUT,
                        "socket_connect_timeout": CHANNEL_LAYER_CONNECT_TIMEOUT,
                        "socket_keepalive": True,
                        # A pooled connection idle for this long is pinged before use, so the
                        # first message after a Redis restart does not hit a dead connection.
                        "health_check_interval": 30,
                    }
                ],
                "prefix": prefix,
                "capacity": 1000,
                "expiry": 30,
            },
        }
    }
