"""Batch work, processing side: each dossier is processed on its own (a refused one is listed
with its reason and the others go on), a batch picks up after a worker died without applying
anything twice, and every applied action is audited as the agent's with the batch's id."""

from collections import Counter
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from mairie.core.audit.models import AuditEvent
from mairie.core.factories import agent_factory
from mairie.core.organisation.models import Membership
from mairie.procedures import batches, tasks_batch, workflow
from mairie.procedures.models import Batch, BatchItem, Dossier, DossierEvent, DossierMessage

from .batch_helpers import (
    file_many,
    make_batch_procedure,
    post_batch,
)
from .inbox_helpers import label as make_label


@pytest.fixture
def procedure(organisation, service):
    return make_batch_procedure(organisation, service)


def applied_audits(batch):
    return AuditEvent.objects.filter(action="procedures.batch_action_applied",
                                     details__batch=str(batch.pk))


def new_batch(agent, organisation, dossiers, action, **parameters):
    """A batch created as the view does, its Celery task not started (the worker is "down")."""
    return batches.create_batch(
        actor=agent, organisation=organisation, action=action, parameters=parameters,
        dossiers=Dossier.objects.filter(pk__in=[d.pk for d in dossiers]).order_by("number"))


def test_thirty_dossiers_two_refused_by_the_guard_28_done_2_failed_with_the_reason(
        client, agent, resident, procedure, django_capture_on_commit_callbacks):
    dossiers = file_many(procedure, resident, 30, minors={4, 17})
    client.force_login(agent)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_batch(client, selection="filter", action="transition",
                              transition="accepter", **{"filter-box": "services"})
    batch = Batch.objects.get()
    assert response.status_code == 302
    assert response.url == f"/agent/lots/{batch.pk}/"
    assert (batch.status, batch.total, batch.done, batch.failed) == ("finished", 30, 28, 2)
    failed = batch.items.filter(status=BatchItem.Status.FAILED).select_related("dossier")
    assert sorted(item.dossier.number for item in failed) == ["2026-000005", "2026-000018"]
    assert {item.reason for item in failed} == {"Réservé aux demandeurs majeurs."}
    states = Counter(Dossier.objects.values_list("state", flat=True))
    assert states == {"accepte": 28, "depose": 2}
    # Audited as the agent's, with the batch's id, once per applied dossier.
    audits = applied_audits(batch)
    assert audits.count() == 28
    assert set(audits.values_list("actor", flat=True)) == {agent.pk}
    assert {event.details["transition"] for event in audits} == {"accepter"}
    assert AuditEvent.objects.filter(action="procedures.transition_applied").count() == 28
    accepted = {str(d.pk) for d in dossiers} - {str(item.dossier_id) for item in failed}
    assert set(audits.values_list("object_id", flat=True)) == accepted
    # The progress page lists the two failures with their reason.
    page = client.get(response.url).content.decode()
    assert '<progress id="batch-progress" max="30" value="30">' in page
    assert "28 faits" in page and "2 en échec" in page
    assert "2026-000005" in page and "Réservé aux demandeurs majeurs." in page
    assert 'http-equiv="refresh"' not in page  # finished: no more refreshing


def test_a_batch_resumes_after_a_worker_crash_and_never_applies_twice(
        agent, organisation, resident, procedure, django_capture_on_commit_callbacks):
    dossiers = file_many(procedure, resident, 25)
    with django_capture_on_commit_callbacks() as started:  # the worker never gets the task
        batch = new_batch(agent, organisation, dossiers, "message",
                          body="Votre dossier sera instruit sous quinze jours.")
    assert len(started) == 1
    # A first worker handles one chunk of 10, then starts an eleventh dossier and is killed
    # in the middle of it: that dossier's transaction is rolled back with its item.
    assert batches.process_chunk(batch.pk, chunk_size=10) == 10
    eleventh = batch.items.filter(status="pending").order_by("position").first()
    with pytest.raises(RuntimeError), transaction.atomic():
        batches.process_item(batch, eleventh.pk)
        raise RuntimeError("worker killed")
    eleventh.refresh_from_db()
    assert eleventh.status == "pending"
    batch.refresh_from_db()
    assert (batch.status, batch.done) == ("running", 10)
    assert DossierMessage.objects.count() == 10
    # Nothing moves for a while: the beat job starts the batch again, pending items only.
    Batch.objects.filter(pk=batch.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    assert tasks_batch.resume_stalled_batches.delay().get() == 1
    batch.refresh_from_db()
    assert (batch.status, batch.done, batch.failed) == ("finished", 25, 0)
    # Running it once more (a duplicated message from the broker) changes nothing.
    tasks_batch.run_batch.delay(str(batch.pk))
    assert tasks_batch.resume_stalled_batches.delay().get() == 0
    per_dossier = Counter(DossierMessage.objects.values_list("dossier_id", flat=True))
    assert per_dossier == {d.pk: 1 for d in dossiers}
    timeline = Counter(DossierEvent.objects.filter(kind="message")
                       .values_list("dossier_id", flat=True))
    assert timeline == {d.pk: 1 for d in dossiers}
    audits = Counter(applied_audits(batch).values_list("object_id", flat=True))
    assert audits == {str(d.pk): 1 for d in dossiers}
    assert AuditEvent.objects.filter(action="procedures.batch_finished").count() == 1


def test_a_dossier_moved_by_someone_else_since_the_batch_was_created_is_not_touched(
        agent, organisation, service, resident, procedure, django_capture_on_commit_callbacks):
    dossiers = file_many(procedure, resident, 3)
    with django_capture_on_commit_callbacks():
        batch = new_batch(agent, organisation, dossiers, "transition", transition="accepter")
    colleague = agent_factory(service=service, email="collegue@valmont.example")
    workflow.apply_transition(actor=colleague, dossier=dossiers[1], key="refuser",
                              values={"motivation": "Hors délai."},
                              lock_version=dossiers[1].lock_version)
    batches.run_batch(batch.pk)
    batch.refresh_from_db()
    assert (batch.done, batch.failed) == (2, 1)
    item = batch.items.get(dossier=dossiers[1])
    assert item.reason.startswith("Le dossier a été modifié par quelqu'un d'autre")
    dossiers[1].refresh_from_db()
    assert dossiers[1].state == "refuse"  # the colleague's decision stands


def test_an_agent_who_lost_the_role_since_creating_the_batch_changes_nothing(
        agent, organisation, resident, procedure, django_capture_on_commit_callbacks):
    dossiers = file_many(procedure, resident, 2)
    with django_capture_on_commit_callbacks():
        batch = new_batch(agent, organisation, dossiers, "transition", transition="accepter")
    Membership.objects.filter(user=agent).delete()
    batches.run_batch(batch.pk)
    batch.refresh_from_db()
    assert (batch.done, batch.failed) == (0, 2)
    assert set(batch.items.values_list("reason", flat=True)) == {
        "Vous ne pouvez pas faire cette action sur ce dossier : vous n'y jouez pas le rôle "
        "nécessaire."}
    assert set(Dossier.objects.values_list("state", flat=True)) == {"depose"}
    assert not applied_audits(batch).exists()


def test_labels_are_added_and_removed_and_unchanged_dossiers_are_said_so(
        agent, organisation, service, other_service, resident, procedure,
        django_capture_on_commit_callbacks):
    urgent = make_label(organisation, "Urgent", "red")
    dossiers = file_many(procedure, resident, 4)
    dossiers[0].labels.add(urgent)
    with django_capture_on_commit_callbacks(execute=True):
        added = new_batch(agent, organisation, dossiers, "label_add", label=str(urgent.pk))
    added.refresh_from_db()
    assert (added.done, added.skipped, added.failed) == (3, 1, 0)
    assert added.items.get(dossier=dossiers[0]).reason == (
        "Le dossier portait déjà cette étiquette.")
    assert all(urgent in d.labels.all() for d in dossiers)
    with django_capture_on_commit_callbacks(execute=True):
        removed = new_batch(agent, organisation, dossiers[:2], "label_remove",
                            label=str(urgent.pk))
    removed.refresh_from_db()
    assert removed.done == 2
    assert [urgent in d.labels.all() for d in dossiers] == [False, False, True, True]
    assert DossierEvent.objects.filter(kind="labels").count() == 5
    # A label of another procedure cannot go on these dossiers.
    other = make_batch_procedure(organisation, other_service, slug="autre", title="Autre")
    theirs = make_label(organisation, "Voirie")
    theirs.definition = other
    theirs.save()
    with django_capture_on_commit_callbacks(execute=True):
        refused = new_batch(agent, organisation, dossiers[:1], "label_add", label=str(theirs.pk))
    assert refused.items.get().reason == "Cette étiquette n'existe pas pour cette démarche."


def test_assignment_and_message_to_the_applicants(
        agent, organisation, service, resident, procedure, django_capture_on_commit_callbacks,
        mailoutbox):
    colleague = agent_factory(service=service, email="collegue@valmont.example")
    dossiers = file_many(procedure, resident, 3)
    with django_capture_on_commit_callbacks(execute=True):
        assigned = new_batch(agent, organisation, dossiers, "assign", to=str(colleague.pk))
    assigned.refresh_from_db()
    assert assigned.done == 3
    assert set(Dossier.objects.values_list("assigned_to", flat=True)) == {colleague.pk}
    with django_capture_on_commit_callbacks(execute=True):
        again = new_batch(agent, organisation, dossiers[:1], "assign", to=str(colleague.pk))
    assert again.items.get().status == "skipped"
    with django_capture_on_commit_callbacks(execute=True):
        told = new_batch(agent, organisation, dossiers, "message",
                         body="Pièce d'identité à apporter en mairie.")
    told.refresh_from_db()
    assert told.done == 3
    assert set(DossierMessage.objects.values_list("body", flat=True)) == {
        "Pièce d'identité à apporter en mairie."}
    assert set(DossierMessage.objects.values_list("author", flat=True)) == {agent.pk}
    from mairie.core.notifications.models import Notification

    assert Notification.objects.filter(recipient=resident).count() == 3


def _effects(dossier):
    """What taking a transition left on a dossier, without ids and times."""
    dossier.refresh_from_db()
    events = [(e.kind, e.public, e.actor_id, {k: v for k, v in e.details.items()})
              for e in DossierEvent.objects.filter(dossier=dossier).exclude(kind="submitted")
              .order_by("at")]
    audits = [(a.action, a.actor_id, {k: v for k, v in a.details.items() if k != "batch"})
              for a in AuditEvent.objects.filter(object_id=str(dossier.pk)).order_by("seq")]
    notified = list(dossier.applicant.notifications.values_list("kind", flat=True))
    return (dossier.state, dossier.lock_version, bool(dossier.decided_at), events,
            [a for a in audits if a[0] == "procedures.transition_applied"], notified)


def test_a_chunk_of_a_batch_writes_what_the_dossier_page_writes(
        procedure, agent, resident, organisation):
    """The batch takes a whole chunk in one transaction (`process_transition_chunk`); the
    engine's one writer makes its effects those of the dossier page's button, dossier by
    dossier: state, lock version, timeline, audit, the applicant's notification."""
    by_page, by_batch = file_many(procedure, resident, 2)
    workflow.apply_transition(actor=agent, dossier=by_page, key="accepter", values={},
                              lock_version=by_page.lock_version)
    batch = new_batch(agent, organisation, [by_batch], Batch.Action.TRANSITION,
                      transition="accepter")
    batches.run_batch(batch.pk)
    assert _effects(by_batch) == _effects(by_page)
    assert applied_audits(batch).count() == 1
    chain = list(AuditEvent.objects.filter(object_id=str(by_batch.pk)).order_by("seq")
                 .values_list("action", flat=True))
    assert chain[-2:] == ["procedures.transition_applied", "procedures.batch_action_applied"]
    from mairie.core.audit.services import verify_chain

    assert verify_chain(organisation) is None  # appended in one go, still one chain


def test_an_action_failing_on_one_dossier_leaves_the_others_done(
        procedure, agent, resident, organisation, monkeypatch):
    """An action that fails on one dossier rolls back the chunk's transaction, which is then
    taken dossier by dossier: that one is failed with the reason, the others are done once."""
    dossiers = file_many(procedure, resident, 5)
    unlucky = dossiers[2]
    notify = workflow.ACTIONS["notify"]

    def failing_notify(**kwargs):
        if kwargs["dossier"].pk == unlucky.pk:
            raise RuntimeError("the mail server is on fire")
        return notify(**kwargs)

    monkeypatch.setitem(workflow.ACTIONS, "notify", failing_notify)
    batch = new_batch(agent, organisation, dossiers, Batch.Action.TRANSITION,
                      transition="accepter")
    batches.run_batch(batch.pk)
    batch.refresh_from_db()
    assert (batch.status, batch.done, batch.failed) == (Batch.Status.FINISHED, 4, 1)
    failed = batch.items.get(status="failed")
    assert failed.dossier_id == unlucky.pk and "Erreur technique inattendue" in failed.reason
    states = dict(Dossier.objects.filter(pk__in=[d.pk for d in dossiers])
                  .values_list("number", "state"))
    assert sorted(states.values()) == ["accepte"] * 4 + ["depose"]
    assert states[unlucky.number] == "depose"
    moves = Counter(DossierEvent.objects.filter(kind="transition")
                    .values_list("dossier_id", flat=True))
    assert moves == {d.pk: 1 for d in dossiers if d.pk != unlucky.pk}
    assert applied_audits(batch).count() == 4
