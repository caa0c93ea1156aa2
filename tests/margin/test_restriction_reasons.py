"""The engine's restrictions say why in the reader's language: a code and its figures are stored,
words are made when the reason is shown. Rows written in English before are converted."""

import importlib

import pytest
from django.apps import apps
from django.utils import translation

from margin.models import Instrument, Restriction
from tests.margin.conftest import make_account

pytestmark = pytest.mark.django_db


def test_a_margin_call_restriction_reads_in_chinese_and_english(client_alice):
    account = make_account(client_alice)
    row = Restriction.objects.create(
        account=account,
        kind=Restriction.Kind.REDUCE_ONLY,
        reason_code=Restriction.ReasonCode.MARGIN_CALL,
        reason_params={"ratio": "125.00%"},
    )
    with translation.override("zh-hans"):
        assert row.reason_text() == "维持担保比例 125.00%：追加保证金"
    with translation.override("en"):
        assert row.reason_text() == "Ratio 125.00%: margin call"


def test_an_officers_reason_is_shown_as_typed(client_alice):
    account = make_account(client_alice)
    row = Restriction.objects.create(
        account=account, kind=Restriction.Kind.FROZEN, reason="法院冻结令 2026-118"
    )
    with translation.override("en"):
        assert row.reason_text() == "法院冻结令 2026-118"


def test_english_reasons_written_before_become_codes(client_alice):
    account = make_account(client_alice)
    call = Restriction.objects.create(
        account=account, kind=Restriction.Kind.REDUCE_ONLY, reason="Ratio 125.00%: margin call"
    )
    over = Restriction.objects.create(
        account=account,
        kind=Restriction.Kind.CONCENTRATION,
        instrument=Instrument.objects.get(code="300750.SZ"),
        reason=(
            "300750.SZ is 60.00% of total assets, over the 30.00% concentration limit "
            "(contract Article 4)"
        ),
    )
    migration = importlib.import_module("margin.migrations.0011_restriction_reason_codes")
    migration.codes_for_english_reasons(apps, None)
    call.refresh_from_db()
    over.refresh_from_db()
    assert (call.reason, call.reason_code, call.reason_params) == (
        "",
        "margin_call",
        {"ratio": "125.00%"},
    )
    assert over.reason_params == {"code": "300750.SZ", "share": "60.00%", "limit": "30.00%"}
    with translation.override("zh-hans"):
        assert "300750.SZ" in over.reason_text() and "Article" not in over.reason_text()


def test_the_restriction_list_in_admin_shows_the_reason_in_chinese(client, client_alice):
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from django.contrib.auth.models import Group

    from tests.factories import UserFactory

    account = make_account(client_alice)
    Restriction.objects.create(
        account=account,
        kind=Restriction.Kind.REDUCE_ONLY,
        reason_code=Restriction.ReasonCode.MARGIN_CALL,
        reason_params={"ratio": "125.00%"},
    )
    officer = UserFactory(role="risk_officer")
    officer.groups.add(Group.objects.get(name="risk_officer"))
    TOTP.activate(officer, generate_totp_secret())
    client.force_login(officer)
    page = client.get("/admin/margin/restriction/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "维持担保比例 125.00%：追加保证金" in page and "margin call" not in page
