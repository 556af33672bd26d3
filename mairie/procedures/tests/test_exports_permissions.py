"""An export never holds more than the requester may open in the inbox, and only the requester
(and the organisation's administrators) may download it; requests and downloads are audited."""

import pytest
from django.urls import reverse

from mairie.core.audit.models import AuditEvent
from mairie.core.factories import agent_factory
from mairie.core.organisation.models import Membership
from mairie.procedures import exports
from mairie.procedures.models import Export

from .agent_helpers import file_dossier
from .conftest import make_procedure
from .exports_helpers import EXPORT_NEW, ask, content_of, read_csv, read_json
from .inbox_helpers import ask_opinion


@pytest.fixture
def own_procedure(organisation, service, administrator):
    return make_procedure(organisation, service, actor=administrator)


@pytest.fixture
def other_procedure(organisation, other_service, administrator):
    return make_procedure(organisation, other_service, slug="permis", title="Permis",
                          actor=administrator)


@pytest.fixture
def other_agent(other_service):
    return agent_factory(service=other_service, email="urbanisme@valmont.example")


@pytest.fixture
def colleague(service):
    return agent_factory(service=service, email="collegue@valmont.example")


def numbers_in(client, export):
    return sorted(row["number"] for row in read_json(content_of(client, export))["dossiers"])


def test_an_agent_cannot_export_a_procedure_of_another_service(
        client, agent, own_procedure, other_procedure, resident,
        django_capture_on_commit_callbacks):
    file_dossier(other_procedure, resident, number="2026-000009")
    client.force_login(agent)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(EXPORT_NEW, {"procedure": str(other_procedure.pk),
                                            "format": "csv", "box": "all"})
    assert response.status_code == 200  # the choice is refused, with a message
    assert response.context["form"].errors["procedure"]
    assert not Export.objects.exists()
    with pytest.raises(exports.ExportRefused):
        exports.request_export(actor=agent, organisation=own_procedure.organisation,
                               definition=other_procedure, format="csv", filters={})


def test_a_consulted_service_exports_only_the_dossiers_it_was_asked_about(
        client, other_agent, own_procedure, other_service, resident, foreign_procedure,
        django_capture_on_commit_callbacks):
    consulted = file_dossier(own_procedure, resident, number="2026-000001")
    file_dossier(own_procedure, resident, number="2026-000002")
    file_dossier(foreign_procedure, None, number="2026-000001", email="x@ailleurs.example")
    ask_opinion(consulted, other_service)
    client.force_login(other_agent)
    export = ask(client, django_capture_on_commit_callbacks, format="json",
                 procedure=str(own_procedure.pk), box="opinions")
    assert numbers_in(client, export) == ["2026-000001"]
    # "all" is not theirs: never widened to every dossier of the procedure.
    export = ask(client, django_capture_on_commit_callbacks, format="json",
                 procedure=str(own_procedure.pk), box="all")
    assert numbers_in(client, export) == []


def test_a_director_exports_every_dossier_of_the_procedure_but_no_other_organisations(
        client, administrator, own_procedure, other_procedure, resident, foreign_procedure,
        django_capture_on_commit_callbacks):
    file_dossier(own_procedure, resident, number="2026-000001")
    file_dossier(own_procedure, resident, number="2026-000002")
    file_dossier(other_procedure, resident, number="2026-000003")
    file_dossier(foreign_procedure, None, number="2026-000004", email="x@ailleurs.example")
    client.force_login(administrator)
    export = ask(client, django_capture_on_commit_callbacks, format="csv",
                 procedure=str(own_procedure.pk), box="all", sort="number")
    rows = read_csv(content_of(client, export))
    assert [row[0] for row in rows[1:]] == ["2026-000001", "2026-000002"]


def test_an_agent_of_another_organisation_cannot_ask_nor_download(
        client, agent, foreign_agent, own_procedure, resident,
        django_capture_on_commit_callbacks):
    file_dossier(own_procedure, resident, number="2026-000001")
    client.force_login(agent)
    export = ask(client, django_capture_on_commit_callbacks, procedure=str(own_procedure.pk))
    client.force_login(foreign_agent)  # an account of another collectivité: not signed in here
    for url in (EXPORT_NEW, reverse("procedures:exports"),
                reverse("procedures:export-download", args=[export.pk])):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/comptes/login/")
    file_url = reverse("files:download", args=[export.stored_file_id])
    assert client.get(file_url).status_code == 302
    # On their own organisation's host, the export does not exist.
    client.force_login(foreign_agent)
    assert client.get(reverse("procedures:export-download", args=[export.pk]),
                      HTTP_HOST="autre.localhost").status_code == 404
    assert client.get(file_url, HTTP_HOST="autre.localhost").status_code == 404


def test_only_the_requester_and_administrators_download_and_it_is_audited(
        client, agent, colleague, administrator, own_procedure, resident,
        django_capture_on_commit_callbacks):
    file_dossier(own_procedure, resident, number="2026-000001")
    client.force_login(agent)
    export = ask(client, django_capture_on_commit_callbacks, procedure=str(own_procedure.pk),
                 state="depose")
    requested = AuditEvent.objects.get(action="procedures.export_requested")
    assert requested.actor == agent and requested.object_id == str(export.pk)
    assert requested.details["format"] == "csv"
    assert requested.details["filters"]["state"] == "depose"
    assert read_csv(content_of(client, export))[1][0] == "2026-000001"
    downloaded = AuditEvent.objects.get(action="procedures.export_downloaded")
    assert downloaded.actor == agent and downloaded.object_id == str(export.pk)
    # A colleague of the same service sees neither the export nor its file.
    client.force_login(colleague)
    assert client.get(reverse("procedures:export-download", args=[export.pk])).status_code == 404
    assert client.get(reverse("files:download",
                              args=[export.stored_file_id])).status_code == 404
    assert "2026" not in client.get(reverse("procedures:exports")).content.decode()
    # An administrator may read the file (audited as a read of someone else's file).
    client.force_login(administrator)
    assert client.get(reverse("files:download",
                              args=[export.stored_file_id])).status_code == 200
    assert AuditEvent.objects.filter(action="files.downloaded", actor=administrator).exists()


def test_the_rights_are_checked_again_when_the_export_is_written(
        client, agent, own_procedure, resident, django_capture_on_commit_callbacks):
    file_dossier(own_procedure, resident, number="2026-000001")
    client.force_login(agent)
    response = client.post(EXPORT_NEW, {"procedure": str(own_procedure.pk), "format": "csv"})
    assert response.status_code == 302
    export = Export.objects.get()
    assert export.status == Export.Status.PENDING  # queued after the commit
    Membership.objects.filter(user=agent).delete()  # left the service meanwhile
    exports.run_export(export.pk)
    export.refresh_from_db()
    assert export.status == Export.Status.FAILED and export.stored_file is None
    assert "plus accès" in export.error
