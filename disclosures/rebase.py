"""Three-way merge of a draft onto the version that has become the latest since it was drafted.

A draft records what it changed against its base. Rebasing replays exactly those changes on the
new latest version, so what the newer version changed (rates, lines, text) is kept rather than
silently reverted. Where both changed the same lines of a text, or the same item differently,
nothing is guessed: the rebase is refused and names what collides.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import TypeVar

T = TypeVar("T", bound=Hashable)


@dataclass
class Merged:
    texts: dict[str, str] = field(default_factory=dict)
    items: list = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)


def _matches(base: list[str], other: list[str]) -> dict[int, int]:
    matcher = SequenceMatcher(None, base, other, autojunk=False)
    return {
        block.a + offset: block.b + offset
        for block in matcher.get_matching_blocks()
        for offset in range(block.size)
    }


def merge_text(base: str, ours: str, theirs: str) -> str | None:
    """Line by line, diff3 style; None when both sides changed the same stretch differently."""
    if ours in (base, theirs):
        return theirs
    if theirs == base:
        return ours
    b, o, t = base.split("\n"), ours.split("\n"), theirs.split("\n")
    in_ours, in_theirs = _matches(b, o), _matches(b, t)
    # Lines of the base kept by both sides anchor the merge; between anchors each side's stretch
    # is taken if only that side changed it.
    anchors = [
        (i, in_ours[i], in_theirs[i]) for i in range(len(b)) if i in in_ours and i in in_theirs
    ]
    anchors.append((len(b), len(o), len(t)))
    out: list[str] = []
    bi = oi = ti = 0
    for ab, ao, at in anchors:
        chunk_b, chunk_o, chunk_t = b[bi:ab], o[oi:ao], t[ti:at]
        if chunk_o == chunk_b:
            out.extend(chunk_t)
        elif chunk_t == chunk_b or chunk_o == chunk_t:
            out.extend(chunk_o)
        else:
            return None
        if ab < len(b):
            out.append(b[ab])
        bi, oi, ti = ab + 1, ao + 1, at + 1
    return "\n".join(out)


def merge_items(
    base: Mapping[str, T], ours: Mapping[str, T], theirs: Mapping[str, T]
) -> tuple[list[T], list[str]]:
    """Items by code: the draft's change where it made one, the newer version's otherwise.

    Returns the merged items (in the newer version's order, then the draft's additions) and the
    codes both changed differently.
    """
    merged: list[T] = []
    conflicts: list[str] = []
    for code in dict.fromkeys([*theirs, *ours, *base]):
        b, o, t = base.get(code), ours.get(code), theirs.get(code)
        if o == b:
            chosen = t
        elif t == b or o == t:
            chosen = o
        else:
            conflicts.append(code)
            continue
        if chosen is not None:
            merged.append(chosen)
    return merged, conflicts


def merge(
    *,
    base_texts: Mapping[str, str],
    our_texts: Mapping[str, str],
    their_texts: Mapping[str, str],
    base_items: Mapping[str, T],
    our_items: Mapping[str, T],
    their_items: Mapping[str, T],
) -> Merged:
    result = Merged()
    for name, ours in our_texts.items():
        text = merge_text(base_texts.get(name, ""), ours, their_texts.get(name, ""))
        if text is None:
            result.conflicts.append(name)
        else:
            result.texts[name] = text
    result.items, conflicts = merge_items(base_items, our_items, their_items)
    result.conflicts.extend(conflicts)
    return result
