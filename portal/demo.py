"""The demo `make run` loads (``manage.py seed_demo``): a story told through the real services.

People are onboarded, take the gate, accept the terms and open financing in the order real clients
would, so every row passes the validations real data passes. Steps that happened earlier (KYC
three days ago, the gate two days ago, so its 24-hour cool-off is over) run on a moved clock:
``back_in_time`` uses time-machine, a development dependency, as seed_demo is a development tool.

Idempotent: each step leaves alone what exists.
"""

from __future__ import annotations

from django.db import transaction

from portal.backdating import back_in_time  # noqa: F401  (seeders imported it from here)


@transaction.atomic
def seed() -> list[str]:
    """Every app's demo data in the order of the story; returns the lines to print."""
    from accounts import demo as accounts
    from disclosures import demo as disclosures
    from education import demo as education
    from funds import demo as funds
    from margin import demo as margin
    from support import demo as support

    lines = accounts.seed()
    disclosures.seed_documents()
    lines += education.seed()
    lines += margin.seed()
    # The engine's first start values the book and records the levels (calls, plans, notices);
    # its next start sees what funds' deposits changed since, as a running engine would.
    margin.first_evaluation()
    lines += funds.seed()
    margin.first_evaluation()
    lines += support.seed()
    lines += disclosures.seed_fee_change()
    return lines
