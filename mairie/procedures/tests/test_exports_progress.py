"""An export's life: queued, written chunk by chunk with its progress, stored, listed with a
progress bar that refreshes itself; safe to run again after a worker died."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mairie.core.files.models import StoredFile
from mairie.procedures import exports
from mairie.procedures.models import Export

from .agent_helpers import file_dossier
from .conftest import make_procedure
from .exports_helpers import EXPORT_NEW, EXPORTS, ask, content_of, read_csv, read_json


@pytest.fixture
def procedure(organisation, service, administrator):
    return make_procedure(organisation, service, actor=administrator)


def test_a_queued_export_shows_a_progress_bar_that_refreshes(client, agent, procedure,
                                                               resident):
    file_dossier(procedure, resident, number="2026-000001")
    client.force_login(agent)
    client.post(EXPORT_NEW, {"procedure": str(procedure.pk), "format": "ods"})
    export = Export.objects.get()
    assert export.status == Export.Status.PENDING and export.requested_by == agent
    assert export.filters == {"box": "services", "procedure": str(procedure.pk)}
    content = client.get(EXPORTS).content.decode()
    assert '<meta http-equiv="refresh" content="3">' in content
    assert "<progress" in content and "En attente" in content
    assert "Télécharger" not in content


def test_the_file_is_written_in_chunks_and_progress_is_saved_after_each(
        client, agent, procedure, resident, monkeypatch):
    for index in range(5):
        file_dossier(procedure, resident, number=f"2026-00000{index}", minutes_ago=index)
    client.force_login(agent)
    client.post(EXPORT_NEW, {"procedure": str(procedure.pk), "format": "csv"})
    export = Export.objects.get()
    monkeypatch.setattr(exports, "CHUNK_SIZE", 2)
    with CaptureQueriesContext(connection) as captured:
        exports.run_export(export.pk)
    table = Export._meta.db_table
    progress_updates = [q["sql"] for q in captured.captured_queries
                        if q["sql"].startswith(f'UPDATE "{table}"') and '"progress"' in q["sql"]]
    assert len(progress_updates) == 5  # claimed (0), 3 chunks (2 + 2 + 1), then done
    export.refresh_from_db()
    assert export.status == Export.Status.DONE
    assert (export.progress, export.total, export.percent) == (5, 5, 100)
    assert export.started_at and export.finished_at
    assert len(read_csv(content_of(client, export))) == 6
    content = client.get(EXPORTS).content.decode()
    assert "http-equiv" not in content
    assert reverse("procedures:export-download", args=[export.pk]) in content
    assert "Prêt" in content and "5 dossiers" in content


def test_a_finished_export_is_never_written_twice_and_a_dead_worker_is_resumed(
        client, agent, procedure, resident):
    file_dossier(procedure, resident, number="2026-000001")
    client.force_login(agent)
    client.post(EXPORT_NEW, {"procedure": str(procedure.pk), "format": "json"})
    export = Export.objects.get()
    # A worker died while writing: the message comes back, the export is written from the start.
    Export.objects.filter(pk=export.pk).update(status=Export.Status.RUNNING, progress=1)
    assert exports.run_export(export.pk).status == Export.Status.DONE
    files = StoredFile.objects.filter(purpose=exports.EXPORT_PURPOSE).count()
    assert files == 1
    assert exports.run_export(export.pk) is None  # delivered twice: nothing done again
    assert StoredFile.objects.filter(purpose=exports.EXPORT_PURPOSE).count() == files


def test_a_failed_export_says_why(client, agent, procedure, resident):
    file_dossier(procedure, resident, number="2026-000001")
    client.force_login(agent)
    client.post(EXPORT_NEW, {"procedure": str(procedure.pk), "format": "csv"})
    export = Export.objects.get()
    agent.is_active = False
    agent.save(update_fields=["is_active"])
    exports.run_export(export.pk)
    export.refresh_from_db()
    assert export.status == Export.Status.FAILED
    agent.is_active = True
    agent.save(update_fields=["is_active"])
    content = client.get(EXPORTS).content.decode()
    assert "Échec" in content and "plus actif" in content


def test_the_list_of_exports_costs_a_bounded_number_of_queries(
        client, agent, procedure, django_assert_max_num_queries):
    client.force_login(agent)
    client.get(EXPORTS)
    for _index in range(30):
        Export.objects.create(organisation=procedure.organisation, requested_by=agent,
                              definition=procedure, format="csv", status="done", total=3,
                              progress=3)
    with django_assert_max_num_queries(15):
        response = client.get(EXPORTS)
    assert response.status_code == 200
    assert len(response.context["page_obj"].object_list) == 25


def test_markup_in_an_answer_fails_a_csv_with_advice_but_not_a_json(
        client, agent, procedure, resident, django_capture_on_commit_callbacks):
    file_dossier(procedure, resident, number="2026-000001",
                 data={"nom": "<script>alert(1)</script>", "age": 3})
    client.force_login(agent)
    export = ask(client, django_capture_on_commit_callbacks, procedure=str(procedure.pk))
    assert export.status == Export.Status.FAILED and "ODS ou JSON" in export.error
    export = ask(client, django_capture_on_commit_callbacks, format="json",
                 procedure=str(procedure.pk))
    assert export.status == Export.Status.DONE
    assert read_json(content_of(client, export))["dossiers"][0]["champ:nom"] == (
        "<script>alert(1)</script>")


def test_the_requester_is_told_when_the_export_is_ready_or_failed(
        client, agent, procedure, resident, django_capture_on_commit_callbacks):
    from mairie.core.notifications.models import Notification

    for index in range(3):
        file_dossier(procedure, resident, number=f"2026-00000{index}", minutes_ago=index)
    file_dossier(procedure, resident, number="2026-000009",
                 data={"nom": "<script>alert(1)</script>", "age": 3})
    client.force_login(agent)
    ask(client, django_capture_on_commit_callbacks, format="json", procedure=str(procedure.pk))
    ready = Notification.objects.get(recipient=agent, kind=exports.NOTIFICATION_KIND)
    assert (ready.title, ready.url) == ("Votre export de 4 dossiers est prêt", EXPORTS)
    ask(client, django_capture_on_commit_callbacks, procedure=str(procedure.pk))  # CSV: refused
    failed = Notification.objects.filter(recipient=agent, kind=exports.NOTIFICATION_KIND
                                         ).exclude(pk=ready.pk).get()
    assert failed.title == "Votre export de dossiers a échoué" and "ODS ou JSON" in failed.body
    content = client.get(reverse("notifications:list")).content.decode()
    assert "Votre export de 4 dossiers est prêt" in content and "a échoué" in content
