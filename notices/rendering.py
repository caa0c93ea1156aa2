"""Notice templates rendered once per (template, language, shape), then filled in per recipient.

A margin-call burst renders the same few templates thousands of times with different account
numbers and amounts; a full Django render (blocktranslate's gettext, the email's base layout, the
context stack) cost more than sending the message. So a template whose output depends on its
context only through

- plain ``{{ name }}`` variables, ``{% blocktranslate %}`` placeholders and ``with name=other``,
- ``{% if name %}`` / ``not`` / ``and`` / ``or`` on such names (truthiness only),
- constant ``{% translate %}``, ``{% extends %}``, ``{% block %}``, ``{% include %}``,
  ``{% autoescape %}``, ``{% load %}`` and comments

is rendered once with a marker in place of each truthy value (the "skeleton"), and each notice is
the skeleton with its own values put in, each converted exactly as the template engine converts it
(``render_value_in_context``: localised, then HTML-escaped where autoescaping was on at that spot,
which the marker records). Falsy values are part of the shape (they pick ``if`` branches) and are
rendered into the skeleton as they are. Any other tag or filter (``|date``, ``==``, ``for``, ...)
and the template keeps the full render, always.

The first use of each skeleton is checked against the full render; a difference (a construct the
check above missed) logs an error and sends that template back to the full render for good.
tests/notices/test_rendering.py compares both renders for every notice type in both languages.
"""

from __future__ import annotations

import logging
import re
import threading
import weakref
from typing import Any

from django.template import Context
from django.template.base import TextNode, VariableNode, render_value_in_context
from django.template.defaulttags import AutoEscapeControlNode, CommentNode, IfNode, LoadNode
from django.template.loader import get_template, render_to_string
from django.template.loader_tags import BlockNode, ExtendsNode, IncludeNode
from django.template.loaders.cached import Loader as CachedLoader
from django.templatetags.i18n import (
    BlockTranslateNode,
    GetCurrentLanguageBidiNode,
    GetCurrentLanguageNode,
    TranslateNode,
)
from django.utils import translation

logger = logging.getLogger(__name__)

_MARK = re.compile("\x1e(\\d+)([re])\x1f")


class _Slot(str):
    """The marker for value number n: itself where autoescaping is off, its __html__ where on
    (``conditional_escape`` asks for __html__), so the skeleton tells which spot was escaped."""

    escaped: str

    def __new__(cls, number: int) -> _Slot:
        slot = super().__new__(cls, f"\x1e{number}r\x1f")
        slot.escaped = f"\x1e{number}e\x1f"
        return slot

    def __html__(self) -> str:
        return self.escaped


class _Skeleton:
    """A rendered skeleton: text parts, and (context key, escaped?) for each value's spot."""

    __slots__ = ("parts",)

    def __init__(self, rendered: str, names: list[str]) -> None:
        self.parts: list[str | tuple[str, bool]] = []
        position = 0
        for found in _MARK.finditer(rendered):
            self.parts.append(rendered[position : found.start()])
            self.parts.append((names[int(found.group(1))], found.group(2) == "e"))
            position = found.end()
        self.parts.append(rendered[position:])

    def fill(self, context: dict[str, Any]) -> str:
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
            else:
                name, escaped = part
                out.append(render_value_in_context(context[name], _ESCAPED if escaped else _RAW))
        return "".join(out)


# What render_value_in_context reads of a context: autoescape (and use_l10n, use_tz: unset).
_ESCAPED, _RAW = Context(autoescape=True), Context(autoescape=False)


class _Plan:
    def __init__(self) -> None:
        self.skeletons: dict[tuple, _Skeleton] = {}


# Django Template object → _Plan, or False when it must always be rendered in full. Weak keys: a
# template reloaded (tests overriding TEMPLATES, a development server) is a new object.
_plans: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def render(template_name: str, context: dict[str, Any]) -> str:
    """``render_to_string(template_name, context)``, the same text, from a skeleton when the
    template allows it (see the module docstring)."""
    loaded: Any = get_template(template_name)  # the backend's wrapper of the cached Template
    template = loaded.template
    plan = _plan(template)
    if plan is None:
        return render_to_string(template_name, context)
    shape = (translation.get_language(), *sorted((k, _value_shape(v)) for k, v in context.items()))
    skeleton = plan.skeletons.get(shape)
    if skeleton is not None:
        return skeleton.fill(context)
    skeleton = _skeleton(template, context)
    full = render_to_string(template_name, context)
    if skeleton.fill(context) != full:
        logger.error(
            "Notice template %s renders differently from its skeleton; rendering it in full",
            template_name,
        )
        with _lock:
            _plans[template] = False
        return full
    with _lock:
        plan.skeletons[shape] = skeleton
    return full


def fillable(template) -> bool:
    """Whether `template` (a django.template.base.Template) is rendered from skeletons."""
    return _plan(template) is not None


def _plan(template) -> _Plan | None:
    """The template's skeletons, or None when it is always rendered in full."""
    plan = _plans.get(template)
    if plan is None:
        engine = template.engine
        plan = _Plan() if _caches_templates(engine) and _fillable(template, engine) else False
        with _lock:
            _plans[template] = plan
    return plan if isinstance(plan, _Plan) else None


def _caches_templates(engine) -> bool:
    # Without the cached loader (development, DEBUG) every get_template is a new object.
    return any(isinstance(loader, CachedLoader) for loader in engine.template_loaders)


def _value_shape(value: Any) -> Any:
    # A truthy value becomes a marker; a falsy one (None, "", 0, [], False) is rendered as it is.
    return True if value else (type(value).__name__, repr(value))


def _skeleton(template, context: dict[str, Any]) -> _Skeleton:
    names = list(context)
    marked = {name: _Slot(n) if value else value for n, (name, value) in enumerate(context.items())}
    return _Skeleton(template.render(Context(marked, autoescape=True)), names)


# --- which templates qualify -------------------------------------------------------------------

_LOGIC = {"and", "or", "not"}


def _fillable(template, engine, seen: frozenset = frozenset()) -> bool:
    if template.origin.name in seen:
        return False
    seen = seen | {template.origin.name}
    try:
        return all(_node_ok(node, engine, seen) for node in template.nodelist)
    except Exception:  # a template the check cannot read: render it in full
        logger.debug("Not fillable: %s", template.origin.name, exc_info=True)
        return False


def _plain(expression) -> bool:
    """A filter expression without filters naming one context key, or a constant."""
    if expression is None:
        return True
    if expression.filters:
        return False
    var = expression.var
    if isinstance(var, str):  # a constant string
        return True
    return var.lookups is None or len(var.lookups) == 1


def _constant(expression) -> bool:
    if expression is None:
        return True
    if expression.filters:
        return False
    var = expression.var
    return isinstance(var, str) or var.lookups is None


def _condition_ok(condition) -> bool:
    if condition is None:  # else
        return True
    if condition.id == "literal":
        return _plain(condition.value)
    if condition.id not in _LOGIC:
        return False
    return _condition_ok(condition.first) and (
        condition.id == "not" or _condition_ok(condition.second)
    )


def _nodes_ok(nodelist, engine, seen) -> bool:
    return all(_node_ok(node, engine, seen) for node in nodelist)


def _node_ok(node: Any, engine, seen) -> bool:
    kind = type(node)
    if kind in (TextNode, LoadNode, CommentNode):
        return True
    if kind in (GetCurrentLanguageNode, GetCurrentLanguageBidiNode):  # the language: in the shape
        return True
    if kind is VariableNode:
        return _plain(node.filter_expression)
    if kind is IfNode:
        return all(
            _condition_ok(condition) and _nodes_ok(nodelist, engine, seen)
            for condition, nodelist in node.conditions_nodelists
        )
    if kind is BlockTranslateNode:
        return (
            not node.plural
            and node.countervar is None
            and node.asvar is None
            and _constant(node.message_context)
            and all(_plain(value) for value in node.extra_context.values())
        )
    if kind is TranslateNode:
        return (
            node.asvar is None
            and _constant(node.filter_expression)
            and _constant(node.message_context)
        )
    if kind in (AutoEscapeControlNode, BlockNode):
        return _nodes_ok(node.nodelist, engine, seen)
    if kind is ExtendsNode:
        if node.parent_name is None or not _constant(node.parent_name):
            return False
        parent = engine.get_template(str(node.parent_name.var))
        return _nodes_ok(node.nodelist, engine, seen) and _fillable(parent, engine, seen)
    if kind is IncludeNode:
        if node.extra_context or node.isolated_context or not _constant(node.template):
            return False
        included = engine.get_template(str(node.template.var))
        return _fillable(included, engine, seen)
    return False
