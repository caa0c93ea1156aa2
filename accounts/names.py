"""A Chinese name as staff type it on a Latin keyboard: its pinyin, family name first or last,
and its initials. Stored beside the name when it is saved, so search is an indexed lookup
(backoffice.search) instead of converting every client's name on each query."""

from __future__ import annotations

from typing import NamedTuple

from pypinyin import Style, lazy_pinyin

from portal.inputs import nfkc


class NamePinyin(NamedTuple):
    full: str  # 林岚 → "linlan"
    given_first: str  # 林岚 → "lanlin" (as a name is written in Latin script)
    initials: str  # 林岚 → "ll"


def name_pinyin(name: str) -> NamePinyin:
    """The pinyin forms of ``name``, lower case, letters only; empty for an empty name. Latin
    letters in the name are kept as they are (a name written in pinyin reads as itself)."""
    syllables = [_letters(s) for s in lazy_pinyin(nfkc(name or "").strip())]
    syllables = [s for s in syllables if s]
    if not syllables:
        return NamePinyin("", "", "")
    first_letters = [_letters(s) for s in lazy_pinyin(name, style=Style.FIRST_LETTER)]
    return NamePinyin(
        full="".join(syllables)[:120],
        given_first="".join(syllables[1:] + syllables[:1])[:120],
        initials="".join(s[:1] for s in first_letters if s)[:30],
    )


def pinyin_query(text: str) -> str:
    """What staff typed ("Lin Lan", "lin-lan", "LINLAN", "ll") as a stored form compares."""
    return _letters(nfkc(text))


def _letters(text: str) -> str:
    return "".join(ch for ch in text.casefold() if "a" <= ch <= "z")
