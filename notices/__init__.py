"""The notice outbox. `notices.enqueue(...)` (in services) is how every other app sends a notice."""


def enqueue(**kwargs):
    """See `notices.services.enqueue`; imported lazily so the app can load before its models."""
    from notices.services import enqueue as _enqueue

    return _enqueue(**kwargs)


def enqueue_many(notices):
    """See `notices.services.enqueue_many`."""
    from notices.services import enqueue_many as _enqueue_many

    return _enqueue_many(notices)
