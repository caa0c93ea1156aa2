"""Draft → review → four-eyes approval → schedule within the notice period → in force, once."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone

from audit.models import AuditEntry
from disclosures import selectors, services
from disclosures.models import ChangeNotice, DocumentKind, VersionStatus
from disclosures.signals import version_in_force_changed
from notices.models import Notification
from tests.disclosures.factories import (
    approved_change,
    days_from_now,
    document,
    fees,
    in_force,
    staff,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
Error = services.DisclosureError


def test_a_new_draft_copies_the_version_in_force(compliance_frank, fees_v1):
    draft = services.version_draft_create(actor=compliance_frank, document=fees_v1.document)
    assert draft.number == 2 and draft.status == VersionStatus.DRAFT
    assert draft.text_zh == fees_v1.text_zh
    assert [(i.code, i.value) for i in draft.items.all()] == [
        (i.code, i.value) for i in fees_v1.items.all()
    ]


def test_a_draft_needs_both_summaries_before_review(compliance_frank, fees_v1):
    draft = services.version_draft_create(actor=compliance_frank, document=fees_v1.document)
    with pytest.raises(Error, match="summary"):
        services.version_submit(actor=compliance_frank, version=draft)


def test_the_maker_cannot_approve_their_own_change(compliance_frank, fees_v1):
    draft = services.version_draft_create(
        actor=compliance_frank, document=fees_v1.document, summary_zh="改", summary_en="change"
    )
    services.version_submit(actor=compliance_frank, version=draft)
    with pytest.raises(Error, match="second compliance officer"):
        services.version_approve(actor=compliance_frank, version=draft)


def test_an_agent_cannot_approve(compliance_frank, agent_carol, fees_v1):
    draft = services.version_draft_create(
        actor=compliance_frank, document=fees_v1.document, summary_zh="改", summary_en="change"
    )
    services.version_submit(actor=compliance_frank, version=draft)
    with pytest.raises(Error, match="not allowed"):
        services.version_approve(actor=agent_carol, version=draft)


def test_an_agent_cannot_void_an_approval_by_sending_it_back(
    compliance_frank, compliance_grace, agent_carol, fees_v1
):
    version = approved_change(maker=compliance_frank, checker=compliance_grace)
    with pytest.raises(Error, match="not allowed"):
        services.version_return_to_draft(actor=agent_carol, version=version, reason="x")
    version.refresh_from_db()
    assert version.status == VersionStatus.IN_REVIEW and version.approved_by == compliance_grace


def test_an_unapproved_version_cannot_be_scheduled(compliance_frank, fees_v1):
    draft = services.version_draft_create(
        actor=compliance_frank, document=fees_v1.document, summary_zh="改", summary_en="change"
    )
    services.version_submit(actor=compliance_frank, version=draft)
    with pytest.raises(Error, match="approved"):
        services.version_schedule(
            actor=compliance_frank, version=draft, effective_at=days_from_now(40)
        )


def test_a_fee_increase_is_refused_at_10_days_and_accepted_at_30(
    compliance_frank, compliance_grace, fees_v1
):
    version = approved_change(
        maker=compliance_frank, checker=compliance_grace, items=fees(tier2="0.086000")
    )
    now = timezone.now()
    with pytest.raises(Error, match="at least 30 days"):
        services.version_schedule(
            actor=compliance_frank, version=version, effective_at=now + timedelta(days=10), now=now
        )
    with pytest.raises(Error, match="30 days"):
        services.version_schedule(
            actor=compliance_frank,
            version=version,
            effective_at=now + timedelta(days=30) - timedelta(seconds=1),
            now=now,
        )
    version.refresh_from_db()
    assert version.status == VersionStatus.IN_REVIEW  # nothing half-written
    services.version_schedule(
        actor=compliance_frank, version=version, effective_at=now + timedelta(days=30), now=now
    )
    version.refresh_from_db()
    assert version.status == VersionStatus.SCHEDULED
    assert (version.notice_days, version.favourable) == (30, False)
    assert version.content_hash == version.compute_hash()
    assert version.published_at == now


def test_a_text_change_needs_seven_days(compliance_frank, compliance_grace):
    in_force(DocumentKind.TERMS)
    version = approved_change(
        maker=compliance_frank,
        checker=compliance_grace,
        kind=DocumentKind.TERMS,
        text_zh="新条款",
        text_en="New terms",
    )
    now = timezone.now()
    with pytest.raises(Error, match="7 days"):
        services.version_schedule(
            actor=compliance_frank, version=version, effective_at=now + timedelta(days=6), now=now
        )
    services.version_schedule(
        actor=compliance_frank, version=version, effective_at=now + timedelta(days=7), now=now
    )


def test_a_change_entirely_in_the_clients_favour_applies_at_once(
    compliance_frank, compliance_grace, fees_v1
):
    client = UserFactory()
    received = []
    version_in_force_changed.connect(
        lambda **kw: received.append(kw), weak=False, dispatch_uid="t1"
    )
    try:
        version = approved_change(
            maker=compliance_frank,
            checker=compliance_grace,
            items=fees(tier2="0.080000", withdrawal="0.00"),
        )
        services.version_schedule(
            actor=compliance_frank, version=version, effective_at=timezone.now()
        )
    finally:
        version_in_force_changed.disconnect(dispatch_uid="t1")
    version.refresh_from_db()
    fees_v1.refresh_from_db()
    assert version.status == VersionStatus.IN_FORCE and version.favourable is True
    assert fees_v1.status == VersionStatus.SUPERSEDED
    assert selectors.financing_rate_in_force(2).value == D("0.080000")
    assert [(r["kind"], r["old_version"], r["new_version"]) for r in received] == [
        (DocumentKind.FEE_SCHEDULE, fees_v1, version)
    ]
    # Still announced, so the client knows their fee went down.
    assert ChangeNotice.objects.filter(client=client, version=version).count() == 1


def test_scheduling_notifies_every_client_once_on_every_channel(
    compliance_frank, compliance_grace, fees_v1
):
    alice = UserFactory(phone="13800000001")
    bob = UserFactory(language="en", phone="13800000002")
    version = approved_change(
        maker=compliance_frank, checker=compliance_grace, items=fees(tier2="0.086000")
    )
    services.version_schedule(
        actor=compliance_frank, version=version, effective_at=days_from_now(31)
    )
    assert set(ChangeNotice.objects.filter(version=version).values_list("client", flat=True)) == {
        alice.pk,
        bob.pk,
    }  # staff are not clients
    for client in (alice, bob):
        rows = Notification.objects.filter(recipient=client, key="disclosure_change")
        assert sorted(rows.values_list("channel", flat=True)) == ["email", "inapp", "sms"]
    context = Notification.objects.filter(recipient=bob).first().context
    assert context["diff_url"].endswith(
        f"/disclosures/changes/{version.change_notices.get(client=bob).pk}/"
    )


def test_a_second_change_takes_effect_after_the_one_it_starts_from(
    compliance_frank, compliance_grace, fees_v1
):
    first = approved_change(
        maker=compliance_frank, checker=compliance_grace, items=fees(tier2="0.09")
    )
    services.version_schedule(actor=compliance_frank, version=first, effective_at=days_from_now(31))
    second = approved_change(
        maker=compliance_frank, checker=compliance_grace, items=fees(tier2="0.1")
    )
    assert second.base == first
    with pytest.raises(Error, match="must take effect after it"):
        services.version_schedule(
            actor=compliance_frank, version=second, effective_at=days_from_now(30.5)
        )
    services.version_schedule(
        actor=compliance_frank, version=second, effective_at=days_from_now(62)
    )


def test_the_switch_happens_exactly_once_and_is_safe_to_run_twice(
    compliance_frank, compliance_grace, fees_v1
):
    received = []
    version_in_force_changed.connect(
        lambda **kw: received.append(kw), weak=False, dispatch_uid="t2"
    )
    try:
        version = approved_change(
            maker=compliance_frank, checker=compliance_grace, items=fees(tier2="0.086000")
        )
        now = timezone.now()
        effective = now + timedelta(days=30)
        services.version_schedule(
            actor=compliance_frank, version=version, effective_at=effective, now=now
        )
        assert services.versions_switch_due(now=effective - timedelta(seconds=1)) == []
        assert selectors.financing_rate_in_force(2).value == D("0.083500")
        assert services.versions_switch_due(now=effective) == [version]
        assert services.versions_switch_due(now=effective + timedelta(minutes=1)) == []
    finally:
        version_in_force_changed.disconnect(dispatch_uid="t2")
    assert len(received) == 1
    quote = selectors.financing_rate_in_force(2)
    assert (quote.value, quote.version) == (D("0.086000"), version)
    assert quote.reference == "fee_schedule v2 financing_rate_tier2"
    assert AuditEntry.objects.filter(action="disclosures.in_force").count() == 1


def test_rates_at_a_past_time_come_from_the_version_effective_then(
    compliance_frank, compliance_grace, fees_v1
):
    version = approved_change(
        maker=compliance_frank, checker=compliance_grace, items=fees(tier2="0.086000")
    )
    now = timezone.now()
    effective = now + timedelta(days=30)
    services.version_schedule(
        actor=compliance_frank, version=version, effective_at=effective, now=now
    )
    services.versions_switch_due(now=effective)
    assert selectors.financing_rate_in_force(2, at=effective - timedelta(days=1)).value == D(
        "0.0835"
    )
    assert selectors.financing_rate_in_force(2, at=effective).version == version
    assert selectors.version_in_force(DocumentKind.FEE_SCHEDULE, at=now).number == 1


def test_an_unknown_fee_code_is_an_error_not_a_zero(fees_v1):
    with pytest.raises(selectors.FeeItemNotFound):
        selectors.fee_item_in_force("no_such_fee")


def test_the_reminder_goes_once_to_those_who_have_not_answered(
    compliance_frank, compliance_grace, fees_v1
):
    silent, answered = UserFactory(), UserFactory()
    version = approved_change(
        maker=compliance_frank, checker=compliance_grace, items=fees(tier2="0.086000")
    )
    now = timezone.now()
    effective = now + timedelta(days=30)
    version = services.version_schedule(
        actor=compliance_frank, version=version, effective_at=effective, now=now
    )
    notice = version.change_notices.get(client=answered)
    services.change_acknowledge(
        user=answered,
        notice_id=notice.pk,
        decision="accepted",
        shown_hash=version.content_hash,
        language="zh-hans",
        ip_address="127.0.0.1",
        user_agent="pytest",
    )
    assert services.reminders_send_due(now=effective - timedelta(days=4)) == 0
    assert services.reminders_send_due(now=effective - timedelta(days=3)) == 1
    assert services.reminders_send_due(now=effective - timedelta(days=2)) == 0
    reminders = Notification.objects.filter(key="disclosure_reminder")
    assert set(reminders.values_list("recipient", flat=True)) == {silent.pk}
    assert reminders.count() == 3  # email, SMS and in-app, once each


def test_staff_are_not_notified(compliance_frank, compliance_grace, fees_v1):
    staff("agent")
    version = approved_change(
        maker=compliance_frank, checker=compliance_grace, items=fees(tier2="0.09")
    )
    services.version_schedule(
        actor=compliance_frank, version=version, effective_at=days_from_now(31)
    )
    assert not ChangeNotice.objects.filter(client__is_staff=True).exists()


def test_every_step_is_in_the_audit_trail(compliance_frank, compliance_grace, fees_v1):
    version = approved_change(
        maker=compliance_frank, checker=compliance_grace, items=fees(tier2="0.09")
    )
    services.version_schedule(
        actor=compliance_frank, version=version, effective_at=days_from_now(31)
    )
    actions = list(
        AuditEntry.objects.filter(
            object_id=str(version.pk), object_type="disclosures.documentversion"
        )
        .order_by("seq")
        .values_list("action", "actor_repr")
    )
    assert actions == [
        ("disclosures.draft", compliance_frank.email),
        ("disclosures.submit", compliance_frank.email),
        ("disclosures.approve", compliance_grace.email),
        ("disclosures.publish", compliance_frank.email),
    ]


def test_first_version_publishes_at_once_without_notices(compliance_frank, compliance_grace):
    UserFactory()
    version = services.version_draft_create(
        actor=compliance_frank, document=document(DocumentKind.PRIVACY), text_zh="隐私", text_en="P"
    )
    services.version_submit(actor=compliance_frank, version=version)
    services.version_approve(actor=compliance_grace, version=version)
    services.version_schedule(actor=compliance_frank, version=version, effective_at=timezone.now())
    version.refresh_from_db()
    assert version.status == VersionStatus.IN_FORCE
    assert not ChangeNotice.objects.exists()


def test_the_refusal_is_explained_in_chinese(compliance_frank, compliance_grace, fees_v1):
    from django.utils import translation

    version = approved_change(
        maker=compliance_frank, checker=compliance_grace, items=fees(tier2="0.09")
    )
    with translation.override("zh-hans"), pytest.raises(Error, match="须至少提前 30 天通知客户"):
        services.version_schedule(
            actor=compliance_frank, version=version, effective_at=days_from_now(10)
        )


def test_each_client_reads_the_notice_in_their_language(
    compliance_frank, compliance_grace, fees_v1, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr("disclosures.tasks.render_version_pdfs.delay", lambda version_id: None)
    alice = UserFactory(phone="13800000001")
    bob = UserFactory(language="en", phone="13800000002")
    version = approved_change(
        maker=compliance_frank, checker=compliance_grace, items=fees(tier2="0.09")
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.version_schedule(
            actor=compliance_frank, version=version, effective_at=days_from_now(31)
        )
    alice_mail = Notification.objects.get(recipient=alice, channel="email")
    bob_sms = Notification.objects.get(recipient=bob, channel="sms")
    assert alice_mail.status == "sent"
    assert alice_mail.subject.startswith("变更公告：《收费标准》v2")
    assert "二档利率上调。" in alice_mail.body and "/disclosures/changes/" in alice_mail.body
    assert bob_sms.body.startswith(
        "【旺润】Fee schedule v2 changes from"
    )  # the registered signature


def test_the_sweep_command_switches_and_is_safe_to_repeat(
    compliance_frank, compliance_grace, fees_v1, settings
):
    from io import StringIO

    from django.core.management import call_command

    version = approved_change(
        maker=compliance_frank, checker=compliance_grace, items=fees(tier2="0.09")
    )
    services.version_schedule(
        actor=compliance_frank, version=version, effective_at=days_from_now(31)
    )
    settings.DEBUG = True
    at = timezone.localtime(days_from_now(32)).strftime("%Y-%m-%d %H:%M")
    out = StringIO()
    call_command("disclosures_sweep", "--at", at, stdout=out)
    call_command("disclosures_sweep", "--at", at, stdout=out)
    assert out.getvalue().count("in force: fee_schedule v2") == 1
    assert selectors.financing_rate_in_force(2).value == D("0.09")


def test_a_version_edited_after_approval_cannot_be_scheduled(
    compliance_frank, compliance_grace, fees_v1
):
    version = approved_change(
        maker=compliance_frank, checker=compliance_grace, items=fees(tier2="0.09")
    )
    version.items.filter(code="financing_rate_tier3").update(value=D("0.20"))
    with pytest.raises(Error, match="changed after it was approved"):
        services.version_schedule(
            actor=compliance_frank, version=version, effective_at=days_from_now(31)
        )
