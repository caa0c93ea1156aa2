"""Paragraphs line up side by side; inside a changed one, changed characters are marked."""

from disclosures import diff


def test_changed_chinese_characters_are_marked_not_the_whole_sentence():
    rows = diff.side_by_side("一、利息\n\n年利率8.35%。", "一、利息\n\n年利率8.60%。")
    assert [row.kind for row in rows] == ["equal", "replace"]
    assert rows[1].old == "年利率8.<del>35</del>%。"
    assert rows[1].new == "年利率8.<ins>60</ins>%。"


def test_added_and_removed_paragraphs_stand_alone():
    rows = diff.side_by_side("甲\n\n乙", "甲\n\n乙\n\n丙")
    assert [(row.kind, row.old, row.new) for row in rows][-1] == ("insert", "", "<ins>丙</ins>")
    rows = diff.side_by_side("甲\n\n乙", "甲")
    assert rows[-1].kind == "delete" and rows[-1].old == "<del>乙</del>"


def test_text_is_escaped_before_it_is_marked_safe():
    rows = diff.side_by_side("<b>x</b>", "<b>x</b>\n\n<script>alert(1)</script>")
    assert rows[0].old == "&lt;b&gt;x&lt;/b&gt;"
    assert rows[1].new == "<ins>&lt;script&gt;alert(1)&lt;/script&gt;</ins>"


def test_the_fingerprint_changes_with_what_was_shown():
    a = diff.fingerprint(diff.side_by_side("甲", "乙"))
    assert a == diff.fingerprint(diff.side_by_side("甲", "乙"))
    assert a != diff.fingerprint(diff.side_by_side("甲", "丙"))
