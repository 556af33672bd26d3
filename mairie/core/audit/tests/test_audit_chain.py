import io

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from mairie.core.audit.models import AuditEvent
from mairie.core.audit.services import record_event, verify_chain


def _verify_output(org=None):
    out = io.StringIO()
    try:
        call_command("audit", "verify", stdout=out)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


@pytest.mark.django_db
def test_events_are_chained_per_organisation(organisation, other_organisation, agent):
    first = record_event(organisation=organisation, action="test.one", actor=agent, obj=agent)
    second = record_event(organisation=organisation, action="test.two", actor=agent)
    other = record_event(organisation=other_organisation, action="test.one")
    assert (first.seq, second.seq, other.seq) == (1, 2, 1)
    assert second.prev_hash == first.hash
    assert verify_chain(organisation) is None
    output, error = _verify_output()
    assert error is None
    assert "chaîne intacte" in output


@pytest.mark.django_db
def test_tampering_with_a_row_is_detected(organisation, agent):
    for i in range(3):
        record_event(organisation=organisation, action=f"test.{i}", actor=agent)
    target = AuditEvent.objects.get(organisation=organisation, seq=2)
    if connection.vendor == "postgresql":
        # The database refuses the change outright…
        with pytest.raises(DatabaseError), transaction.atomic():
            AuditEvent.objects.filter(pk=target.pk).update(action="test.forged")
        # …so tampering needs a database superuser bypassing triggers, which verify still catches.
        with connection.cursor() as cur:
            cur.execute("SET session_replication_role = replica")
            cur.execute("UPDATE audit_auditevent SET action='test.forged' WHERE id=%s",
                        [target.pk])
            cur.execute("SET session_replication_role = DEFAULT")
    else:
        with connection.cursor() as cur:
            cur.execute("UPDATE audit_auditevent SET action='test.forged' WHERE id=%s",
                        [target.pk])
    broken = verify_chain(organisation)
    assert broken is not None and broken.seq == 2
    output, error = _verify_output()
    assert error is not None
    assert "premier maillon rompu n°2" in output


@pytest.mark.django_db
def test_deleting_a_row_is_detected(organisation):
    for i in range(3):
        record_event(organisation=organisation, action=f"test.{i}")
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError), transaction.atomic():
            AuditEvent.objects.filter(organisation=organisation, seq=3).delete()
        return
    with connection.cursor() as cur:
        cur.execute("DELETE FROM audit_auditevent WHERE seq=3")
    broken = verify_chain(organisation)
    assert broken is not None and broken.seq == 3


@pytest.mark.django_db
def test_events_appended_at_the_end_of_a_block_keep_their_order_and_the_chain(
        organisation, other_organisation, agent):
    """Batch work records its audit entries as it goes, and they are chained when its block
    ends (the chain's lock is then held only to the commit)."""
    from mairie.core.audit.services import appended_at_the_end

    record_event(organisation=organisation, action="test.before")
    with transaction.atomic(), appended_at_the_end():
        record_event(organisation=organisation, action="test.one", actor=agent)
        record_event(organisation=other_organisation, action="test.elsewhere")
        record_event(organisation=organisation, action="test.two")
        assert AuditEvent.objects.filter(organisation=organisation).count() == 1
    actions = list(AuditEvent.objects.filter(organisation=organisation).order_by("seq")
                   .values_list("seq", "action"))
    assert actions == [(1, "test.before"), (2, "test.one"), (3, "test.two")]
    assert AuditEvent.objects.get(organisation=other_organisation).seq == 1
    assert verify_chain(organisation) is None and verify_chain(other_organisation) is None


@pytest.mark.django_db
def test_a_block_that_fails_writes_none_of_its_audit_events(organisation):
    from mairie.core.audit.services import appended_at_the_end

    with pytest.raises(ValueError), transaction.atomic(), appended_at_the_end():
        record_event(organisation=organisation, action="test.lost")
        raise ValueError("the batch failed")
    assert not AuditEvent.objects.filter(organisation=organisation).exists()
    record_event(organisation=organisation, action="test.after")
    assert AuditEvent.objects.get(organisation=organisation).seq == 1
    assert verify_chain(organisation) is None
