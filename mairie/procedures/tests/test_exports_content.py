"""What an export contains: the filtered dossiers of one procedure, one column per field of
all its versions, files as absolute permission-checked links; read back as CSV, JSON and ODS."""

import pytest
from django.urls import reverse

from mairie.procedures.models import Export, Label

from .agent_helpers import file_dossier
from .exports_helpers import (
    EXPORT_NEW,
    ask,
    content_of,
    dossier_with_file,
    read_csv,
    read_json,
    read_ods,
    two_version_procedure,
)

BASE_COLUMNS = ["Numéro", "État", "Déposé le", "Échéance", "Décidé le", "Demandeur",
                "Courriel du demandeur", "Agent chargé", "Étiquettes"]
FIELD_COLUMNS = ["Nom de famille", "Âge", "Situation", "Nom du conjoint", "Courriel",
                 "Justificatif", "Motif de la demande"]


@pytest.fixture
def procedure(organisation, service, administrator):
    return two_version_procedure(organisation, service, administrator)


@pytest.fixture
def filed(procedure, resident, organisation, agent):
    """2026-000001 on version 1 with a file and a label, assigned to the agent;
    2026-000002 on version 2 (with "motif"); 2026-000003 in another state."""
    first_version = procedure.versions.get(number=1)
    one, stored = dossier_with_file(procedure, resident, number="2026-000001",
                                    version=first_version)
    one.labels.add(Label.objects.create(organisation=organisation, name="Urgent"))
    one.assigned_to = agent
    one.save(update_fields=["assigned_to"])
    two = file_dossier(procedure, resident, number="2026-000002",
                       data={"nom": "=HYPERLINK(\"http://x\")", "age": 7.5, "situation": "seul",
                             "courriel": "b@example.org",
                             "motif": "Première ligne\nseconde <ligne>"})
    file_dossier(procedure, resident, number="2026-000003", state="accepte")
    return {"one": one, "two": two, "stored": stored}


def test_csv_has_one_column_per_field_of_every_version_and_file_links(
        client, agent, filed, procedure, django_capture_on_commit_callbacks):
    client.force_login(agent)
    export = ask(client, django_capture_on_commit_callbacks, format="csv",
                 procedure=str(procedure.pk), state="depose", sort="number")
    assert export.status == Export.Status.DONE
    assert (export.progress, export.total) == (2, 2)
    rows = read_csv(content_of(client, export))
    assert rows[0] == BASE_COLUMNS + FIELD_COLUMNS
    assert [row[0] for row in rows[1:]] == ["2026-000001", "2026-000002"]
    one = dict(zip(rows[0], rows[1], strict=True))
    assert one["État"] == "Déposé"
    assert one["Nom de famille"] == "Martin" and one["Âge"] == "42"
    assert one["Situation"] == "En couple"
    assert one["Étiquettes"] == "Urgent"
    assert one["Agent chargé"] == (agent.get_full_name() or agent.email)
    assert one["Courriel du demandeur"] == "habitant@example.org"
    assert one["Motif de la demande"] == ""  # version 1 had no such question
    link = "http://testserver" + reverse("files:download", args=[filed["stored"].pk])
    assert one["Justificatif"] == link
    two = dict(zip(rows[0], rows[2], strict=True))
    assert two["Âge"] == "7,5"  # French decimal comma
    assert two["Nom de famille"] == "'=HYPERLINK(\"http://x\")"  # never run as a formula
    assert two["Motif de la demande"] == "Première ligne\nseconde <ligne>"
    # The link is permission-checked: the agent opens it, downloads it as a PDF.
    response = client.get(link.removeprefix("http://testserver"))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"


def test_json_keeps_numbers_dates_and_lists_of_links(client, agent, filed, procedure,
                                                      django_capture_on_commit_callbacks):
    client.force_login(agent)
    export = ask(client, django_capture_on_commit_callbacks, format="json",
                 procedure=str(procedure.pk), sort="number")
    document = read_json(content_of(client, export))
    assert document["procedure"] == procedure.title
    keys = [column["key"] for column in document["columns"]]
    assert keys[:2] == ["number", "state"]
    assert [c["label"] for c in document["columns"]][9:] == FIELD_COLUMNS
    assert "champ:motif" in keys
    dossiers = {row["number"]: row for row in document["dossiers"]}
    assert set(dossiers) == {"2026-000001", "2026-000002", "2026-000003"}
    one = dossiers["2026-000001"]
    assert one["champ:age"] == 42 and one["submitted_at"].startswith("20")
    assert one["champ:piece"] == ["http://testserver" + reverse(
        "files:download", args=[filed["stored"].pk])]
    assert dossiers["2026-000002"]["champ:age"] == 7.5
    assert dossiers["2026-000002"]["champ:motif"] == "Première ligne\nseconde <ligne>"
    assert dossiers["2026-000003"]["state"] == "Accepté"


def test_ods_is_a_spreadsheet_with_typed_cells(client, agent, filed, procedure,
                                                django_capture_on_commit_callbacks):
    client.force_login(agent)
    export = ask(client, django_capture_on_commit_callbacks, format="ods",
                 procedure=str(procedure.pk), state="depose", sort="number")
    assert export.stored_file.content_type == "application/vnd.oasis.opendocument.spreadsheet"
    rows = read_ods(content_of(client, export))
    assert [cell["text"] for cell in rows[0]] == BASE_COLUMNS + FIELD_COLUMNS
    header = [cell["text"] for cell in rows[0]]
    one = dict(zip(header, rows[1], strict=True))
    assert one["Numéro"]["text"] == "2026-000001"
    assert one["Âge"]["type"] == "float" and one["Âge"]["value"] == "42"
    assert one["Déposé le"]["type"] == "date"
    assert one["Justificatif"]["text"].startswith("http://testserver/")
    two = dict(zip(header, rows[2], strict=True))
    assert two["Motif de la demande"]["text"] == "Première ligne\nseconde <ligne>"
    assert two["Âge"]["value"] == "7.5"


def test_without_a_procedure_the_agent_is_asked_to_choose_one(
        client, agent, filed, procedure, django_capture_on_commit_callbacks):
    client.force_login(agent)
    page = client.get(EXPORT_NEW, {"box": "services", "state": "depose"})
    content = page.content.decode()
    assert page.status_code == 200
    assert "Choisissez une démarche" in content and 'name="state" value="depose"' in content
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(EXPORT_NEW, {"box": "services", "state": "depose",
                                            "format": "csv"})
    assert response.status_code == 200
    assert "Choisissez la démarche à exporter." in response.content.decode()
    assert not Export.objects.exists()


def test_the_inbox_export_button_keeps_the_box_and_filters(client, agent, filed, procedure):
    client.force_login(agent)
    response = client.get(reverse("procedures:agent-inbox"),
                          {"box": "services", "procedure": str(procedure.pk), "state": "depose"})
    content = response.content.decode()
    assert f'{EXPORT_NEW}?box=services&amp;procedure={procedure.pk}&amp;state=depose' in content
    page = client.get(EXPORT_NEW, {"box": "services", "procedure": str(procedure.pk),
                                   "state": "depose"})
    assert f'<option value="{procedure.pk}" selected>' in page.content.decode()
    assert "État : Déposé" in page.content.decode()
