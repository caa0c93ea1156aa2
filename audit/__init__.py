"""The audit trail. `audit.record(...)` (in services) is the only way in."""


def record(**kwargs):
    from audit.services import record as _record

    return _record(**kwargs)
