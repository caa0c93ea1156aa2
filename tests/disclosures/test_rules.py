"""The notice periods and the favourable-change rule, pinned to DESIGN.md's numbers."""

from dataclasses import dataclass
from decimal import Decimal as D

from disclosures import rules


@dataclass
class Item:
    code: str
    value: D
    worse_when: str = "higher"


def decide(old, new, has_prior=True):
    return rules.notice_decision(has_prior=has_prior, changes=rules.compare_items(old, new))


def test_the_numbers_are_seven_and_thirty_days():
    assert rules.TERMS_NOTICE_DAYS == 7
    assert rules.UNFAVOURABLE_NOTICE_DAYS == 30


def test_a_rate_increase_needs_thirty_days():
    decision = decide([Item("rate", D("0.0835"))], [Item("rate", D("0.0860"))])
    assert (decision.days, decision.favourable, decision.reason) == (
        30,
        False,
        "unfavourable_items",
    )


def test_a_rate_cut_may_apply_at_once():
    decision = decide([Item("rate", D("0.0835"))], [Item("rate", D("0.0800"))])
    assert (decision.days, decision.favourable) == (0, True)


def test_one_increase_among_cuts_still_needs_thirty_days():
    old = [Item("a", D("0.08")), Item("b", D("2.00")), Item("c", D("0.0005"))]
    new = [Item("a", D("0.07")), Item("b", D("0.00")), Item("c", D("0.0006"))]
    assert decide(old, new).days == 30


def test_a_tightened_line_needs_thirty_days_and_a_loosened_one_none():
    assert decide([Item("call_line", D("1.30"))], [Item("call_line", D("1.35"))]).days == 30
    assert decide([Item("call_line", D("1.30"))], [Item("call_line", D("1.25"))]).days == 0


def test_a_lowered_cap_is_a_tightening():
    old = [Item("cap", D("1.00"), "lower")]
    assert decide(old, [Item("cap", D("0.80"), "lower")]).days == 30
    assert decide(old, [Item("cap", D("1.20"), "lower")]).days == 0


def test_a_new_fee_is_an_increase_and_a_removed_fee_a_cut():
    assert decide([], [Item("new_fee", D("5.00"))]).days == 30
    assert decide([Item("old_fee", D("5.00"))], []).days == 0


def test_removing_a_cap_is_a_tightening():
    assert decide([Item("cap", D("1.00"), "lower")], []).days == 30


def test_a_text_only_change_needs_seven_days():
    same = [Item("rate", D("0.0835"))]
    assert decide(same, same).days == 7
    assert decide([], []).days == 7


def test_the_first_version_binds_nobody_yet():
    assert decide([], [Item("rate", D("0.09"))], has_prior=False).days == 0
