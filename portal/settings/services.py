"""Settings for the real backing services, shared by production and the service-backed test run."""

import dj_database_url


def database(url: str) -> dict:
    return dict(dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True))


def redis_cache(url: str) -> dict:
    return {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}}


def redis_channel_layer(url: str, prefix: str = "asgi") -> dict:
    return {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # redis-py's pool refuses (rather than waits) past 100 connections, and thousands of
            # sockets joining their groups at once (a deploy, Redis back after a restart) need more.
            "CONFIG": {
                "hosts": [{"address": url, "max_connections": 2000}],
                "prefix": prefix,
                "capacity": 1000,
                "expiry": 30,
            },
        }
    }
