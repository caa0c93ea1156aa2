"""The shared kernel: one set of formatters, one refusal type, one append-only rule."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from disclosures import formatting as disclosure_formatting
from disclosures.models import ImmutableVersionError
from disclosures.services import DisclosureError
from education.figures import percent as education_percent
from education.gate import GateRequired
from education.models import ImmutableError
from education.services import StepRefused
from funds.models import Immutable
from funds.withdrawals import ApprovalError, BankAccountError
from margin.financing import FinancingRefused
from margin.notify import _percent as notice_percent
from portal import formatting, money
from portal.append_only import AppendOnlyError
from portal.refusals import Refused

# --- formatting ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "shown"),
    [("1234.5", "1,234.50"), ("0.005", "0.01"), ("-12.3", "-12.30"), (1000000, "1,000,000.00")],
)
def test_yuan_rounds_half_up_to_the_fen_and_groups_thousands(amount, shown):
    assert formatting.yuan(Decimal(str(amount))) == shown
    assert formatting.yuan_sign(Decimal(str(amount))) == f"¥{shown}"


def test_the_fee_schedule_writes_yuan_as_cny_in_the_active_language():
    with translation.override("en"):
        assert formatting.yuan_cny(Decimal("12.5")) == "CNY 12.50"
    assert disclosure_formatting.yuan(Decimal("12.5")) == formatting.yuan_cny(Decimal("12.5"))


@pytest.mark.parametrize(
    ("ratio", "fixed", "trimmed", "figure"),
    [
        ("1.5800", "158.00%", "158%", "158.00"),
        ("0.083500", "8.35%", "8.35%", "8.35"),
        ("0.000125", "0.01%", "0.01%", "0.0125"),
        ("1.3", "130.00%", "130%", "130.00"),
    ],
)
def test_the_three_percent_styles(ratio, fixed, trimmed, figure):
    value = Decimal(ratio)
    assert formatting.percent(value) == fixed
    assert formatting.percent_trim(value) == trimmed
    assert formatting.rate_figure(value) == figure


def test_percent_rounds_half_up_like_the_money_it_shows():
    assert formatting.percent(Decimal("1.23445")) == "123.45%"


def test_a_ratio_without_debt_reads_infinite():
    assert formatting.ratio_percent(None) == "∞"
    assert formatting.ratio_percent(Decimal("1.4")) == "140.00%"


def test_a_float_is_refused_rather_than_shown_inexactly():
    with pytest.raises(TypeError):
        formatting.yuan(0.1)


def test_moments_read_in_beijing_time_to_the_minute():
    assert formatting.beijing_minute(datetime(2026, 12, 7, 1, 30, tzinfo=UTC)) == "2026-12-07 09:30"


def test_the_old_names_are_the_kernels():
    assert money.yuan is formatting.yuan
    assert money.percent is formatting.percent
    assert education_percent is formatting.percent_trim
    assert disclosure_formatting.percent is formatting.rate_figure
    assert notice_percent is formatting.ratio_percent


@pytest.mark.parametrize(
    ("template", "shown"),
    [
        ("{% load formatting %}{{ v|yuan }}", "¥1,234.50"),
        ("{% load formatting %}{{ v|yuan_plain }}", "1,234.50"),
        ("{% load formatting %}{{ r|percent }}", "158.00%"),
        ("{% load formatting %}{{ none|ratio_percent }}", "∞"),
        ("{% load formatting %}{{ none|yuan }}", ""),
        ("{% load margin_tags %}{{ v|yuan }} {{ r|percent }}", "¥1,234.50 158.00%"),
    ],
)
def test_templates_use_the_same_formatters(template, shown):
    context = Context({"v": "1234.5", "r": "1.5800", "none": None})
    assert Template(template).render(context) == shown


# --- refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("refusal", "code", "how_to_fix"),
    [
        (GateRequired("cool_off", "Wait.", "/education/"), "cool_off", "/education/"),
        (FinancingRefused("kyc", "Finish KYC.", "/onboarding/"), "kyc", "/onboarding/"),
        (StepRefused("Answer first."), "education.step", ""),
        (DisclosureError("Only a draft."), "disclosures.step", ""),
        (ApprovalError("Already decided."), "funds.approval", ""),
        (BankAccountError("Not verified."), "funds.bank_account", ""),
    ],
)
def test_every_workflows_refusal_is_one_refused(refusal, code, how_to_fix):
    assert isinstance(refusal, Refused)
    assert (refusal.code, refusal.how_to_fix) == (code, how_to_fix)
    assert str(refusal) == str(refusal.message)


def test_refusals_that_were_value_errors_still_are():
    assert isinstance(DisclosureError("x"), ValueError)
    assert isinstance(ApprovalError("x"), ValueError)


def test_the_gate_keeps_its_reason_and_url():
    refusal = GateRequired("quiz", "Pass the quiz.", "/education/quiz/")
    assert (refusal.reason, refusal.url, refusal.message) == (
        "quiz",
        "/education/quiz/",
        "Pass the quiz.",
    )


# --- append-only ---------------------------------------------------------------------------------


def test_there_is_one_append_only_error():
    assert Immutable is ImmutableError is ImmutableVersionError is AppendOnlyError


@pytest.mark.django_db
def test_a_ledger_entry_cannot_be_changed_or_deleted(client_alice):
    from funds import ledger
    from funds.models import JournalEntry

    entry = ledger.entry_post(
        kind=JournalEntry.Kind.DEPOSIT,
        description="test",
        value_date=datetime(2026, 3, 2, tzinfo=UTC).date(),
        lines=[
            (ledger.house_account(ledger.Kind.CUSTODIAN), Decimal("10.00")),
            (ledger.house_account(ledger.Kind.SUSPENSE), Decimal("-10.00")),
        ],
        idempotency_key="kernel-test",
        posted_by=client_alice,
    )
    entry.description = "changed"
    with pytest.raises(AppendOnlyError, match="cannot be changed"):
        entry.save()
    with pytest.raises(AppendOnlyError, match="cannot be deleted"):
        entry.delete()
