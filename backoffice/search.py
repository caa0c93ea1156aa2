"""Finding a client from whatever the caller or the bank statement gives staff.

One box takes: a phone number in any format (+86 138-0000-0002, 138 0000 0002), an ID number
(matched through its blind index: the number itself is never stored in the clear), an email, a
name in Chinese, in pinyin (lin lan, LinLan, Lan Lin) or its initials (ll), a margin account
number, a contract number, a ticket number (#5) or a bank reference. Each hit says what it
matched on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts import services as accounts_services
from accounts.kyc_models import KycCase
from accounts.models import User
from accounts.names import pinyin_query
from funds.models import CustodianTransaction
from margin.models import MarginAccount, MarginContract
from portal.inputs import nfkc

MAX_RESULTS = 50


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
    elif re.fullmatch(r"[A-Za-z][A-Za-z\s'-]*", text):
        key = pinyin_query(text)
        if len(key) >= 4:
            add(_by_pinyin(key), _("name (pinyin)"))
        if 2 <= len(key) <= 4 and key == compact.casefold():
            add(_by_initials(key), _("name (pinyin initials)"))
    return list(hits.values())[:MAX_RESULTS]


def _by_pinyin(key: str):
    """Clients whose name (as they gave it, or as verified by KYC) reads as ``key`` in pinyin,
    family name first or last: indexed columns kept in step on save (accounts.names)."""
    case_users = KycCase.objects.filter(
        Q(legal_name_pinyin=key) | Q(legal_name_pinyin_given_first=key)
    ).values("user_id")
    return (
        _clients()
        .filter(Q(name_pinyin=key) | Q(name_pinyin_given_first=key) | Q(pk__in=case_users))
        .order_by("pk")
    )


def _by_initials(key: str):
    """Clients whose name's pinyin initials are ``key`` (林岚 → ll)."""
    case_users = KycCase.objects.filter(legal_name_initials=key).values("user_id")
    return _clients().filter(Q(name_initials=key) | Q(pk__in=case_users)).order_by("pk")
