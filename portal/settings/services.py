"""Settings for the real backing services, shared by production and the service-backed test run."""

import dj_database_url

# How long a connection waits for another's write to finish before giving up, in seconds. The
# embedded risk engine writes every second in transactions of a few milliseconds, so a request
# waits at most that long; the limit only matters if something holds the lock far too long.
SQLITE_BUSY_TIMEOUT = 20


def sqlite(path) -> dict:
    """SQLite as a real embedded database (``make run``, the embedded test run).

    WAL lets readers and the one writer proceed side by side; ``synchronous=NORMAL`` is the
    durable-enough setting WAL is designed for. Transactions start IMMEDIATE, taking the write
    lock at BEGIN: a DEFERRED transaction that reads and then writes cannot wait for the lock
    (SQLite answers "database is locked" at once, whatever the busy timeout), which is what a
    request writing while the engine writes ran into.
    """
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": path,
        "OPTIONS": {
            "timeout": SQLITE_BUSY_TIMEOUT,
            "transaction_mode": "IMMEDIATE",
            "init_command": (
                "PRAGMA journal_mode=WAL;"
                "PRAGMA synchronous=NORMAL;"
                f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT * 1000}"
            ),
        },
    }


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
