import datetime
from decimal import Decimal

import factory

from margin.models import Instrument, MarginAccount, MarginContract, Position
from tests.factories import UserFactory


class InstrumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Instrument
        django_get_or_create = ("code",)

    code = "600519.SH"
    name_zh = "贵州茅台"
    name_en = "Kweichow Moutai"
    previous_close = Decimal("1500.00")
    last_price = Decimal("1500.00")


class MarginAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MarginAccount

    client = factory.SubFactory(UserFactory)
    number = factory.Sequence(lambda n: f"MA{n:08d}")
    cash = Decimal("0.00")
    debt = Decimal("0.00")


class MarginContractFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MarginContract

    account = factory.SubFactory(MarginAccountFactory)
    number = factory.Sequence(lambda n: f"RZ-2026-{n:06d}")
    annual_rate = Decimal("0.083500")
    credit_limit = Decimal("1000000.00")
    starts_on = datetime.date(2026, 11, 2)
    rollover_on = datetime.date(2027, 5, 2)


class PositionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Position

    account = factory.SubFactory(MarginAccountFactory)
    instrument = factory.SubFactory(InstrumentFactory)
    quantity = 100
    cost = Decimal("150000.00")


# --- a client ready for financing, built with the other apps' own factories ----------------------


def kyc_reviewer():
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    from tests.disclosures.factories import ensure_roles

    ensure_roles()  # a transactional test's flush empties the groups the migration made
    reviewer = UserFactory(role="kyc_reviewer")
    TOTP.activate(reviewer, generate_totp_secret())
    return reviewer


def eligible_client(*, reviewer=None, assets="600000.00", **user_kwargs):
    """KYC approved (rating C5 from the high answers), 36 months' experience, not a related
    party, and `assets` verified as the 20-day average: margin_eligibility(...).eligible."""
    from accounts import services as accounts_services
    from tests.accounts.factories import approve_all_documents, submitted_case, upload

    reviewer = reviewer or kyc_reviewer()
    user = UserFactory(**user_kwargs)
    case = submitted_case(user)
    approve_all_documents(case, reviewer)
    accounts_services.kyc_case_decide(
        case=case, reviewer=reviewer, decision="approved", reason="verified"
    )
    declaration = accounts_services.asset_declaration_submit(
        user=user, average_assets=Decimal(assets), evidence=upload()
    )
    accounts_services.asset_declaration_review(
        declaration=declaration, reviewer=reviewer, verified=True
    )
    return user


def accept_financing_documents(user):
    """Accept the terms, margin contract and fee schedule in force, as the client would."""
    from disclosures import selectors as disclosures
    from disclosures import services as disclosure_services

    for kind in disclosures.FINANCING_DOCUMENTS:
        disclosure_services.version_accept(
            user=user,
            version=disclosures.version_in_force(kind),
            displayed={"page": "test"},
            ip_address="203.0.113.9",
            user_agent="pytest",
        )
