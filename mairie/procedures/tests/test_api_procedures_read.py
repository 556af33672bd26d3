"""REST API, reads: procedures, the dossier list with its filters, one dossier — with the same
permissions as the agents' pages, and token scopes."""

import datetime as dt

import pytest
from django.utils import timezone

from mairie.core.audit.models import AuditEvent
from mairie.core.factories import agent_factory
from mairie.core.organisation.models import Role
from mairie.procedures import processing
from mairie.procedures.models import Label

from .api_helpers import (
    file_dossier,
    make_api_procedure,
    token_for,
)
from .conftest import make_procedure

pytestmark = pytest.mark.django_db

DOSSIERS = "/api/v1/dossiers/"
PROCEDURES = "/api/v1/procedures/"


@pytest.fixture
def procedure(organisation, service, administrator):
    return make_api_procedure(organisation, service, actor=administrator)


@pytest.fixture
def dossier(procedure, resident):
    return file_dossier(procedure, resident, number="2026-000001")


@pytest.fixture
def other_agent(other_service):
    """An agent of another service of the same organisation."""
    return agent_factory(service=other_service, email="urba@valmont.example")


# --- Procedures -------------------------------------------------------------------------------


def test_an_agent_lists_the_procedures_they_process(client, agent, procedure, other_service,
                                                    administrator):
    make_procedure(procedure.organisation, other_service, slug="permis", title="Permis",
                   actor=administrator)
    response = client.get(PROCEDURES, **token_for(agent, ["procedures:read"]))
    assert response.status_code == 200
    body = response.json()
    assert [p["slug"] for p in body["results"]] == ["aide-api"]
    assert body["results"][0]["service"]["name"] == "Accueil et état civil"
    assert body["results"][0]["version"] == 1


def test_a_procedure_comes_with_its_published_schema_and_workflow(client, agent, procedure):
    response = client.get(f"{PROCEDURES}{procedure.pk}/", **token_for(agent, ["read"]))
    assert response.status_code == 200
    body = response.json()
    assert [page["key"] for page in body["schema"]["pages"]] == ["identite", "contact"]
    assert [s["key"] for s in body["states"]] == ["brouillon", "depose", "accepte", "refuse"]
    refuse = next(t for t in body["transitions"] if t["key"] == "refuser")
    assert refuse["required_fields"][0]["key"] == "motivation"


def test_procedures_of_another_service_or_organisation_are_not_found(
        client, other_agent, procedure, foreign_procedure, agent):
    assert client.get(f"{PROCEDURES}{procedure.pk}/",
                      **token_for(other_agent)).status_code == 404
    assert client.get(f"{PROCEDURES}{foreign_procedure.pk}/",
                      **token_for(agent)).status_code == 404


def test_a_token_without_the_procedures_scope_is_refused(client, agent, procedure):
    response = client.get(PROCEDURES, **token_for(agent, ["dossiers:read"]))
    assert response.status_code == 403
    assert response.json()["code"] == "scope_missing"


# --- Dossier list -----------------------------------------------------------------------------


def test_an_agent_lists_the_dossiers_of_their_services(client, agent, dossier):
    response = client.get(DOSSIERS, **token_for(agent, ["dossiers:read"]))
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    row = body["results"][0]
    assert row["id"] == str(dossier.pk)
    assert row["number"] == "2026-000001"
    assert (row["state"], row["state_label"]) == ("depose", "Déposé")
    assert row["procedure"]["slug"] == "aide-api"
    assert row["applicant"] == {"name": dossier.applicant.get_full_name(),
                                "email": "habitant@example.org", "account": True}
    assert row["lock_version"] == 0


def test_drafts_are_never_listed(client, agent, procedure, resident):
    draft = file_dossier(procedure, resident, number="", state="brouillon")
    draft.submitted_at = None
    draft.save()
    assert client.get(DOSSIERS, **token_for(agent)).json()["count"] == 0


def test_the_list_filters_like_the_inbox(client, agent, procedure, resident, organisation):
    old = file_dossier(procedure, resident, number="2026-000010", minutes_ago=60 * 24 * 10,
                       data={"nom": "Lefebvre", "age": 30, "situation": "seul",
                             "courriel": "l@example.org"}, email="l@example.org")
    new = file_dossier(procedure, None, number="2026-000011", state="accepte",
                       email="anonyme@example.org")
    from mairie.procedures.services import update_search_text

    update_search_text(old)
    urgent = Label.objects.create(organisation=organisation, name="Urgent")
    old.labels.add(urgent)
    new.assigned_to = agent
    new.save()
    headers = token_for(agent, ["dossiers:read"])

    def numbers(query):
        response = client.get(DOSSIERS + query, **headers)
        assert response.status_code == 200, response.json()
        return [row["number"] for row in response.json()["results"]]

    assert numbers("") == ["2026-000011", "2026-000010"]
    assert numbers("?state=accepte") == ["2026-000011"]
    assert numbers(f"?procedure={procedure.pk}&sort=submitted") == ["2026-000010",
                                                                     "2026-000011"]
    assert numbers(f"?label={urgent.pk}") == ["2026-000010"]
    assert numbers("?q=lefebvre") == ["2026-000010"]
    assert numbers("?assigned=me") == ["2026-000011"]
    assert numbers("?assigned=none") == ["2026-000010"]
    assert numbers("?box=mine") == ["2026-000011"]
    today = timezone.localdate()
    assert numbers(f"?submitted_from={today - dt.timedelta(days=1)}") == ["2026-000011"]
    assert numbers(f"?submitted_to={today - dt.timedelta(days=5)}") == ["2026-000010"]


@pytest.mark.parametrize(("query", "field"), [
    ("?box=all", "box"),  # a plain agent has no "all" box: never silently widened
    ("?box=inconnue", "box"),
    ("?procedure=pas-un-id", "procedure"),
    ("?submitted_from=31-12-2026", "submitted_from"),
    ("?submitted_from=2026-05-02&submitted_to=2026-05-01", "submitted_to"),
    ("?assigned=quelquun", "assigned"),
    ("?sort=hasard", "sort"),
])
def test_bad_filters_answer_400_with_the_field(client, agent, dossier, query, field):
    response = client.get(DOSSIERS + query, **token_for(agent))
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert field in body["errors"]


def test_an_agent_of_another_service_sees_nothing(client, other_agent, dossier):
    headers = token_for(other_agent)
    assert client.get(DOSSIERS, **headers).json()["count"] == 0
    assert client.get(f"{DOSSIERS}{dossier.pk}/", **headers).status_code == 404


def test_a_director_reads_every_dossier_in_the_all_box(client, other_service, dossier):
    director = agent_factory(service=other_service, role=Role.DIRECTOR, email="dgs@v.example")
    headers = token_for(director)
    assert client.get(DOSSIERS, **headers).json()["count"] == 0  # "services" by default
    assert client.get(DOSSIERS + "?box=all", **headers).json()["count"] == 1
    assert client.get(f"{DOSSIERS}{dossier.pk}/", **headers).status_code == 200


def test_other_organisations_and_residents_are_refused(client, foreign_agent, resident,
                                                       dossier):
    # A token of another organisation does not authenticate on this one's address…
    assert client.get(DOSSIERS, **token_for(foreign_agent)).status_code == 401
    # …and on its own address, this dossier does not exist.
    response = client.get(f"{DOSSIERS}{dossier.pk}/", HTTP_HOST="autre.localhost",
                          **token_for(foreign_agent))
    assert response.status_code == 404
    # A resident, even the applicant, is no agent.
    response = client.get(f"{DOSSIERS}{dossier.pk}/", **token_for(resident))
    assert response.status_code == 403
    assert client.get(DOSSIERS).status_code == 401


def test_scopes_narrow_a_token(client, agent, dossier):
    assert client.get(DOSSIERS, **token_for(agent, ["procedures:read"])).status_code == 403
    assert client.get(DOSSIERS, **token_for(agent, ["dossiers:write"])).status_code == 200
    response = client.post(f"{DOSSIERS}{dossier.pk}/annotations/", {"body": "Note"},
                           content_type="application/json",
                           **token_for(agent, ["dossiers:read"]))
    assert response.status_code == 403
    assert response.json()["code"] == "scope_missing"


def test_the_list_costs_a_fixed_number_of_queries(client, agent, procedure, resident,
                                                   organisation, django_assert_max_num_queries):
    headers = token_for(agent, ["dossiers:read"])
    label = Label.objects.create(organisation=organisation, name="Suivi")
    file_dossier(procedure, resident, number="2026-000100").labels.add(label)
    client.get(DOSSIERS, **headers)
    with django_assert_max_num_queries(15) as few:
        client.get(DOSSIERS, **headers)
    for i in range(20):
        file_dossier(procedure, resident, number=f"2026-0002{i:02d}").labels.add(label)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(DOSSIERS, **headers)
    assert response.json()["count"] == 21


# --- One dossier ------------------------------------------------------------------------------


def test_a_dossier_reads_like_its_page_and_the_read_is_audited(client, agent, dossier):
    processing.annotate(actor=agent, dossier=dossier, body="Vérifier le justificatif")
    processing.send_agent_message(actor=agent, dossier=dossier, body="Bien reçu.")
    response = client.get(f"{DOSSIERS}{dossier.pk}/", **token_for(agent, ["dossiers:read"]))
    assert response.status_code == 200
    body = response.json()
    assert body["answers"]["nom"] == "Martin"
    assert {"label": "Nom", "value": "Martin"} in body["answers_summary"]
    kinds = [(event["kind"], event["public"]) for event in body["timeline"]]
    assert ("submitted", True) in kinds and ("annotation", False) in kinds
    assert [note["body"] for note in body["annotations"]] == ["Vérifier le justificatif"]
    assert [m["body"] for m in body["messages"]] == ["Bien reçu."]
    transitions = {t["key"]: t for t in body["transitions"]}
    assert transitions["accepter"]["allowed"] is True
    # A read-only token is told it may not act, so a tool shows no dead button.
    assert body["abilities"]["view"] is True and body["abilities"]["process"] is False
    assert AuditEvent.objects.filter(action="procedures.dossier_read", actor=agent).exists()


def test_files_are_links_to_the_permission_checked_download(client, agent, dossier,
                                                            dossier_purpose):
    from mairie.core.files.services import store_upload
    from mairie.procedures.models import DossierFile

    from .processing_helpers import a_pdf

    stored = store_upload(actor=dossier.applicant, organisation=dossier.organisation,
                          uploaded_file=a_pdf("justificatif.pdf"), purpose="dossier-file")
    DossierFile.objects.create(organisation=dossier.organisation, dossier=dossier,
                               field_key="piece", stored_file=stored)
    body = client.get(f"{DOSSIERS}{dossier.pk}/", **token_for(agent)).json()
    assert body["files"] == [{"id": str(stored.pk), "field": "piece",
                              "name": "justificatif.pdf",
                              "url": f"http://testserver/fichiers/{stored.pk}/"}]
