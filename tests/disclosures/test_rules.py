"""The notice periods, decided from the effect on clients, pinned to DESIGN.md's numbers."""

from dataclasses import dataclass, replace
from decimal import Decimal as D

from disclosures import rules, scenarios
from disclosures.models import Basis, ItemKind, WorseWhen


@dataclass(frozen=True)
class Item:
    code: str
    value: D
    kind: str = rules.OTHER_CHARGE
    basis: str = rules.FIXED
    tier: int | None = None
    name_zh: str = "项目"
    name_en: str = "item"
    note_zh: str = ""
    note_en: str = ""


def rate(value, tier=2, basis=rules.ANNUAL_360):
    return Item(f"financing_rate_tier{tier}", D(value), rules.FINANCING_RATE, basis, tier)


def line(code, value):
    return Item(code, D(value), rules.LINE, rules.RATIO)


def cap(code, value):
    return Item(code, D(value), rules.LIMIT, rules.RATIO)


def decide(old, new, *, has_prior=True, old_text="条款", new_text="条款"):
    return scenarios.assess(
        has_prior=has_prior,
        old_texts=(old_text,),
        new_texts=(new_text,),
        old_items=old,
        new_items=new,
    ).decision


def test_the_numbers_are_seven_and_thirty_days():
    assert rules.TERMS_NOTICE_DAYS == 7
    assert rules.UNFAVOURABLE_NOTICE_DAYS == 30


def test_the_kinds_and_bases_here_are_the_models():
    assert set(rules.KINDS) == set(ItemKind.values)
    assert {rules.ANNUAL_360, rules.DAILY, rules.PER_TRADE, rules.FIXED, rules.RATIO} == set(
        Basis.values
    )
    assert {rules.worse_when(kind) for kind in rules.KINDS} == set(WorseWhen.values)


def test_which_way_hurts_is_fixed_by_the_kind():
    assert rules.worse_when(rules.LIMIT) == "lower"
    assert all(rules.worse_when(k) == "higher" for k in rules.KINDS if k != rules.LIMIT)


def test_a_rate_increase_needs_thirty_days():
    decision = decide([rate("0.0835")], [rate("0.0860")])
    assert (decision.days, decision.favourable, decision.reason) == (
        30,
        False,
        "worse_for_clients",
    )


def test_a_rate_cut_may_apply_at_once():
    decision = decide([rate("0.0835")], [rate("0.0800")])
    assert (decision.days, decision.favourable, decision.reason) == (0, True, "in_clients_favour")


def test_one_increase_among_cuts_still_needs_thirty_days():
    old = [rate("0.08"), Item("withdrawal_fee", D("2.00"), rules.WITHDRAWAL_FEE)]
    penalty = Item("penalty_rate", D("0.0005"), rules.PENALTY_RATE, rules.DAILY)
    new = [rate("0.07"), Item("withdrawal_fee", D("0.00"), rules.WITHDRAWAL_FEE)]
    assert decide([*old, penalty], [*new, replace(penalty, value=D("0.0006"))]).days == 30


def test_a_tightened_line_needs_thirty_days_and_a_loosened_one_none():
    assert decide([line("call_line", "1.30")], [line("call_line", "1.35")]).days == 30
    assert decide([line("call_line", "1.30")], [line("call_line", "1.25")]).days == 0


def test_a_lowered_cap_is_a_tightening():
    old = [cap("concentration_limit", "0.30")]
    assert decide(old, [cap("concentration_limit", "0.25")]).days == 30
    assert decide(old, [cap("concentration_limit", "0.35")]).days == 0


def test_a_new_charge_needs_thirty_days():
    decision = decide([], [Item("account_fee", D("5.00"))])
    assert (decision.days, decision.reason) == (30, "worse_for_clients")


def test_a_removed_fee_is_a_cut_but_still_a_change_of_terms():
    decision = decide([Item("account_fee", D("5.00"))], [])
    assert (decision.days, decision.favourable, decision.reason) == (7, False, "terms_changed")


def test_removing_a_cap_or_a_line_is_a_tightening():
    assert decide([cap("concentration_limit", "0.30")], []).days == 30
    assert decide([line("liquidation_line", "1.20")], []).days == 30


def test_a_tier_withdrawn_is_worse_and_a_tier_offered_is_a_change_of_terms():
    assert decide([rate("0.08", tier=1), rate("0.09", tier=2)], [rate("0.08", tier=1)]).days == 30
    offered = decide([rate("0.08", tier=1)], [rate("0.08", tier=1), rate("0.09", tier=2)])
    assert (offered.days, offered.reason) == (7, "terms_changed")


def test_a_text_only_change_needs_seven_days():
    same = [rate("0.0835")]
    assert decide(same, same, new_text="新条款").days == 7
    assert decide([], [], new_text="新条款").reason == "terms_changed"


def test_publishing_the_same_terms_again_still_takes_the_text_notice():
    same = [rate("0.0835")]
    assert (decide(same, same).days, decide(same, same).reason) == (7, "no_change")


def test_a_renamed_item_is_a_change_of_terms_even_with_a_cut():
    old = [Item("withdrawal_fee", D("2.00"), rules.WITHDRAWAL_FEE)]
    new = [replace(old[0], value=D("1.99"), note_zh="每笔提现，另行公布的情形除外")]
    assert decide(old, new).days == 7


def test_the_first_version_binds_nobody_yet():
    assert decide([], [rate("0.09")], has_prior=False).days == 0


def test_an_item_must_be_stated_on_a_basis_its_kind_allows():
    assert rules.item_problem(rate("0.0835")) is None
    assert "basis" in rules.item_problem(rate("0.0835", basis=rules.FIXED))
    assert "basis" in rules.item_problem(replace(line("call_line", "1.30"), basis=rules.FIXED))


def test_a_financing_rate_needs_its_tier():
    assert "tier" in rules.item_problem(replace(rate("0.0835"), tier=None))


def test_a_changed_kind_is_found():
    old = [Item("x", D("1"), rules.LINE, rules.RATIO), Item("y", D("1"))]
    new = [Item("x", D("1"), rules.LIMIT, rules.RATIO), Item("y", D("1")), Item("z", D("1"))]
    assert rules.kind_changes(old, new) == ["x"]
