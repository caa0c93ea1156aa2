"""The audit trail. `audit.record(...)` (in services) is the only way in."""


def record(**kwargs):
    from audit.services import record as _record

    return _record(**kwargs)


def record_many(entries):
    """Append many entries in order (``audit.services.Entry``), one lock of the chain's head."""
    from audit.services import record_many as _record_many

    return _record_many(entries)
