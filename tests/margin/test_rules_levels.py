"""Lines, levels and hysteresis, pinned at every boundary (DESIGN.md, "Domain rules").

Convention: a line belongs to the worse level. A ratio at or below 130% is a CALL, at or below
120% a LIQUIDATION, at or below 150% a WARNING. WATCH is "within 10 points above warning":
strictly below 160%. Moving back up needs the ratio at least 5 points above the line being left.
"""

from decimal import Decimal as D

import pytest
from django.utils import translation

from margin.rules import DEFAULT_LINES, Level, Lines, classify, level_for

# --- the lines ------------------------------------------------------------------------------------


def test_default_lines_are_the_ones_in_the_design():
    design = Lines(withdrawal=D("3.00"), warning=D("1.50"), call=D("1.30"), liquidation=D("1.20"))
    assert design == DEFAULT_LINES
    assert DEFAULT_LINES.watch == D("1.60")
    assert DEFAULT_LINES.hysteresis == D("0.05")


def test_lines_are_immutable():
    with pytest.raises(AttributeError):
        DEFAULT_LINES.call = D("1.40")  # type: ignore[misc]


def test_lines_accept_strings_and_store_decimals():
    assert Lines(call="1.35").call == D("1.35")


def test_lines_refuse_floats_because_they_are_not_exact():
    with pytest.raises(TypeError):
        Lines(call=1.3)  # type: ignore[arg-type]


def test_lines_refuse_more_than_four_places():
    with pytest.raises(ValueError, match="4 decimal places"):
        Lines(call=D("1.30005"))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"call": D("1.50")},  # call must be below warning
        {"liquidation": D("1.30")},  # liquidation must be below call
        {"withdrawal": D("1.50")},  # withdrawal must be above warning
        {"hysteresis": D("-0.01")},
        {"watch_band": D("-0.10")},
    ],
)
def test_lines_out_of_order_are_refused(kwargs):
    with pytest.raises(ValueError):
        Lines(**kwargs)


# --- levels without history -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ratio", "level"),
    [
        ("0.0000", Level.LIQUIDATION),
        ("1.1999", Level.LIQUIDATION),
        ("1.2000", Level.LIQUIDATION),
        ("1.2001", Level.CALL),
        ("1.2999", Level.CALL),
        ("1.3000", Level.CALL),
        ("1.3001", Level.WARNING),
        ("1.5000", Level.WARNING),
        ("1.5001", Level.WATCH),
        ("1.5999", Level.WATCH),
        ("1.6000", Level.SAFE),
        ("3.0000", Level.SAFE),
    ],
)
def test_each_line_belongs_to_the_worse_level(ratio, level):
    assert level_for(D(ratio)) == level


def test_ratio_exactly_on_the_call_line_is_a_call():
    assert level_for(D("1.30")) == Level.CALL


def test_ratio_exactly_on_the_liquidation_line_is_a_liquidation():
    assert level_for(D("1.20")) == Level.LIQUIDATION


def test_ratio_exactly_on_the_warning_line_is_a_warning():
    assert level_for(D("1.50")) == Level.WARNING


def test_ratio_exactly_ten_points_above_warning_is_safe():
    assert level_for(D("1.60")) == Level.SAFE


def test_no_debt_is_safe():
    assert level_for(None) == Level.SAFE


def test_levels_follow_the_contracts_own_lines():
    tighter = Lines(warning=D("1.60"), call=D("1.40"), liquidation=D("1.30"))
    assert level_for(D("1.40"), tighter) == Level.CALL
    assert level_for(D("1.65"), tighter) == Level.WATCH


def test_levels_are_ordered_by_severity():
    assert [level.severity for level in Level] == [0, 1, 2, 3, 4]
    assert Level.CALL.severity > Level.WARNING.severity


def test_level_names_are_translatable_english():
    with translation.override("en"):
        assert str(Level.CALL.label) == "Margin call"
        assert str(Level.LIQUIDATION.label) == "Forced liquidation"
    with translation.override("zh-hans"):
        assert str(Level.CALL.label) == "追加保证金"
        assert str(Level.LIQUIDATION.label) == "强制平仓"


# --- hysteresis: down at once ---------------------------------------------------------------------


def test_moving_down_is_immediate_even_across_several_levels():
    assert classify(D("1.25"), Level.SAFE) == Level.CALL
    assert classify(D("1.10"), Level.WATCH) == Level.LIQUIDATION


def test_moving_down_by_one_point_below_a_line_is_immediate():
    assert classify(D("1.3000"), Level.WARNING) == Level.CALL
    assert classify(D("1.5000"), Level.WATCH) == Level.WARNING
    assert classify(D("1.5999"), Level.SAFE) == Level.WATCH


def test_without_a_previous_level_the_ratio_decides_alone():
    assert classify(D("1.33"), None) == Level.WARNING


# --- hysteresis: up only 5 points above the line --------------------------------------------------


@pytest.mark.parametrize(
    ("previous", "ratio", "expected"),
    [
        (Level.CALL, "1.3001", Level.CALL),
        (Level.CALL, "1.3499", Level.CALL),
        (Level.CALL, "1.3500", Level.WARNING),
        (Level.LIQUIDATION, "1.2499", Level.LIQUIDATION),
        (Level.LIQUIDATION, "1.2500", Level.CALL),
        (Level.WARNING, "1.5499", Level.WARNING),
        (Level.WARNING, "1.5500", Level.WATCH),
        (Level.WATCH, "1.6499", Level.WATCH),
        (Level.WATCH, "1.6500", Level.SAFE),
    ],
)
def test_moving_up_needs_five_points_above_the_line(previous, ratio, expected):
    assert classify(D(ratio), previous) == expected


def test_from_call_back_to_warning_needs_at_least_1_35():
    assert classify(D("1.34"), Level.CALL) == Level.CALL
    assert classify(D("1.35"), Level.CALL) == Level.WARNING


def test_moving_up_several_levels_clears_each_line_by_five_points():
    assert classify(D("1.70"), Level.LIQUIDATION) == Level.SAFE
    assert classify(D("1.56"), Level.LIQUIDATION) == Level.WATCH
    # 1.62 is SAFE by the lines alone but only 2 points above the watch band's edge.
    assert classify(D("1.62"), Level.CALL) == Level.WATCH


def test_a_small_bounce_inside_the_band_keeps_the_level():
    assert classify(D("1.31"), Level.CALL) == Level.CALL
    assert classify(D("1.29"), Level.CALL) == Level.CALL


def test_repaying_all_debt_is_safe_whatever_the_level_was():
    assert classify(None, Level.LIQUIDATION) == Level.SAFE


def test_hysteresis_width_is_part_of_the_lines():
    no_hysteresis = Lines(hysteresis=D("0"))
    assert classify(D("1.3001"), Level.CALL, no_hysteresis) == Level.WARNING
