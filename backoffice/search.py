"""Finding a client from whatever the caller or the bank statement gives staff.

One box takes: a phone number in any format (+86 138-0000-0002, 138 0000 0002), an ID number
(matched through its blind index: the number itself is never stored in the clear), an email, a
name in Chinese or in pinyin (lin lan, LinLan, Lan Lin), a margin account number, a contract
number, a ticket number (#5) or a bank reference. Each hit says what it matched on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from pypinyin import lazy_pinyin

from accounts import services as accounts_services
from accounts.kyc_models import KycCase
from accounts.models import User
from funds.models import CustodianTransaction
from margin.models import MarginAccount, MarginContract
from portal.inputs import nfkc

MAX_RESULTS = 50
# Pinyin is compared in Python over the clients' names; past this many names the box asks for
# something more specific (a phone or account number) rather than scanning everyone.
PINYIN_SCAN_LIMIT = 20_000


@dataclass(frozen=True)
class Hit:
    client: User
    matched_on: object  # a translatable label


def _clients() -> object:
    return User.objects.filter(is_staff=False, is_superuser=False)


def _phone_digits(query: str) -> str | None:
    digits = re.sub(r"\D", "", nfkc(query))
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits if len(digits) >= 7 and not re.search(r"[A-Za-z@#]", query) else None


def _pinyin_keys(name: str) -> set[str]:
    """``林岚`` → {"linlan", "lanlin"}: family name first or last, no spaces, lower case."""
    syllables = [s.casefold() for s in lazy_pinyin(name) if s.strip()]
    if not syllables:
        return set()
    keys = {"".join(syllables)}
    if len(syllables) >= 2:
        keys.add("".join(syllables[1:] + syllables[:1]))
    return keys


def find_clients(query: str) -> list[Hit]:
    """Clients matching ``query``, best evidence first, each once."""
    text = nfkc(query).strip()
    if not text:
        return []
    hits: dict[int, Hit] = {}

    def add(users, label) -> None:
        for user in users[:MAX_RESULTS]:
            hits.setdefault(user.pk, Hit(user, label))

    ticket = re.fullmatch(r"#\s*(\d{1,12})", text)
    if ticket:
        add(_clients().filter(support_tickets__pk=int(ticket.group(1))), _("ticket number"))
        return list(hits.values())

    phone = _phone_digits(text)
    if phone:
        add(_clients().filter(phone__endswith=phone), _("phone"))
    compact = re.sub(r"\s+", "", text)
    if re.fullmatch(r"\d{17}[\dXx]|\d{15}", compact):
        index = accounts_services.id_number_index(compact)
        user_ids = KycCase.objects.filter(id_number_index=index).values_list("user_id", flat=True)
        add(_clients().filter(pk__in=user_ids), _("ID number"))
    if "@" in text:
        add(_clients().filter(email__iexact=text), _("email"))
        if not hits:
            add(_clients().filter(email__icontains=text), _("email"))
    number = compact.upper()
    add(
        _clients().filter(
            pk__in=MarginAccount.objects.filter(number__iexact=number).values("client_id")
        ),
        _("account number"),
    )
    add(
        _clients().filter(
            pk__in=MarginContract.objects.filter(number__iexact=number).values("account__client_id")
        ),
        _("contract number"),
    )
    add(
        _clients().filter(
            pk__in=CustodianTransaction.objects.filter(bank_reference__iexact=number).values(
                "margin_account__client_id"
            )
        ),
        _("bank reference"),
    )
    if re.search(r"[\u4e00-\u9fff]", text):
        case_users = KycCase.objects.filter(legal_name__contains=text).values("user_id")
        add(_clients().filter(Q(full_name__contains=text) | Q(pk__in=case_users)), _("name"))
    elif re.fullmatch(r"[A-Za-z][A-Za-z\s'-]*", text) and len(compact) >= 4:
        add(_by_pinyin(compact.casefold().replace("-", "").replace("'", "")), _("name (pinyin)"))
    return list(hits.values())[:MAX_RESULTS]


def _by_pinyin(key: str):
    """Clients whose name (as they gave it, or as verified by KYC) reads as ``key`` in pinyin."""
    names = list(
        _clients().exclude(full_name="").values_list("pk", "full_name")[:PINYIN_SCAN_LIMIT]
    )
    names += list(
        KycCase.objects.exclude(legal_name="").values_list("user_id", "legal_name")[
            :PINYIN_SCAN_LIMIT
        ]
    )
    matched = {pk for pk, name in names if key in _pinyin_keys(name)}
    return _clients().filter(pk__in=matched).order_by("pk")
