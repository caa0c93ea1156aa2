"""Staff read the back office in Chinese: every demo staff role opens the admin index, every list
it may read and the newest rows of each, in zh-Hans, and no page shows a raw code or English
where a word belongs (column headers, check names, scenario slugs, level keys, durations as
"2d 3h" or "1 day, 0:00:00", role names, audit action keys, notice template keys).

Data typed by people (a client's English ticket subject, an instrument's English name, the English
text of a disclosure) is data, not interface, and is not looked for.
"""

import re
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import NoReverseMatch, reverse

from accounts.demo import STAFF
from accounts.models import User
from accounts.roles import ROLES
from audit.labels import ACTION_LABELS
from notices.registry import all_notice_types
from portal import demo

pytestmark = pytest.mark.django_db
ROWS_PER_MODEL = 3

# Raw tokens a Chinese page must not show, as regular expressions over the visible text.
RAW = [
    r"\bPk\b",
    r"\bLabel\b",
    r"\bSeq\b",
    r"\bIs pep\b",
    r"\bMasked number\b",
    r"\bModel name\b",
    r"\bAdd link\b",
    r"\bchecksum and age\b",
    r"\bother cases:",
    r"possible match\(es\)",
    r"\b(id_number|duplicate_id)\b",
    r"\bmarket-10\b",
    r"\bsector-limit-down-3d\b",
    r"\bno-sells\b",
    r"\b(safe|watch|warning|call|liquidation) →",
    r"→ (safe|watch|warning|call|liquidation)\b",
    r"\b\d+d \d+h\b",
    r"\b\d+ days?, \d+:\d\d:\d\d\b",
    r"\b(kyc_reviewer|risk_officer)\b",
    r"\b(CREDIT|DEBIT)\b",
    r"\b(banks|technology|new_energy|healthcare|liquor|telecom|industrials)\b",
    r"\bPortal\b",
    # Audit object types and action keys: accounts.kyccase, kyc.document_uploaded ...
    r"\b(accounts|audit|disclosures|education|funds|margin|notices|support|portal)\.[a-z]+\b",
    *(re.escape(action) + r"\b" for action in ACTION_LABELS),
]


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hidden = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "textarea"):
            self.hidden += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style", "textarea"):
            self.hidden -= 1

    def handle_data(self, data):
        if not self.hidden and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str) -> list[str]:
    parser = _VisibleText()
    parser.feed(html)
    return parser.parts


def raw_tokens(texts: list[str], patterns: list[re.Pattern]) -> set[str]:
    found = set()
    for text in texts:
        for pattern in patterns:
            match = pattern.search(text)
            if match:
                found.add(match.group(0))
    return found


def admin_pages() -> list[str]:
    urls = ["/admin/", reverse("admin:margin_marginaccount_stress")]
    urls.append(reverse("backoffice:search") + "?q=%E6%9E%97")  # 林
    clients = User.objects.filter(is_staff=False).order_by("pk").values_list("pk", flat=True)
    urls += [reverse("backoffice:client", args=[pk]) for pk in clients]
    for model in admin.site._registry:
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        try:
            urls.append(reverse(f"{prefix}_changelist"))
        except NoReverseMatch:
            continue
        rows = model._default_manager.order_by("-pk").values_list("pk", flat=True)
        urls += [reverse(f"{prefix}_change", args=[pk]) for pk in rows[:ROWS_PER_MODEL]]
    return urls


def chinese_staff_browser(email: str) -> Client:
    browser = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    browser.cookies["django_language"] = "zh-hans"
    browser.force_login(User.objects.get(email=email))
    return browser


@pytest.fixture
def demo_world(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        demo.seed()


def test_every_role_reads_the_admin_without_raw_codes_or_english_labels(demo_world):
    notice_keys = [t.key for t in all_notice_types()]
    patterns = [re.compile(p) for p in RAW]
    # An idempotency key (gate_confirmation:7:inapp) is an identifier, not a label.
    patterns += [re.compile(rf"(?<![\w-]){re.escape(key)}(?![\w:-])") for key in notice_keys]
    urls = admin_pages()
    problems, pages_read = [], 0
    for role in ROLES:
        email = next(person.email for person in STAFF if person.role == role)
        browser = chinese_staff_browser(email)
        for url in urls:
            response = browser.get(url)
            if response.status_code != 200:
                continue
            pages_read += 1
            html = response.content.decode()
            assert '<html lang="zh-hans"' in html, url
            found = raw_tokens(visible_text(html), patterns)
            title = re.search(r"<title>(.*?)</title>", html, re.S)
            disclosure_page = url.startswith("/admin/disclosures/")
            if disclosure_page and title is not None and "证件" in title.group(1):
                found.add("证件 (a disclosure is a 文件)")
            if found:
                problems.append(f"[{role}] {url}: {sorted(found)}")
    assert pages_read > 200
    assert not problems, "\n".join(problems)


def test_amounts_show_yuan_with_separators_and_ratios_as_percentages(demo_world):
    erin = chinese_staff_browser("erin@demo.wangrun.test")
    withdrawals = erin.get(reverse("admin:funds_withdrawalrequest_changelist"))
    assert "¥80,000.00" in withdrawals.content.decode()  # 周游's withdrawal awaiting approval
    accounts = erin.get(reverse("admin:margin_marginaccount_changelist")).content.decode()
    assert re.search(r"\b1\d\d\.\d\d%", accounts)  # a maintenance ratio such as 147.32%
    assert re.search(r"¥\d{1,3}(,\d{3})+\.\d\d", accounts)


def test_durations_read_as_days_and_hours_in_chinese(demo_world):
    carol = chinese_staff_browser("carol@demo.wangrun.test")
    policies = carol.get(reverse("admin:support_slapolicy_changelist")).content.decode()
    assert "1天" in policies and "3天8小时" in policies
