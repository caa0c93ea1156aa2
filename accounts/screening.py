"""Sanctions and PEP screening against a local list in OpenSanctions `targets.simple.csv` format.

Names are compared as keys: lower-case Latin tokens, accents removed, sorted (so "LIN Lan" and
"Lan Lin" meet), and Chinese characters turned into pinyin first (林岚 → "lan lin"). Candidates
come from an indexed key table, never by scanning the list; a birth date on both sides that
disagrees rules a candidate out.
"""

import csv
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.db import transaction
from pypinyin import lazy_pinyin

from accounts.models import SanctionEntry, SanctionNameKey

CSV_COLUMNS = ("id", "schema", "name", "aliases", "birth_date", "countries", "dataset")
_HAN = re.compile(r"[\u3400-\u9fff]")
_TOKEN = re.compile(r"[a-z0-9]+")
NAME_POINTS = 70
BIRTH_DATE_POINTS = 30


def name_keys(name: str) -> set[str]:
    """Every key a name can be matched by: its Latin spelling, and its pinyin if it has Hanzi."""
    keys: set[str] = set()
    text = (name or "").strip()
    if not text:
        return keys
    if _HAN.search(text):
        keys.add(_latin_key(" ".join(lazy_pinyin(text))))
        keys.add("han:" + re.sub(r"\s+", "", text))
    keys.add(_latin_key(text))
    return {k for k in keys if k and k != "han:"}


def _latin_key(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    tokens = _TOKEN.findall(folded)
    # Pinyin given names are often written joined or apart ("Xiaoming" / "Xiao Ming"); joining
    # all tokens after sorting would lose word order tolerance, so keep sorted tokens joined.
    return " ".join(sorted(tokens))


def _split(value: str) -> list[str]:
    return [part.strip() for part in (value or "").split(";") if part.strip()]


@dataclass(frozen=True)
class ImportResult:
    entries: int
    keys: int


@transaction.atomic
def import_csv(lines: Iterable[str]) -> ImportResult:
    """Replace the local list with the rows of a targets.simple.csv export (persons only)."""
    reader = csv.DictReader(lines)
    missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(f"Not a targets.simple.csv file: missing columns {missing}.")
    SanctionNameKey.objects.all().delete()
    SanctionEntry.objects.all().delete()
    entries, keys = 0, 0
    batch: list[tuple[SanctionEntry, set[str]]] = []
    for row in reader:
        if row.get("schema") != "Person":
            continue
        datasets = row.get("dataset") or ""
        sanctioned = bool(row.get("sanctions")) or "sanction" in datasets.lower()
        entry = SanctionEntry(
            entity_id=row["id"][:200],
            schema=row["schema"],
            name=row["name"][:500],
            aliases=(row.get("aliases") or "")[:10000],
            birth_dates=(row.get("birth_date") or "")[:200],
            countries=(row.get("countries") or "")[:200],
            datasets=datasets[:500],
            is_pep="pep" in datasets.lower() or "role.pep" in (row.get("topics") or ""),
            is_sanctioned=sanctioned,
        )
        names = [row["name"], *_split(row.get("aliases") or "")]
        batch.append((entry, set().union(*(name_keys(n) for n in names))))
        if len(batch) >= 2000:
            k = _flush(batch)
            entries, keys, batch = entries + len(batch), keys + k, []
    k = _flush(batch)
    return ImportResult(entries=entries + len(batch), keys=keys + k)


def _flush(batch: list[tuple[SanctionEntry, set[str]]]) -> int:
    if not batch:
        return 0
    created = SanctionEntry.objects.bulk_create([entry for entry, _ in batch])
    rows = [
        SanctionNameKey(entry=entry, key=key[:300])
        for entry, (_, keys) in zip(created, batch, strict=True)
        for key in keys
    ]
    SanctionNameKey.objects.bulk_create(rows)
    return len(rows)


@dataclass(frozen=True)
class Match:
    entry: SanctionEntry
    kind: str
    score: int
    matched_on: str


def screen(*, name: str, birth_date: date | None) -> list[Match]:
    """Possible matches for a person, each with its score and the reason it matched."""
    keys = name_keys(name)
    if not keys:
        return []
    candidates = (
        SanctionEntry.objects.filter(keys__key__in=keys).distinct().prefetch_related("keys")
    )
    matches = []
    for entry in candidates:
        matched_key = next(k.key for k in entry.keys.all() if k.key in keys)
        listed_dates = [d[:10] for d in _split(entry.birth_dates)]
        score = NAME_POINTS
        detail = f"name “{matched_key.removeprefix('han:')}”"
        if birth_date is not None and listed_dates:
            ours = birth_date.isoformat()
            if any(ours.startswith(d) or d.startswith(ours) for d in listed_dates):
                score += BIRTH_DATE_POINTS
                detail += f" + birth date {ours}"
            else:
                continue  # same name, different person
        kind = "sanction" if entry.is_sanctioned or not entry.is_pep else "pep"
        matches.append(Match(entry=entry, kind=kind, score=score, matched_on=detail))
    return sorted(matches, key=lambda m: -m.score)
