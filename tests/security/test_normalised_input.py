"""Identity numbers, phones, bank accounts and amounts: NFKC first, then strictly ASCII.

The attack this pins: the same resident ID number typed with full-width digits (`１１０１…`, as a
Chinese keyboard produces) passed the check digit — Python reads those as digits — but got its own
blind index, so a second account for the same person was not found as the duplicate it is.
Numbers that are not ASCII digits even after normalisation (Arabic-Indic digits, `1_000`, `1e3`)
are refused with a message, never reinterpreted.
"""

from decimal import Decimal

import pytest
from django import forms

from accounts import services
from accounts.adapter import normalise_mainland_phone
from accounts.forms import PersonalForm
from accounts.kyc_models import KycCase
from portal import crypto
from portal.inputs import AmountField, CountField
from tests.accounts.factories import resident_id, submitted_case
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def full_width(text: str) -> str:
    return text.translate(FULL_WIDTH)


def test_an_id_number_typed_full_width_is_found_as_the_duplicate_it_is(client_alice):
    number = resident_id()
    submitted_case(client_alice, id_number=number)
    twin = UserFactory(email="twin@example.test")
    case = submitted_case(twin, id_number=full_width(number))
    case.refresh_from_db()
    alices = KycCase.objects.get(user=client_alice)
    assert crypto.decrypt(case.id_number_encrypted) == number  # stored in its one ASCII form
    assert case.id_number_index == alices.id_number_index
    duplicate = next(c for c in case.checks if c["check"] == "duplicate_id")
    assert duplicate["ok"] is False and str(alices.pk) in duplicate["detail"]


@pytest.mark.parametrize(
    "typed",
    [
        lambda n: full_width(n),
        lambda n: f"{n[:6]} {n[6:14]} {n[14:]}",
        lambda n: f"{n[:6]}－{n[6:]}",  # a full-width hyphen
        lambda n: f"{n[:6]}\u3000{n[6:]}",  # an ideographic space
        lambda n: n[:-1] + "x" if n.endswith("X") else n,
    ],
)
def test_an_id_number_is_read_the_same_however_it_is_typed(typed):
    number = resident_id()
    form = PersonalForm(
        data={
            "legal_name": "林岚",
            "id_number": typed(number),
            "address": "北京市朝阳区建国路 88 号",
            "occupation": "employee",
            "income_band": "300k-1m",
            "source_of_funds": "salary",
            "experience_months": "３６",
            "related_party": "no",
        }
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["id_number"] == number
    assert form.cleaned_data["experience_months"] == 36
    assert services.id_number_index(typed(number)) == services.id_number_index(number)


def test_digits_that_are_not_ascii_after_normalisation_are_refused():
    from django.core.exceptions import ValidationError

    from accounts import idcard

    arabic_indic = resident_id().translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    with pytest.raises(ValidationError) as refused:
        idcard.parse_resident_id(arabic_indic)
    assert refused.value.code == "id_format"


@pytest.mark.parametrize(
    "raw",
    [
        "１３８０００００００１",
        "13８0000 0001",
        "+86 138-0000-0001",
        "＋８６　１３８　００００　０００１",
    ],
)
def test_phone_numbers_are_normalised_before_they_are_checked(raw):
    assert normalise_mainland_phone(raw) == "13800000001"


@pytest.mark.parametrize("raw", ["١٣٨٠٠٠٠٠٠٠١", "138_0000_0001", "１３８００００００"])
def test_phone_numbers_that_are_not_mainland_digits_are_refused(raw):
    with pytest.raises(forms.ValidationError):
        normalise_mainland_phone(raw)


@pytest.mark.parametrize(
    ("typed", "amount"),
    [
        ("1000", Decimal("1000")),
        ("１０００", Decimal("1000")),
        ("1,000.50", Decimal("1000.50")),
        ("１，０００．５０", Decimal("1000.50")),
        (" 12.5 ", Decimal("12.5")),
    ],
)
def test_amounts_are_normalised_consistently(typed, amount):
    field = AmountField(max_digits=14, decimal_places=2)
    assert field.clean(typed) == amount


@pytest.mark.parametrize(
    "typed", ["1_000", "1e3", "+5", "1 000", "1.000,50", "10,00", "١٠٠٠", "NaN", "Infinity", "0x10"]
)
def test_amounts_that_could_be_misread_are_refused(typed):
    with pytest.raises(forms.ValidationError) as refused:
        AmountField(max_digits=14, decimal_places=2).clean(typed)
    assert refused.value.error_list[0].code == "invalid"


@pytest.mark.parametrize(("typed", "count"), [("12", 12), ("１２", 12)])
def test_counts_are_normalised(typed, count):
    assert CountField().clean(typed) == count


@pytest.mark.parametrize("typed", ["1_2", "12.0", "١٢", "-1e1"])
def test_counts_that_could_be_misread_are_refused(typed):
    with pytest.raises(forms.ValidationError):
        CountField().clean(typed)


def test_a_withdrawal_amount_of_1_000_is_refused_not_read_as_a_thousand(client_alice):
    from funds.forms import WithdrawalForm

    form = WithdrawalForm(data={"bank_account": "1", "amount": "1_000", "token": "x"}, banks=[])
    assert not form.is_valid()
    assert "amount" in form.errors


def test_a_bank_account_number_typed_full_width_is_stored_in_ascii():
    from funds import services as funds_services
    from tests.funds.factories import verified_client

    client = verified_client("林岚", email="banker@example.test")
    account = funds_services.bank_account_add(
        client=client,
        bank_name="工商银行",
        account_number="６２２２ ０２０２ ００１１ ２２３３ ４４５",
        holder_name="林　岚",
    )
    assert account.account_number == "6222020200112233445"
