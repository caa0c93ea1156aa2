from datetime import UTC, date, datetime

import pytest
from django.core.exceptions import ValidationError

from accounts import idcard, suitability
from tests.accounts.factories import HIGH_ANSWERS, resident_id


@pytest.mark.parametrize(
    "number,birth,sex",
    [
        ("11010519491231002X", date(1949, 12, 31), "F"),  # the GB 11643 example, X check digit
        ("11010519850612123X", date(1985, 6, 12), "M"),
        ("440308199901010020", date(1999, 1, 1), "F"),
    ],
)
def test_valid_numbers_give_birth_date_and_sex(number, birth, sex):
    rid = idcard.parse_resident_id(number)
    assert (rid.birth_date, rid.sex) == (birth, sex)


def test_lower_case_x_and_spaces_are_accepted():
    assert idcard.parse_resident_id("110105 19491231 002x").number == "11010519491231002X"


@pytest.mark.parametrize(
    "number,code",
    [
        ("110105194912310021", "id_checksum"),  # should end in X
        ("11010519491231002Y", "id_format"),
        ("110105198506121230", "id_checksum"),
        ("1101051985061212", "id_format"),
        ("110105198513121231", "id_birth"),  # month 13 (check digit computed below)
    ],
)
def test_invalid_numbers_are_refused(number, code):
    if code == "id_birth":
        from stdnum.cn import ric

        number = number[:17] + ric.calc_check_digit(number)
    with pytest.raises(ValidationError) as exc:
        idcard.parse_resident_id(number)
    assert exc.value.code == code


def test_under_18_is_refused_and_18th_birthday_is_accepted():
    rid = idcard.parse_resident_id(resident_id(birth="20080612"))
    with pytest.raises(ValidationError) as exc:
        idcard.require_adult(rid, today=date(2026, 6, 11))
    assert exc.value.code == "under_age"
    idcard.require_adult(rid, today=date(2026, 6, 12))


# 07:00 on 12 June in Beijing is still 11 June on a host that keeps UTC (the TZ time-machine sets).
@pytest.mark.time_machine(datetime(2026, 6, 11, 23, tzinfo=UTC), tick=False)
def test_age_counts_in_beijing_days_whatever_the_hosts_time_zone():
    rid = idcard.parse_resident_id(resident_id(birth="20080612"))
    idcard.require_adult(rid)
    # Born today in Beijing is not a birth date in the future.
    assert idcard.parse_resident_id(resident_id(birth="20260612")).birth_date == date(2026, 6, 12)


@pytest.mark.parametrize(
    "score,rating",
    [
        (0, "C1"),
        (19, "C1"),
        (20, "C2"),
        (39, "C2"),
        (40, "C3"),
        (59, "C3"),
        (60, "C4"),
        (79, "C4"),
        (80, "C5"),
        (100, "C5"),
    ],
)
def test_rating_boundaries(score, rating):
    assert suitability.rating_for_score(score) == rating


def test_maximum_answers_score_100_and_c5():
    result = suitability.score_answers(HIGH_ANSWERS)
    assert (result.score, result.rating) == (100, "C5")
    assert suitability.MAX_SCORE == 100


def test_no_loss_tolerance_caps_at_c1_whatever_the_score():
    result = suitability.score_answers({**HIGH_ANSWERS, "loss_tolerance": "none"})
    assert result.score == 80
    assert result.rating == "C1"
    assert result.drivers[0]["question"] == "loss_tolerance" and result.drivers[0]["cap"] == "C1"


def test_no_experience_caps_at_c3():
    result = suitability.score_answers({**HIGH_ANSWERS, "experience": "none"})
    assert result.score == 85 and result.rating == "C3"


def test_missing_or_unknown_answer_is_refused():
    with pytest.raises(ValueError):
        suitability.score_answers({**HIGH_ANSWERS, "horizon": "forever"})
    answers = dict(HIGH_ANSWERS)
    del answers["objective"]
    with pytest.raises(ValueError):
        suitability.score_answers(answers)
