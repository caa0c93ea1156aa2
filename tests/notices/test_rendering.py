"""The fast notice render (a skeleton per template and language, filled per recipient) gives
exactly the text and HTML the template render gives, for every notice type in both languages."""

import datetime
import re
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.template.loader import get_template, render_to_string
from django.utils import translation

from notices import registry, rendering

TEMPLATES = Path(settings.BASE_DIR) / "templates"
LANGUAGES = ["zh-hans", "en"]
T0 = datetime.datetime(2026, 11, 25, 2, 0, tzinfo=datetime.UTC)
_NAMES = re.compile(r"\{\{\s*(\w+)|\{%\s*(?:el)?if\s+([^%]+)%\}|\b\w+=(\w+)")

# Values that would show a wrong escape, a lost %, a wrong localisation or a mixed-up slot.
NASTY = '<b>"Bob" & {n}</b> 50% 林秀英'


def _template_source(name: str) -> str:
    source = (TEMPLATES / name).read_text()
    parts = re.findall(r"\{%\s*(?:extends|include)\s+\"([^\"]+)\"", source)
    return source + "".join(_template_source(part) for part in parts)


def _names(notice_type: registry.NoticeType, channel: str) -> list[str]:
    """Every context name the channel's templates (and what they extend or include) read."""
    found = set(notice_type.required_context)
    for name in notice_type.template_names(channel):
        for var, condition, bound in _NAMES.findall(_template_source(name)):
            found |= {var, bound} | set(re.findall(r"[A-Za-z_]\w*", condition))
    return sorted(found - {"", "not", "and", "or", "LANGUAGE_CODE"})


def _context(names: list[str], n: int, falsy: frozenset = frozenset()) -> dict:
    context = {name: (NASTY.format(n=f"{name}-{n}") if name not in falsy else "") for name in names}
    context["percent"] = 75 + n  # ints go through the engine's localisation, as in SLA notices
    return context


def _cases():
    for notice_type in registry.all_notice_types():
        if notice_type.prerendered:
            continue
        for channel in notice_type.channels:
            for name in notice_type.template_names(channel):
                yield pytest.param(notice_type, channel, name, id=name)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("notice_type", "channel", "template_name"), list(_cases()))
def test_the_fast_render_is_the_template_render(notice_type, channel, template_name, language):
    names = _names(notice_type, channel)
    # All values present, then each value empty in turn (an {% if %} branch not taken).
    shapes = [frozenset(), *(frozenset({name}) for name in names), frozenset(names)]
    with translation.override(language):
        for shape in shapes:
            # The first render of a shape makes its skeleton; the later ones are filled in.
            for n in range(3):
                context = _context(names, n, shape)
                assert rendering.render(template_name, context) == render_to_string(
                    template_name, context
                )


@pytest.mark.parametrize(
    "template_name",
    [
        "emails/margin_call-subject.txt",
        "emails/margin_call-body.txt",
        "emails/margin_call-body.html",
        "sms/margin_call.txt",
        "inapp/margin_call.txt",
        "emails/support_sla_warning-body.html",
        "emails/support_sla_breach-body.html",
    ],
)
def test_the_notices_sent_in_bursts_take_the_fast_render(template_name):
    template = get_template(template_name).template
    assert rendering.fillable(template)


def test_html_values_are_escaped_in_html_and_kept_in_text():
    context = _context(_names(registry.get_notice_type("margin_call"), "email"), 1)
    with translation.override("en"):
        for _ in range(2):
            html = rendering.render("emails/margin_call-body.html", context)
            text = rendering.render("emails/margin_call-body.txt", context)
    assert "&lt;b&gt;&quot;Bob&quot; &amp; account_number-1&lt;/b&gt;" in html
    assert '<b>"Bob" & account_number-1</b> 50%' in text


def test_a_template_with_filters_or_other_tags_keeps_the_template_render(month_note):
    # month_note prints {% now "F" %}: no skeleton can hold it.
    template = get_template("emails/month_note-body.txt").template
    assert not rendering.fillable(template)
    with translation.override("en"), time_machine.travel(T0, tick=False):
        assert rendering.render("emails/month_note-body.txt", {}) == "November\n"


def test_a_skeleton_that_differs_from_the_template_render_is_dropped_for_good(
    month_note, monkeypatch, caplog
):
    # Pretend the check let an {% if x == "y" %} through: the first use compares and gives up.
    monkeypatch.setattr(rendering, "_fillable", lambda template, engine: True)
    name = "emails/month_note-subject.txt"
    template = get_template(name).template
    monkeypatch.setattr(
        rendering, "_skeleton", lambda template, context: rendering._Skeleton("not it", [])
    )
    with translation.override("en"), time_machine.travel(T0, tick=False):
        first = rendering.render(name, {"x": "1"})
        second = rendering.render(name, {"x": "2"})
    assert first == second == "November\n"
    assert "renders differently from its skeleton" in caplog.text
    assert not rendering.fillable(template)
