"""The Celery broker transport: kombu's Redis transport, kept alive through a Redis restart.

When Redis goes away while the worker holds messages it has not acknowledged (tasks ack late,
portal/settings/celery.py), the consumer closes its connection to open a new one. kombu 5.7 then
restores those messages, and acknowledges the tasks that finish meanwhile, through a transport
that connection has already released, and fails with ``AttributeError`` on its missing
connection details; Celery takes that for an unrecoverable error and shuts the worker down, so a
broker restart stopped every delivery until someone restarted the worker.

Here a released transport is reported as what it is, a lost broker connection, which kombu and
Celery already handle: the close goes on, the ack is logged as not made, the consumer reconnects.
What the lost queue held is sent again by the outbox sweep (notices/), and the providers drop a
second copy by its idempotency key (tests/faults/test_outbox_faults.py).
"""

from kombu.transport import redis
from redis.exceptions import ConnectionError as RedisConnectionError


class Channel(redis.Channel):
    def _connparams(self, asynchronous=False):
        if self.connection.client is None:
            raise RedisConnectionError("the broker connection was closed (Redis went away)")
        return super()._connparams(asynchronous=asynchronous)


class Transport(redis.Transport):
    Channel = Channel
