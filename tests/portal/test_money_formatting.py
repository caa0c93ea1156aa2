"""The kernel's formatters: what a client reads for an amount, a change and a rate."""

from decimal import Decimal as D

import pytest

from portal import money


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (D("1234.5"), "¥1,234.50"),
        (D("-65562.77"), "-¥65,562.77"),
        (D("-0.004"), "¥0.00"),
        (D("0.005"), "¥0.01"),  # half-up, the one rounding rule
        (D("1000000"), "¥1,000,000.00"),
    ],
)
def test_an_amount_carries_its_sign_before_the_currency(amount, shown):
    assert money.cny(amount) == shown


@pytest.mark.parametrize(
    ("change", "shown"),
    [(D("8000"), "+¥8,000.00"), (D("-262000"), "-¥262,000.00"), (D("0"), "¥0.00")],
)
def test_a_change_to_a_balance_says_its_direction(change, shown):
    assert money.signed_cny(change) == shown


@pytest.mark.parametrize(
    ("rate", "shown"),
    [
        (D("0.078000"), "7.80%"),
        (D("0.0835"), "8.35%"),
        (D("0.000500"), "0.05%"),
        (D("0.000233"), "0.0233%"),
        (D("1.3000"), "130.00%"),
    ],
)
def test_a_rate_is_shown_exactly_without_internal_places(rate, shown):
    assert money.rate_percent(rate) == shown


def test_the_template_filters_use_the_kernel():
    from margin.templatetags import margin_tags

    assert margin_tags.yuan(D("-65562.77")) == "-¥65,562.77"
    assert margin_tags.owed(D("262000")) == "-¥262,000.00"
    assert margin_tags.signed_yuan(D("8000")) == "+¥8,000.00"
    # Half-up, as the contract counts, where Python's formatting would round half to even.
    assert margin_tags.percent(D("1.582450")) == "158.25%"
