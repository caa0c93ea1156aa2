from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

import audit
from audit.models import AuditEntry
from audit.services import verify_chain

pytestmark = pytest.mark.django_db


def _run_verify(capsys):
    try:
        call_command("verify_audit_chain")
        code = 0
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out + out.err


def test_each_entry_links_to_the_one_before(client_alice):
    first = audit.record(actor=client_alice, action="kyc.submitted", obj=client_alice)
    second = audit.record(actor=None, action="sweep.ran", data={"n": 3})
    assert second.seq == first.seq + 1
    assert second.prev_hash == first.hash
    assert first.object_type == "accounts.user"
    assert first.object_id == str(client_alice.pk)
    assert second.actor_repr == "system"


def test_stored_data_is_exactly_what_was_hashed(client_alice):
    entry = audit.record(
        actor=client_alice, action="fee.charged", data={"amount": Decimal("12.30"), "b": [1, "二"]}
    )
    entry.refresh_from_db()
    assert entry.data == {"amount": "12.30", "b": [1, "二"]}
    assert entry.compute_hash() == entry.hash


def test_verify_command_reports_ok_with_the_count(capsys, client_alice):
    for i in range(3):
        audit.record(actor=client_alice, action="demo.step", data={"i": i})
    code, out = _run_verify(capsys)
    assert code == 0
    assert out.strip() == "ok 3 entries"


def test_verify_on_an_empty_trail_is_ok(capsys):
    code, out = _run_verify(capsys)
    assert (code, out.strip()) == (0, "ok 0 entries")


def _tamper(sql, params):
    """Change a row behind the service's back, as an attacker with database access would."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_entry_append_only")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER audit_entry_append_only")


def test_verify_names_the_first_edited_entry(capsys, client_alice):
    entries = [audit.record(actor=client_alice, action="step", data={"i": i}) for i in range(4)]
    _tamper("UPDATE audit_auditentry SET action = %s WHERE seq = %s", ["forged", entries[1].seq])
    code, out = _run_verify(capsys)
    assert code == 1
    assert f"broken at entry #{entries[1].seq}" in out
    report = verify_chain()
    assert (report.ok, report.broken_seq) == (False, entries[1].seq)


def test_verify_notices_a_deleted_entry(capsys, client_alice):
    entries = [audit.record(actor=client_alice, action="step", data={"i": i}) for i in range(3)]
    _tamper("DELETE FROM audit_auditentry WHERE seq = %s", [entries[1].seq])
    code, out = _run_verify(capsys)
    assert code == 1
    assert f"#{entries[1].seq}" in out


def test_verify_notices_the_newest_entries_cut_off(capsys, client_alice):
    entries = [audit.record(actor=client_alice, action="step", data={"i": i}) for i in range(3)]
    _tamper("DELETE FROM audit_auditentry WHERE seq = %s", [entries[-1].seq])
    code, out = _run_verify(capsys)
    assert code == 1
    assert "missing" in out


def test_a_rolled_back_transaction_leaves_no_entry(client_alice):
    with pytest.raises(RuntimeError), transaction.atomic():
        audit.record(actor=client_alice, action="will.roll.back")
        raise RuntimeError("boom")
    assert not AuditEntry.objects.exists()
    assert verify_chain().ok


def test_data_that_is_not_json_is_refused(client_alice):
    with pytest.raises(TypeError):
        audit.record(actor=client_alice, action="bad", data={"obj": object()})
    assert not AuditEntry.objects.exists()


@pytest.mark.services
def test_postgres_refuses_update_and_delete_of_an_entry(client_alice):
    assert connection.vendor == "postgresql"
    entry = audit.record(actor=client_alice, action="kyc.approved")
    for sql in (
        "UPDATE audit_auditentry SET action = 'x' WHERE id = %s",
        "DELETE FROM audit_auditentry WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [entry.pk])
    entry.refresh_from_db()
    assert entry.action == "kyc.approved"


def test_a_batch_extends_the_chain_in_order_exactly_as_single_entries_would(capsys, client_alice):
    from audit.services import Entry

    first = audit.record(actor=client_alice, action="demo.step", data={"i": 0})
    batch = audit.record_many(
        [
            Entry(actor="risk engine", action="margin.level_changed", obj=client_alice,
                  data={"ratio": Decimal("1.2900")}),
            Entry(actor=client_alice, action="demo.step", object_type="x", object_id=7),
        ]
    )  # fmt: skip
    last = audit.record(actor=None, action="sweep.ran")
    assert [e.seq for e in batch] == [first.seq + 1, first.seq + 2]
    assert batch[0].prev_hash == first.hash and batch[1].prev_hash == batch[0].hash
    assert last.prev_hash == batch[1].hash
    stored = AuditEntry.objects.get(seq=batch[0].seq)
    assert stored.data == {"ratio": "1.2900"}
    assert stored.object_type == "accounts.user" and stored.actor_repr == "risk engine"
    assert AuditEntry.objects.get(seq=batch[1].seq).actor_id == client_alice.pk
    code, out = _run_verify(capsys)
    assert (code, out.strip()) == (0, "ok 4 entries")


def test_an_empty_batch_writes_nothing():
    assert audit.record_many([]) == []
    assert not AuditEntry.objects.exists()


def test_a_batch_spells_each_entry_as_its_hash_reads_it_back(client_alice):
    """record_many hashes text it writes itself; what verify_chain reads back hashes the same."""
    from audit.services import Entry

    odd = {"note": 'quote " backslash \\ newline \n 中文 \u2028', "n": 7, "x": None, "b": True,
           "nested": {"z": [1, "2", Decimal("3.10")], "a": {}}}  # fmt: skip
    batch = audit.record_many(
        [
            Entry(actor=client_alice, action="demo.odd", obj=client_alice, data=odd),
            Entry(actor=None, action="demo.empty"),
            Entry(actor="引擎", action="demo.step", object_type="x", object_id='id "7"'),
        ]
    )
    for returned in batch:
        stored = AuditEntry.objects.get(seq=returned.seq)
        assert stored.hash == returned.hash == stored.compute_hash()
        assert stored.prev_hash == returned.prev_hash
        assert stored.data == returned.entry().data
        assert (stored.seq, stored.created_at, stored.actor_id, stored.object_id) == (
            returned.seq,
            returned.created_at,
            returned.actor_id,
            returned.object_id,
        )
    assert AuditEntry.objects.get(seq=batch[0].seq).data["nested"]["z"] == [1, "2", "3.10"]
    assert verify_chain().ok


def test_the_batch_spells_data_as_canonical_json_does():
    import datetime

    from audit.models import canonical_json
    from audit.services import _canonical

    odd = {"note": 'quote " backslash \\ 中文 \u2028', "n": 7, "x": None, "b": True,
           "d": Decimal("3.10"), "at": datetime.datetime(2026, 11, 26, 2, 0, tzinfo=datetime.UTC),
           "day": datetime.date(2026, 11, 26), "nested": {"z": [1, "2"], "a": {}}}  # fmt: skip
    assert _canonical(odd) == canonical_json(odd)
    with pytest.raises(TypeError):
        _canonical({"x": object()})
