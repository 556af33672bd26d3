"""`insert_all`: many new rows at once (COPY on PostgreSQL, `bulk_create` elsewhere) are
stored exactly as `save()` would store them, and constraints still refuse bad rows."""

import datetime

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from mairie.core.audit.models import AuditEvent
from mairie.core.bulk import COPY_FROM, insert_all
from mairie.core.notifications.models import Notification

pytestmark = pytest.mark.django_db


def test_many_rows_come_back_as_they_were_given(organisation, agent, resident):
    at = timezone.now() - datetime.timedelta(days=1)
    count = COPY_FROM + 10
    events = insert_all([AuditEvent(
        organisation=organisation, seq=n, created_at=at, actor=agent if n % 2 else None,
        actor_label="Agnès <agent@valmont.example>", action="test.bulk",
        object_type="tests.row", object_id=str(n), object_label=f"Ligne « {n} »\tà part",
        ip_address="192.0.2.1" if n % 3 else None, user_agent="Firefox\\nouveau",
        details={"n": n, "texte": "Évry, l'été\n— « guillemets »", "liste": [1, None]},
        prev_hash="0" * 64, hash=f"{n:064d}") for n in range(1, count + 1)])
    assert all(not event._state.adding for event in events)
    stored = list(AuditEvent.objects.filter(organisation=organisation).order_by("seq"))
    assert len(stored) == count
    third = stored[2]
    assert (third.seq, third.actor, third.created_at, third.ip_address) == (3, agent, at, None)
    assert third.object_label == "Ligne « 3 »\tà part" and third.user_agent == "Firefox\\nouveau"
    assert third.details == {"n": 3, "texte": "Évry, l'été\n— « guillemets »", "liste": [1, None]}
    assert stored[0].ip_address == "192.0.2.1" and stored[1].actor is None

    notifications = insert_all([
        Notification(organisation=organisation, recipient=resident, kind="system.announcement",
                     title=f"Avis n° {n}") for n in range(count)])
    saved = Notification.objects.get(pk=notifications[7].pk)  # UUID keys set beforehand
    assert saved.title == "Avis n° 7" and saved.read_at is None
    assert saved.updated_at - saved.created_at < datetime.timedelta(seconds=1)


def test_a_constraint_still_refuses_the_whole_insert(organisation):
    rows = [AuditEvent(organisation=organisation, seq=n % COPY_FROM, action="test.dup",
                       actor_label="système", prev_hash="0" * 64, hash="1" * 64)
            for n in range(COPY_FROM + 1)]  # seq 0 twice
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_all(rows)
    assert not AuditEvent.objects.filter(organisation=organisation).exists()
