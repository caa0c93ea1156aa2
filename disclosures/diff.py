"""Side-by-side comparison of two texts: paragraphs aligned, changed characters highlighted.

Paragraphs (blank-line separated) are matched first; inside a changed pair the characters are
compared, because Chinese has no spaces to split words on and a word diff would mark whole
sentences. Everything is escaped here and marked safe only after escaping.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from difflib import SequenceMatcher

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


@dataclass(frozen=True)
class Row:
    kind: str  # equal, replace, insert, delete
    old: SafeString
    new: SafeString

    @property
    def changed(self) -> bool:
        return self.kind != "equal"


def paragraphs(text: str) -> list[str]:
    blocks = [block.strip() for block in text.replace("\r\n", "\n").split("\n\n")]
    return [block for block in blocks if block]


def _highlight(old: str, new: str) -> tuple[SafeString, SafeString]:
    left: list[str] = []
    right: list[str] = []
    matcher = SequenceMatcher(None, old, new, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            left.append(escape(old[i1:i2]))
            right.append(escape(new[j1:j2]))
            continue
        if i2 > i1:
            left.append(f"<del>{escape(old[i1:i2])}</del>")
        if j2 > j1:
            right.append(f"<ins>{escape(new[j1:j2])}</ins>")
    return mark_safe("".join(left)), mark_safe("".join(right))


def side_by_side(old_text: str, new_text: str) -> list[Row]:
    """Rows of (old, new) paragraphs for a two-column table."""
    old, new = paragraphs(old_text), paragraphs(new_text)
    rows: list[Row] = []
    empty = mark_safe("")
    matcher = SequenceMatcher(None, old, new, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            rows.extend(Row("equal", escape(p), escape(p)) for p in old[i1:i2])
            continue
        left, right = old[i1:i2], new[j1:j2]
        for index in range(max(len(left), len(right))):
            a = left[index] if index < len(left) else None
            b = right[index] if index < len(right) else None
            if a is not None and b is not None:
                rows.append(Row("replace", *_highlight(a, b)))
            elif a is not None:
                rows.append(Row("delete", mark_safe(f"<del>{escape(a)}</del>"), empty))
            else:
                rows.append(Row("insert", empty, mark_safe(f"<ins>{escape(b)}</ins>")))
    return rows


def fingerprint(rows: list[Row]) -> str:
    """A hash of exactly what the comparison showed, kept with an acknowledgement."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(f"{row.kind}\x1f{row.old}\x1f{row.new}\x1e".encode())
    return digest.hexdigest()
