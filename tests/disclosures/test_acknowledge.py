"""A client accepts or keeps the old terms; the evidence says who, what, when, where and what was
on the screen. Nobody can answer for a version that is not published or not theirs."""

import pytest
from django.utils import timezone

from disclosures import selectors, services
from disclosures.models import Acknowledgement, ChangeNotice, DocumentKind
from tests.disclosures.factories import approved_change, days_from_now, fees, in_force
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def change(compliance_frank, compliance_grace, fees_v1, client_alice, client_bob):
    version = approved_change(
        maker=compliance_frank, checker=compliance_grace, items=fees(tier2="0.086000")
    )
    return services.version_schedule(
        actor=compliance_frank, version=version, effective_at=days_from_now(30.5)
    )


def answer(user, notice, decision="accepted", shown_hash=None):
    return services.change_acknowledge(
        user=user,
        notice_id=notice.pk,
        decision=decision,
        shown_hash=shown_hash or notice.version.content_hash,
        language=user.language,
        ip_address="203.0.113.7",
        user_agent="Mozilla/5.0 test",
    )


def test_accepting_records_who_what_when_where_and_what_was_shown(change, client_alice):
    notice = ChangeNotice.objects.get(client=client_alice, version=change)
    ack = answer(client_alice, notice)
    assert (ack.client, ack.version, ack.decision) == (client_alice, change, "accepted")
    assert ack.content_hash == change.content_hash
    assert (ack.ip_address, ack.user_agent) == ("203.0.113.7", "Mozilla/5.0 test")
    assert ack.acknowledged_at <= timezone.now()
    shown = ack.displayed
    assert shown["content_hash"] == change.content_hash
    assert shown["previous_content_hash"] == notice.previous_version.content_hash
    assert shown["language"] == "zh-hans" and shown["summary"] == change.summary_zh
    assert len(shown["diff_sha256"]) == 64
    assert {"code": "financing_rate_tier2", "old": "0.083500", "new": "0.086000"} in shown["items"]


def test_a_client_cannot_answer_a_notice_that_is_not_theirs(change, client_alice, client_bob):
    alices = ChangeNotice.objects.get(client=client_alice, version=change)
    with pytest.raises(services.NotYours):
        answer(client_bob, alices)
    assert not Acknowledgement.objects.exists()


def test_a_client_cannot_answer_for_a_version_not_yet_scheduled(
    compliance_frank, compliance_grace, fees_v1, client_alice
):
    draft = approved_change(
        maker=compliance_frank, checker=compliance_grace, items=fees(tier2="0.09")
    )
    # Even with a notice row (there is never one before scheduling), the status decides.
    notice = ChangeNotice.objects.create(
        client=client_alice, version=draft, previous_version=fees_v1
    )
    with pytest.raises(services.DisclosureError, match="cannot be acknowledged"):
        answer(client_alice, notice, shown_hash=draft.compute_hash())


def test_a_stale_page_is_refused(change, client_alice):
    notice = ChangeNotice.objects.get(client=client_alice, version=change)
    with pytest.raises(services.DisclosureError, match="out of date"):
        answer(client_alice, notice, shown_hash="0" * 64)


def test_accepting_twice_is_refused(change, client_alice):
    notice = ChangeNotice.objects.get(client=client_alice, version=change)
    answer(client_alice, notice)
    with pytest.raises(services.DisclosureError, match="already accepted"):
        answer(client_alice, notice)
    with pytest.raises(services.DisclosureError, match="already accepted"):
        answer(client_alice, notice, "declined")


def test_a_decliner_keeps_the_old_version_and_may_close_without_a_fee(change, client_bob):
    fees_v1 = ChangeNotice.objects.get(client=client_bob, version=change).previous_version
    Acknowledgement.objects.create(
        client=client_bob, version=fees_v1, decision="accepted", content_hash=fees_v1.content_hash
    )
    notice = ChangeNotice.objects.get(client=client_bob, version=change)
    answer(client_bob, notice, "declined")
    assert selectors.accepted_version(client_bob, DocumentKind.FEE_SCHEDULE) == fees_v1
    assert selectors.may_close_without_fee(client_bob) is True
    assert selectors.banner_notices(user=client_bob) == []  # answered, so no banner
    # ...and may change their mind later, which ends the fee-free exit.
    answer(client_bob, notice, "accepted")
    assert selectors.may_close_without_fee(client_bob) is False
    assert selectors.accepted_version(client_bob, DocumentKind.FEE_SCHEDULE) == change


def test_new_financing_needs_the_versions_in_force_accepted(change, client_alice):
    terms = in_force(DocumentKind.TERMS)
    contract = in_force(DocumentKind.MARGIN_CONTRACT)
    fees_v1 = selectors.version_in_force(DocumentKind.FEE_SCHEDULE)
    assert selectors.may_open_financing(client_alice) is False
    for version in (terms, contract, fees_v1):
        services.version_accept(
            user=client_alice, version=version, displayed={}, ip_address=None, user_agent=""
        )
    assert selectors.may_open_financing(client_alice) is True
    services.versions_switch_due(now=change.effective_at)
    # The fee schedule changed: new financing waits for acceptance of v2.
    assert selectors.may_open_financing(client_alice) is False
    with pytest.raises(services.DisclosureError):
        services.version_accept(
            user=client_alice, version=fees_v1, displayed={}, ip_address=None, user_agent=""
        )


def test_the_banner_lists_unanswered_changes_only(change, client_alice):
    assert [n.version for n in selectors.banner_notices(user=client_alice)] == [change]
    answer(client_alice, ChangeNotice.objects.get(client=client_alice, version=change))
    assert selectors.banner_notices(user=client_alice) == []


def test_a_client_who_joined_after_the_announcement_has_no_notice(change):
    late = UserFactory()
    assert selectors.banner_notices(user=late) == []
