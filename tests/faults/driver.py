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
    parser.add_argument("command", choices=["enqueue", "inapp", "login"])
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
    else:
        result = login(args.tag, args.users)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
