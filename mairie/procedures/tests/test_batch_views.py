"""Batch work, pages: the form under the inbox (ticked dossiers or the whole filter), its
second step, clear messages on bad input, the progress page and the list of my batches — and
that nobody reaches a dossier or a batch they may not see."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mairie.core.factories import agent_factory
from mairie.core.organisation.models import Role
from mairie.procedures import batches
from mairie.procedures.models import Batch, BatchItem, Dossier, DossierMessage

from .batch_helpers import (
    INBOX,
    file_many,
    make_batch_procedure,
    post_batch,
)
from .inbox_helpers import label as make_label


@pytest.fixture
def procedure(organisation, service):
    return make_batch_procedure(organisation, service)


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent)
    return client


def batch_of(dossiers, agent, action="label_add", **parameters):
    """A finished batch (created by the service; tests run Celery eagerly)."""
    organisation = dossiers[0].organisation
    batch = batches.create_batch(actor=agent, organisation=organisation, action=action,
                                 parameters=parameters,
                                 dossiers=Dossier.objects.filter(pk__in=[d.pk for d in dossiers]))
    batches.run_batch(batch.pk)
    batch.refresh_from_db()
    return batch


def test_the_inbox_has_a_checkbox_per_row_and_the_batch_form_keeping_the_filters(
        agent_client, resident, procedure):
    dossiers = file_many(procedure, resident, 3)
    response = agent_client.get(INBOX, {"state": "depose", "q": "2026"})
    content = response.content.decode()
    for dossier in dossiers:
        assert (f'<input type="checkbox" name="dossiers" value="{dossier.pk}" '
                f'form="batch-form" id="select-{dossier.pk}" '
                f'aria-label="Sélectionner le dossier {dossier.number}">') in content
    assert 'id="batch-form"' in content
    assert "tous les dossiers de ce filtre (3 dossiers)" in content
    assert '<input type="hidden" name="filter-state" value="depose">' in content
    assert '<input type="hidden" name="filter-q" value="2026">' in content
    form = response.context["batch_form"]
    # Only what a batch can do: not a correction request, not the applicant's withdrawal.
    assert form.fields["transition"].choices == [("", "—"), ("accepter", "Accepter"),
                                                 ("refuser", "Refuser")]


def test_the_second_step_asks_what_the_action_needs_and_counts_the_dossiers(
        agent_client, resident, procedure):
    dossiers = file_many(procedure, resident, 4)
    urgent = make_label(procedure.organisation, "Urgent", "red")
    response = post_batch(agent_client, confirm=False, action="label_add",
                          dossiers=[str(d.pk) for d in dossiers[:3]], **{"filter-box": "mine"})
    assert response.status_code == 200
    content = response.content.decode()
    assert "3 dossiers" in content
    assert 'name="label"' in content and 'name="body"' not in content
    assert "Urgent" in content
    assert Batch.objects.count() == 0  # nothing started before confirming
    # Confirming without choosing the label: a clear message, the selection kept.
    response = post_batch(agent_client, action="label_add",
                          dossiers=[str(d.pk) for d in dossiers[:3]])
    assert response.status_code == 400
    content = response.content.decode()
    assert "Choisissez l&#x27;étiquette." in content
    assert all(f'name="dossiers" value="{d.pk}"' in content for d in dossiers[:3])
    response = post_batch(agent_client, action="label_add", label=str(urgent.pk),
                          dossiers=[str(d.pk) for d in dossiers[:3]])
    batch = Batch.objects.get()
    assert response.status_code == 302
    assert (batch.total, batch.done) == (3, 3)
    assert [urgent in d.labels.all() for d in dossiers] == [True, True, True, False]


def test_the_whole_filter_is_frozen_with_the_same_filters_as_the_inbox(
        agent_client, resident, procedure):
    file_many(procedure, resident, 5, minors={0, 1})
    Dossier.objects.filter(number="2026-000005").update(state="refuse")
    response = post_batch(agent_client, selection="filter", action="message",
                          body="Rendez-vous en mairie.",
                          **{"filter-box": "services", "filter-state": "depose",
                             "filter-q": "2026"})
    assert response.status_code == 302
    batch = Batch.objects.get()
    frozen = sorted(batch.items.values_list("dossier__number", flat=True))
    assert frozen == ["2026-000001", "2026-000002", "2026-000003", "2026-000004"]


@pytest.mark.parametrize("data, message", [
    ({"action": "label_add"},
     "Cochez au moins un dossier dans le tableau, ou choisissez « tous les dossiers de ce "
     "filtre »."),
    ({"action": "", "selection": "filter"}, "Choisissez l&#x27;action à appliquer."),
    ({"action": "transition", "transition": "demander-pieces", "selection": "filter"},
     "« demander-pieces » n&#x27;est pas une étape que vous pouvez faire franchir par lot"),
    ({"action": "transition", "transition": "inconnue", "selection": "filter"},
     "« inconnue » n&#x27;est pas une étape que vous pouvez faire franchir par lot"),
    ({"action": "transition", "transition": "refuser", "selection": "filter"},
     "Cette étape demande une motivation : écrivez-la"),
    ({"action": "message", "body": "   ", "selection": "filter"},
     "Écrivez le message aux demandeurs."),
])
def test_bad_input_gets_a_clear_message_and_starts_nothing(agent_client, resident, procedure,
                                                           data, message):
    file_many(procedure, resident, 2)
    response = post_batch(agent_client, **data)
    assert response.status_code == 400
    content = response.content.decode()
    assert message in content
    assert 'class="error-summary"' in content
    assert Batch.objects.count() == 0


def test_a_dossier_the_agent_cannot_see_is_never_in_a_batch(
        agent_client, agent, foreign_agent, organisation, other_service, resident, procedure,
        foreign_procedure):
    mine = file_many(procedure, resident, 1)[0]
    other = make_batch_procedure(organisation, other_service, slug="autre", title="Autre")
    theirs = file_many(other, resident, 1, start=50)[0]
    foreign = Dossier.objects.create(
        organisation=foreign_procedure.organisation, version=foreign_procedure.current_version,
        number="2026-000099", data={}, state="depose", submitted_at=mine.submitted_at)
    ids = [str(theirs.pk), str(foreign.pk), "pas-un-identifiant"]
    response = post_batch(agent_client, action="message", body="Bonjour", dossiers=ids)
    assert response.status_code == 400
    assert "Aucun dossier n&#x27;est sélectionné" in response.content.decode()
    response = post_batch(agent_client, action="message", body="Bonjour",
                          dossiers=[*ids, str(mine.pk)])
    assert response.status_code == 302
    assert list(BatchItem.objects.values_list("dossier", flat=True)) == [mine.pk]
    # Another organisation's agent, on their own site, cannot take our dossiers either.
    agent_client.force_login(foreign_agent)
    response = agent_client.post(reverse("procedures:batch-create"), {
        "selection": "checked", "action": "message", "body": "Bonjour", "confirm": "1",
        "dossiers": [str(mine.pk)]}, HTTP_HOST="autre.localhost")
    assert response.status_code == 400
    assert BatchItem.objects.count() == 1
    agent_client.force_login(agent)
    # "All" asked by a plain agent is never widened: their services' dossiers only.
    response = post_batch(agent_client, selection="filter", action="message", body="Bonjour",
                          **{"filter-box": "all"})
    assert response.status_code == 302
    assert list(Batch.objects.order_by("-created_at").first().items
                .values_list("dossier", flat=True)) == [mine.pk]


def test_a_director_who_reads_every_dossier_still_acts_only_through_roles(
        client, organisation, service, other_service, resident, procedure):
    director = agent_factory(service=other_service, role=Role.DIRECTOR,
                             email="directrice@valmont.example")
    dossiers = file_many(procedure, resident, 2)
    client.force_login(director)
    response = post_batch(client, selection="filter", action="transition",
                          transition="accepter", **{"filter-box": "all"})
    # No transition of this workflow is theirs to take: not even offered.
    assert response.status_code == 400
    response = post_batch(client, action="message", body="Bonjour",
                          dossiers=[str(d.pk) for d in dossiers])
    batch = Batch.objects.get()
    assert (batch.total, batch.done, batch.failed) == (2, 0, 2)
    page = client.get(response.url).content.decode()
    assert "vous n&#x27;y jouez pas le rôle nécessaire" in page


def test_only_its_author_sees_a_batch(client, agent, service, resident, procedure,
                                      foreign_agent):
    batch = batch_of(file_many(procedure, resident, 2), agent,
                     label=str(make_label(procedure.organisation, "Urgent").pk))
    colleague = agent_factory(service=service, email="collegue@valmont.example")
    for url in (reverse("procedures:batch", args=[batch.pk]),
                reverse("procedures:batch-status", args=[batch.pk])):
        client.force_login(colleague)
        assert client.get(url).status_code == 404
        client.force_login(foreign_agent)
        assert client.get(url, HTTP_HOST="autre.localhost").status_code == 404
        client.force_login(agent)
        assert client.get(url).status_code == 200
    client.force_login(colleague)
    assert batch.get_action_display() not in client.get(
        reverse("procedures:batches")).content.decode()


def test_the_progress_page_refreshes_itself_while_running(
        agent_client, agent, organisation, resident, procedure,
        django_capture_on_commit_callbacks):
    dossiers = file_many(procedure, resident, 3)
    with django_capture_on_commit_callbacks():  # no worker yet
        batch = batches.create_batch(actor=agent, organisation=organisation,
                                     action="message", parameters={"body": "Bonjour"},
                                     dossiers=Dossier.objects.all())
    batches.process_chunk(batch.pk, chunk_size=1)
    url = reverse("procedures:batch", args=[batch.pk])
    content = agent_client.get(url).content.decode()
    assert '<meta http-equiv="refresh" content="3">' in content
    assert '<progress id="batch-progress" max="3" value="1">' in content
    assert 'role="status" aria-live="polite"' in content
    assert "En cours : 1 dossier traité sur 3" in content
    assert "Arrêter la mise à jour automatique" in content
    # The page's Content-Security-Policy does not forbid the refresh (no inline script).
    assert "script-src 'self'" in agent_client.get(url)["Content-Security-Policy"]
    assert 'http-equiv="refresh"' not in agent_client.get(url, {"auto": "0"}).content.decode()
    status = agent_client.get(reverse("procedures:batch-status", args=[batch.pk])).json()
    assert status == {"status": "running", "finished": False, "total": 3, "done": 1,
                      "failed": 0, "skipped": 0, "processed": 1}
    batches.run_batch(batch.pk)
    content = agent_client.get(url).content.decode()
    assert 'http-equiv="refresh"' not in content
    assert "Terminé : 3 dossiers traités sur 3" in content
    assert len(dossiers) == Dossier.objects.filter(messages__isnull=False).distinct().count()


def test_progress_and_list_pages_cost_the_same_queries_for_few_or_many(
        agent_client, agent, resident, procedure):
    few = batch_of(file_many(procedure, resident, 3, minors={0, 1, 2}), agent,
                   action="transition", transition="accepter")
    many = batch_of(file_many(procedure, resident, 30, minors=set(range(30)), start=100),
                    agent, action="transition", transition="accepter")
    assert (few.failed, many.failed) == (3, 30)
    counts = []
    for batch in (few, many):
        url = reverse("procedures:batch", args=[batch.pk])
        agent_client.get(url)
        with CaptureQueriesContext(connection) as captured:
            assert agent_client.get(url).status_code == 200
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1]
    with CaptureQueriesContext(connection) as captured:
        content = agent_client.get(reverse("procedures:batches")).content.decode()
    assert content.count("Faire franchir une étape") == 2
    assert len(captured.captured_queries) <= counts[0] + 2


def test_confirming_twice_starts_the_batch_once(agent_client, resident, procedure):
    dossiers = file_many(procedure, resident, 3)
    first = post_batch(agent_client, confirm=False, action="message",
                       dossiers=[str(d.pk) for d in dossiers])
    token = first.context["token"]
    assert f'name="token" value="{token}"' in first.content.decode()
    sent = {"action": "message", "body": "Bonjour", "dossiers": [str(d.pk) for d in dossiers],
            "token": str(token)}
    one = post_batch(agent_client, **sent)
    two = post_batch(agent_client, **sent)  # a double click on "Lancer le traitement"
    assert one.status_code == two.status_code == 302 and one["Location"] == two["Location"]
    assert Batch.objects.count() == 1
    assert DossierMessage.objects.count() == 3
