"""The demo shows every flow from the first minute, with data that passes real validations.

Seeding takes seconds (it goes through the services, PDFs included), so each test seeds once and
reads the whole story.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from allauth.mfa.models import Authenticator
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import JSONField
from django.utils import timezone

from accounts import selectors as accounts
from accounts.demo import CLIENTS, STAFF
from accounts.models import User
from disclosures import selectors as disclosures
from disclosures.models import ChangeNotice, DocumentKind
from education import gate
from education import selectors as education
from education.models import GateConfirmation
from funds import services as funds
from funds.models import BankAccount, WithdrawalRequest
from margin import rules
from margin import services as margin
from margin.models import LiquidationPlan, MarginAccount, MarginCall, MarginContract
from portal import demo

pytestmark = pytest.mark.django_db
PROJECT_APPS = [
    "accounts",
    "audit",
    "notices",
    "education",
    "disclosures",
    "support",
    "margin",
    "funds",
]
HOLDERS = {
    "alice@demo.wangrun.test",
    "bob@demo.wangrun.test",
    "payout@demo.wangrun.test",
    "warning@margin-demo.wangrun.test",
    "call@margin-demo.wangrun.test",
    "liquidation@margin-demo.wangrun.test",
}


def user(email: str) -> User:
    return User.objects.get(email=email)


def row_counts() -> dict[str, int]:
    return {
        model._meta.label: model.objects.count()
        for name in PROJECT_APPS
        for model in apps.get_app_config(name).get_models()
    }


def test_the_demo_shows_every_flow_with_consistent_data(
    settings, capsys, django_capture_on_commit_callbacks
):
    # What runs once the seed commits runs here too, as under `make run` (tasks eager): the
    # liquidation plans the engine's first evaluation queued for the workers, among others.
    with django_capture_on_commit_callbacks(execute=True):
        demo.seed()

    # Seeding again changes nothing.
    before = row_counts()
    with django_capture_on_commit_callbacks(execute=True):
        demo.seed()
    assert row_counts() == before

    # Two staff in each role, none a superuser, every one with an authenticator app.
    for role in ["agent", "kyc_reviewer", "risk_officer", "compliance"]:
        staff = User.objects.filter(groups__name=role)
        assert staff.count() >= 2, role
        assert all(s.is_staff and not s.is_superuser for s in staff)
        assert Authenticator.objects.filter(user__in=staff).count() == staff.count()
    assert not User.objects.filter(is_superuser=True).exists()

    # Onboarding at every stage: a brand-new sign-up, one awaiting KYC review, ...
    assert accounts.kyc_status(user("new@demo.wangrun.test")) == "none"
    assert accounts.kyc_status(user("progress@demo.wangrun.test")) == "draft"
    assert accounts.kyc_status(user("submitted@demo.wangrun.test")) == "submitted"
    assert accounts.kyc_status(user("rejected@demo.wangrun.test")) == "rejected"
    assert accounts.kyc_valid(user("approved@demo.wangrun.test"))
    assert not accounts.margin_eligibility(user("approved@demo.wangrun.test")).eligible
    assert accounts.margin_eligibility(user("eligible@demo.wangrun.test")).eligible
    assert gate.current_gate(user("eligible@demo.wangrun.test")) is None

    # Whoever holds financing is eligible, finished the course and passed the gate before opening
    # it, accepted the documents in force, and was charged the rate of the schedule in force.
    contracts = MarginContract.objects.filter(status="active").select_related("account__client")
    assert {c.account.client.email for c in contracts} == HOLDERS
    for contract in contracts:
        client = contract.account.client
        assert accounts.kyc_valid(client) and accounts.margin_eligibility(client).eligible
        (row,) = education.course_rows(client)
        assert (row.read, row.passed) == (row.lessons, True)  # never "0 / 7 lessons · passed"
        confirmation = gate.current_gate(client)
        assert confirmation.confirmed_at + gate.cool_off() < contract.account.opened_at
        assert disclosures.may_open_financing(client)
        assert contract.annual_rate == disclosures.financing_rate_in_force(1).value

    # Accounts at every level, and the engine's first evaluation recorded: an open margin call,
    # and one below the liquidation line with a plan for a risk officer.
    levels = set(MarginAccount.objects.values_list("current_level", flat=True))
    assert levels == {level.value for level in rules.Level}
    liquidation = user("liquidation@margin-demo.wangrun.test")
    assert MarginCall.objects.filter(account__client=liquidation, status="open").exists()
    assert LiquidationPlan.objects.filter(account__client=liquidation, status="proposed").exists()
    called = user("call@margin-demo.wangrun.test")
    assert MarginCall.objects.filter(account__client=called, status="open").exists()

    # bob has money to withdraw to his own verified bank account.
    bob = user("bob@demo.wangrun.test")
    assert BankAccount.objects.get(client=bob).verified_at is not None
    assert funds.withdrawal_limit(bob.margin_accounts.get()).largest > Decimal("10000.00")

    # A fee increase is announced to clients, its 30-day notice running, approved by a second
    # compliance officer.
    scheduled = disclosures.scheduled_version(DocumentKind.FEE_SCHEDULE)
    assert scheduled.effective_at > timezone.now() + timedelta(days=30)
    assert scheduled.approved_by != scheduled.created_by
    assert ChangeNotice.objects.filter(version=scheduled, client=user("alice@demo.wangrun.test"))

    # Every row passes its model's validation, and the audit trail verifies.
    for name in PROJECT_APPS:
        for model in apps.get_app_config(name).get_models():
            json_fields = [f for f in model._meta.fields if isinstance(f, JSONField)]
            for obj in model.objects.all()[:200]:
                # An empty JSON object is data ("nothing to add"), not a missing value.
                empty = [f.name for f in json_fields if getattr(obj, f.attname) in ({}, [])]
                obj.full_clean(exclude=empty, validate_unique=False)
    capsys.readouterr()
    call_command("verify_audit_chain")
    assert capsys.readouterr().out.startswith("ok ")

    # A large withdrawal waits for two approvals; two risk officers give them.
    request = WithdrawalRequest.objects.get(
        margin_account__client__email="payout@demo.wangrun.test"
    )
    assert request.status == WithdrawalRequest.Status.AWAITING_APPROVAL
    assert request.amount > Decimal(settings.FUNDS_WITHDRAWAL_APPROVAL_THRESHOLD)
    first, second = User.objects.filter(groups__name="risk_officer").order_by("email")[:2]
    funds.withdrawal_approve(withdrawal_id=request.pk, staff=first)
    assert funds.withdrawal_approve(withdrawal_id=request.pk, staff=second).status == "paid"

    # ready@ passed the gate more than a day ago and opens financing at once.
    ready = user("ready@demo.wangrun.test")
    assert timezone.now() - gate.current_gate(ready).confirmed_at > timedelta(days=1)
    assert not MarginContract.objects.filter(account__client=ready).exists()
    margin.financing_terms_accept(user=ready, ip_address="127.0.0.1", user_agent="pytest")
    assert margin.financing_activate(user=ready, leverage_tier=1).created


def test_the_command_commits_the_demo_with_its_receipts_and_prints_who_is_who(
    settings, capsys, django_capture_on_commit_callbacks
):
    settings.DEBUG = True  # as under portal.settings.dev (make run); otherwise it refuses
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo")
    out = capsys.readouterr().out
    for person in CLIENTS + STAFF:
        assert person.email in out
    assert "Wangrun-demo-2026" in out
    receipts = GateConfirmation.objects.exclude(receipt_sha256="")
    assert {c.user.email for c in receipts} == HOLDERS | {"ready@demo.wangrun.test"}

    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("totp_code", "carol@demo.wangrun.test")
