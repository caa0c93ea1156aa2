"""What the fault tests ask of the portal from outside, as its own process with the production
settings (tests.faults.settings): write notices the way a service does, and sign clients in.

    python -m tests.faults.driver enqueue --users 50 --alerts 2 --tag kill
    python -m tests.faults.driver inapp --tag ws
    python -m tests.faults.driver login --users 10 --tag ws

Each prints one JSON object.
"""

import argparse
import json
import os
import sys
import time
import zlib


def _users(tag: str, count: int):
    from accounts.models import User

    prefix = f"139{zlib.crc32(tag.encode()) % 10000:04d}"
    users = []
    for n in range(count):
        user, _ = User.objects.get_or_create(
            email=f"{tag}-{n}@faults.example",
            defaults={"full_name": f"Fault {tag} {n}", "phone": f"{prefix}{n:04d}"},
        )
        users.append(user)
    return users


def enqueue(tag: str, users: int, alerts: int) -> dict:
    """`alerts` security alerts per user, by email and SMS, each on its own commit (its delivery
    task queued after it, as in production). Every SMS text is unique: the sink can tell a
    message delivered twice from two messages."""
    from notices import services

    created = 0
    for n, user in enumerate(_users(tag, users)):
        for a in range(alerts):
            rows = services.enqueue(
                recipient=user,
                key="security_alert",
                context={"event": "new_sign_in", "ip": f"10.{n // 250}.{n % 250}.{a + 1}"},
                idempotency_key=f"fault:{tag}:{n}:{a}",
                channels=["email", "sms"],
            )
            created += len(rows)
    return {"created": created}


def inapp(tag: str, users: int) -> dict:
    """One in-app announcement to each user: a live push to their open sockets."""
    from notices import services

    created = 0
    for n, user in enumerate(_users(tag, users)):
        rows = services.enqueue(
            recipient=user,
            key="announcement",
            context={"title": f"Hello {n}", "body": "Still connected?"},
            idempotency_key=f"fault-inapp:{tag}:{n}",
            channels=["inapp"],
        )
        created += len(rows)
    return {"created": created}


def _bulk_users(tag: str, count: int):
    """`count` clients with email and phone, inserted together (thousands for the bench)."""
    from accounts.models import User

    prefix = f"13{zlib.crc32(tag.encode()) % 1000:03d}"
    User.objects.bulk_create(
        [
            User(email=f"{tag}-{n}@speed.example", full_name=f"Speed {n}", phone=f"{prefix}{n:06d}")
            for n in range(count)
        ],
        ignore_conflicts=True,
        batch_size=2000,
    )
    return list(User.objects.filter(email__endswith="@speed.example", email__startswith=f"{tag}-"))


def _margin_call(user, n: int, tag: str, channels=None):
    from notices.services import NoticeRequest

    return NoticeRequest(
        recipient=user,
        key="margin_call",
        context={
            "account_number": f"MA{n:08d}",
            "ratio": f"{125 + n % 5}.00%",
            "deadline": "2026-12-08 15:00",
            "deposit": f"{10000 + n}.00",
            "warning_line": "150%",
        },
        idempotency_key=f"speed:{tag}:{n}",
        channels=channels,
    )


def margin_calls(tag: str, users: int) -> dict:
    """One margin call (email, SMS, in-app) to each of `users` clients, written as a market-wide
    drop writes them: in batches of 500, each batch one transaction with one bulk enqueue."""
    from django.db import transaction

    from notices import services

    people = _bulk_users(tag, users)
    started = time.perf_counter()
    created = 0
    for start in range(0, len(people), 500):
        with transaction.atomic():
            rows = services.enqueue_many(
                [_margin_call(u, start + i, tag) for i, u in enumerate(people[start : start + 500])]
            )
        created += len(rows)
    return {"created": created, "enqueue_seconds": round(time.perf_counter() - started, 2)}


def per_channel(tag: str, users: int) -> dict:
    """Milliseconds per delivery on each channel, in this process: `users` notices of one channel
    enqueued, then delivered by the batch service in batches as the workers get them."""
    from django.db import transaction

    from notices import services

    people = _bulk_users(tag, users)
    # Not queued to a worker: delivered here, where it can be timed.
    services._queue_batch_delivery = lambda notification_ids: None
    stages = _stage_clock()
    result = {}
    for channel in ("email", "sms", "inapp"):
        with transaction.atomic():
            started = time.perf_counter()
            rows = services.enqueue_many(
                [_margin_call(u, n, f"{tag}-{channel}", [channel]) for n, u in enumerate(people)]
            )
            enqueue = time.perf_counter() - started
        ids = [row.pk for row in rows]
        stages.reset()
        started, cpu = time.perf_counter(), time.process_time()
        for start in range(0, len(ids), services.DELIVERY_BATCH):
            services.notifications_deliver(
                notification_ids=ids[start : start + services.DELIVERY_BATCH]
            )
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        result[channel] = {
            "deliveries": len(ids),
            "ms_per_delivery": round(seconds * 1000 / len(ids), 2),
            # This process's own CPU (the database, Redis and the sinks excluded): the figure
            # that holds on a busy machine, where wall time is mostly waiting for a core.
            "cpu_ms_per_delivery": round(cpu * 1000 / len(ids), 2),
            "enqueue_ms_per_notice": round(enqueue * 1000 / len(ids), 2),
            # CPU per delivery in each stage of the batch delivery ("other": loading the rows,
            # the lease thread, the loop); the figure to compare across machine states.
            "cpu_ms_by_stage": stages.split(cpu, len(ids)),
        }
    return result


class _StageClock:
    """CPU time spent inside some functions of the delivery path, wrapped in place."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}
        self._open: list[str] = []

    def wrap(self, owner, name: str, stage: str) -> None:
        inner = getattr(owner, name)

        def timed(*args, **kwargs):
            # Exclusive time: a stage inside another is taken out of the outer one.
            outer = self._open[-1] if self._open else None
            self._open.append(stage)
            begun = time.process_time()
            try:
                return inner(*args, **kwargs)
            finally:
                spent = time.process_time() - begun
                self._open.pop()
                self.spent[stage] = self.spent.get(stage, 0.0) + spent
                if outer is not None:
                    self.spent[outer] = self.spent.get(outer, 0.0) - spent

        setattr(owner, name, timed)

    def reset(self) -> None:
        self.spent = {}

    def split(self, total: float, count: int) -> dict:
        split = {stage: round(cpu * 1000 / count, 3) for stage, cpu in self.spent.items()}
        split["other"] = round((total - sum(self.spent.values())) * 1000 / count, 3)
        return split


def _stage_clock() -> _StageClock:
    from notices import leases, services

    clock = _StageClock()
    for owner, name, stage in _STAGES(services, leases):
        if hasattr(owner, name):
            clock.wrap(owner, name, stage)
    return clock


def _STAGES(services, leases):
    return [
        (leases, "claim_many", "claim"),
        (services, "_render", "render"),
        (services, "_render_batch", "render"),
        (services.sealing, "unseal", "unseal"),
        (services, "_send", "send"),
        (services, "_send_batch", "send"),
        (services, "_record_successes", "mark_delivered"),
        (services, "_push_notices", "push_inapp"),
        (services.audit, "record", "audit"),
    ]


def login(tag: str, users: int) -> dict:
    """A signed-in session for each user: their cookies, as a browser holds them."""
    from django.conf import settings
    from django.test import Client

    sessions = []
    for user in _users(tag, users):
        client = Client()
        client.force_login(user)
        sessions.append(client.cookies[settings.SESSION_COOKIE_NAME].value)
    return {"cookie_name": settings.SESSION_COOKIE_NAME, "sessions": sessions}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "command", choices=["enqueue", "inapp", "login", "margin_calls", "per_channel"]
    )
    parser.add_argument("--tag", required=True)
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--alerts", type=int, default=1)
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.faults.settings")
    import django

    django.setup()
    if args.command == "enqueue":
        result = enqueue(args.tag, args.users, args.alerts)
    elif args.command == "inapp":
        result = inapp(args.tag, args.users)
    elif args.command == "margin_calls":
        result = margin_calls(args.tag, args.users)
    elif args.command == "per_channel":
        result = per_channel(args.tag, args.users)
    else:
        result = login(args.tag, args.users)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
