"""The broker transport (portal/broker.py) once the connection it belonged to is released, as
the worker's reconnect leaves it when Redis goes away with tasks unacknowledged: closing the
channel and acknowledging a finished task are lost-connection errors, which kombu and Celery
handle, not the AttributeError that stopped the worker."""

import pytest
from django.conf import settings
from kombu import Connection, Queue
from kombu.transport import redis as kombu_redis

from portal.broker import Transport

pytestmark = pytest.mark.services


def released_channel_with_unacked(transport):
    """A channel holding one unacknowledged message, its connection's transport released."""
    connection = Connection(settings.REDIS_URL, transport=transport)
    channel = connection.default_channel
    queue = Queue("broker-test", channel=channel)
    queue.declare()
    queue.purge()
    channel.basic_publish(channel.prepare_message("payload"), exchange="", routing_key=queue.name)
    message = queue.get(no_ack=False)
    assert message is not None
    channel._disconnect_pools()  # the pool goes with the lost connection
    connection.transport.client = None  # kombu's Connection._do_close_transport
    return connection, channel, message


def test_the_stock_transport_fails_with_an_attribute_error():
    """What the worker met: pins the kombu behaviour the transport works around."""
    connection, channel, _message = released_channel_with_unacked(kombu_redis.Transport)
    with pytest.raises(AttributeError):
        connection.maybe_close_channel(channel)


def test_closing_and_acking_on_a_released_transport_are_connection_errors():
    connection, channel, message = released_channel_with_unacked(Transport)
    connection.maybe_close_channel(channel)  # ignores connection errors: no exception
    with pytest.raises(connection.connection_errors):
        message.ack()


def test_the_worker_and_the_web_use_it():
    assert settings.CELERY_BROKER_TRANSPORT == "portal.broker:Transport"
    from portal.celery import app

    with app.connection_for_write() as connection:
        assert isinstance(connection.transport, Transport)
        assert connection.default_channel.client.ping()
