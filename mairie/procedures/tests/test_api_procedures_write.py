"""REST API, writes: filing a dossier on behalf of an applicant, taking a transition (stale
lock, guard, required fields, roles), writing a message, adding an annotation."""

import pytest

from mairie.core.audit.models import AuditEvent
from mairie.core.factories import agent_factory
from mairie.core.notifications.models import Notification
from mairie.core.organisation.models import Role
from mairie.procedures.models import Dossier, DossierAnnotation, DossierMessage

from .api_helpers import (
    file_dossier,
    make_api_procedure,
    token_for,
)

pytestmark = pytest.mark.django_db

DOSSIERS = "/api/v1/dossiers/"
ANSWERS = {"nom": "Martin", "age": 42, "situation": "couple", "conjoint": "Durand",
           "courriel": "m@example.org"}


@pytest.fixture
def procedure(organisation, service, administrator):
    return make_api_procedure(organisation, service, actor=administrator)


@pytest.fixture
def dossier(procedure, resident):
    return file_dossier(procedure, resident, number="2026-000001")


def post(client, url, data, headers):
    return client.post(url, data, content_type="application/json", **headers)


# --- Filing on behalf of an applicant -------------------------------------------------------


def test_an_agent_files_a_dossier_for_a_resident(client, agent, procedure, resident, mailoutbox,
                                                 django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, DOSSIERS, {"procedure": str(procedure.pk),
                                           "applicant_email": "HABITANT@example.org",
                                           "answers": ANSWERS},
                        token_for(agent, ["dossiers:write"]))
    assert response.status_code == 201, response.json()
    body = response.json()
    dossier = Dossier.objects.get(pk=body["id"])
    assert dossier.applicant == resident  # their account: it shows in "Mes démarches"
    assert dossier.number and dossier.state == "depose" and dossier.submitted_at
    assert dossier.data["conjoint"] == "Durand" and dossier.data["age"] == "42"
    assert body["number"] == dossier.number
    assert [e["kind"] for e in body["timeline"]] == ["started", "submitted"]
    assert AuditEvent.objects.filter(action="procedures.dossier_filed_on_behalf",
                                     actor=agent).exists()
    assert mailoutbox[0].to == ["habitant@example.org"]


def test_without_an_account_the_dossier_is_followed_by_its_tracking_link(
        client, agent, procedure, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, DOSSIERS, {"procedure": str(procedure.pk),
                                           "applicant_email": "passant@example.org",
                                           "answers": {**ANSWERS, "situation": "seul",
                                                       "conjoint": None}},
                        token_for(agent))
    assert response.status_code == 201, response.json()
    dossier = Dossier.objects.get(pk=response.json()["id"])
    assert dossier.applicant is None and dossier.applicant_email == "passant@example.org"
    assert dossier.data["conjoint"] is None
    assert dossier.tracking_code in mailoutbox[0].body


@pytest.mark.parametrize(("answers", "errors"), [
    ({**ANSWERS, "age": "vieux"}, {"answers.age"}),
    ({**ANSWERS, "age": 200}, {"answers.age"}),
    ({**ANSWERS, "conjoint": ""}, {"answers.conjoint"}),  # required when "en couple"
    ({**ANSWERS, "situation": "marie"}, {"answers.situation"}),
    ({**ANSWERS, "courriel": "pas-un-courriel"}, {"answers.courriel"}),
    ({**ANSWERS, "inconnu": "x"}, {"answers.inconnu"}),
    ({"nom": "Martin"}, {"answers.age", "answers.situation", "answers.courriel"}),
])
def test_invalid_answers_are_refused_field_by_field(client, agent, procedure, answers,
                                                    errors):
    response = post(client, DOSSIERS, {"procedure": str(procedure.pk),
                                       "applicant_email": "a@example.org", "answers": answers},
                    token_for(agent))
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert set(body["errors"]) == errors
    assert all(message for field in errors for message in body["errors"][field])
    assert not Dossier.objects.exists()


def test_files_cannot_be_sent_as_json(client, agent, procedure):
    response = post(client, DOSSIERS, {"procedure": str(procedure.pk),
                                       "applicant_email": "a@example.org",
                                       "answers": {**ANSWERS, "piece": "fichier.pdf"}},
                    token_for(agent))
    assert response.status_code == 400
    assert "fichiers" in response.json()["errors"]["answers.piece"][0]


def test_only_agents_processing_the_procedure_may_file(client, other_service, procedure,
                                                       resident, foreign_agent):
    urbanisme = agent_factory(service=other_service, email="urba@v.example")
    data = {"procedure": str(procedure.pk), "applicant_email": "a@example.org",
            "answers": ANSWERS}
    response = post(client, DOSSIERS, data, token_for(urbanisme))
    assert response.status_code == 400
    assert "procedure" in response.json()["errors"]
    assert post(client, DOSSIERS, data, token_for(resident)).status_code == 403
    response = client.post(DOSSIERS, data, content_type="application/json",
                           HTTP_HOST="autre.localhost", **token_for(foreign_agent))
    assert response.status_code == 400  # not one of their organisation's procedures
    assert not Dossier.objects.exists()


def test_a_closed_procedure_refuses_new_dossiers(client, agent, procedure):
    from django.utils import timezone

    procedure.closes_at = timezone.now()
    procedure.save()
    response = post(client, DOSSIERS, {"procedure": str(procedure.pk),
                                       "applicant_email": "a@example.org", "answers": ANSWERS},
                    token_for(agent))
    assert response.status_code == 400
    assert "close" in response.json()["errors"]["non_field_errors"][0]


# --- Transitions ------------------------------------------------------------------------------


def test_an_agent_takes_a_transition(client, agent, dossier):
    response = post(client, f"{DOSSIERS}{dossier.pk}/transitions/",
                    {"key": "accepter", "lock_version": 0}, token_for(agent))
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["state"], body["lock_version"]) == ("accepte", 1)
    dossier.refresh_from_db()
    assert dossier.state == "accepte" and dossier.decided_at is not None
    assert AuditEvent.objects.filter(action="procedures.transition_applied").exists()


def test_a_stale_lock_version_is_a_conflict(client, agent, dossier):
    headers = token_for(agent)
    response = post(client, f"{DOSSIERS}{dossier.pk}/transitions/",
                    {"key": "refuser", "lock_version": 3, "values": {"motivation": "Non."}},
                    headers)
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "stale"
    assert "version 0" in body["detail"]
    dossier.refresh_from_db()
    assert dossier.state == "depose"


def test_a_false_guard_refuses_with_its_message(client, agent, procedure, resident):
    minor = file_dossier(procedure, resident, number="2026-000002",
                         data={"nom": "Petit", "age": 12, "situation": "seul",
                               "courriel": "p@example.org"})
    response = post(client, f"{DOSSIERS}{minor.pk}/transitions/",
                    {"key": "accepter", "lock_version": 0}, token_for(agent))
    assert response.status_code == 400
    assert response.json()["errors"]["non_field_errors"] == ["Le demandeur doit être majeur."]
    minor.refresh_from_db()
    assert minor.state == "depose"


def test_missing_required_fields_are_reported_by_field(client, agent, dossier):
    response = post(client, f"{DOSSIERS}{dossier.pk}/transitions/",
                    {"key": "refuser", "lock_version": 0, "values": {}}, token_for(agent))
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert "values.motivation" in errors
    assert "obligatoire" in errors["values.motivation"][0]
    response = post(client, f"{DOSSIERS}{dossier.pk}/transitions/",
                    {"key": "refuser", "lock_version": 0,
                     "values": {"motivation": "Hors critères."}}, token_for(agent))
    assert response.status_code == 200
    assert response.json()["processing_data"] == {"motivation": "Hors critères."}


def test_unknown_step_and_wrong_state_are_refused(client, agent, dossier):
    headers = token_for(agent)
    response = post(client, f"{DOSSIERS}{dossier.pk}/transitions/",
                    {"key": "envoler", "lock_version": 0}, headers)
    assert response.status_code == 400
    post(client, f"{DOSSIERS}{dossier.pk}/transitions/", {"key": "accepter", "lock_version": 0},
         headers)
    response = post(client, f"{DOSSIERS}{dossier.pk}/transitions/",
                    {"key": "accepter", "lock_version": 1}, headers)
    assert response.status_code == 400
    assert "pas possible" in response.json()["errors"]["non_field_errors"][0]


def test_reading_is_not_acting(client, other_service, dossier):
    """A director reads every dossier but takes no step without the workflow role."""
    director = agent_factory(service=other_service, role=Role.DIRECTOR, email="dgs@v.example")
    headers = token_for(director)
    response = post(client, f"{DOSSIERS}{dossier.pk}/transitions/",
                    {"key": "accepter", "lock_version": 0}, headers)
    assert response.status_code == 403
    assert post(client, f"{DOSSIERS}{dossier.pk}/annotations/", {"body": "x"},
                headers).status_code == 403
    assert post(client, f"{DOSSIERS}{dossier.pk}/messages/", {"body": "x"},
                headers).status_code == 403


def test_other_services_and_organisations_get_404(client, other_service, foreign_agent,
                                                  dossier):
    urbanisme = agent_factory(service=other_service, email="urba@v.example")
    for action in ("transitions", "messages", "annotations"):
        assert post(client, f"{DOSSIERS}{dossier.pk}/{action}/",
                    {"key": "accepter", "lock_version": 0, "body": "x"},
                    token_for(urbanisme)).status_code == 404
        response = client.post(f"{DOSSIERS}{dossier.pk}/{action}/", {"body": "x"},
                               content_type="application/json", HTTP_HOST="autre.localhost",
                               **token_for(foreign_agent))
        assert response.status_code == 404
    dossier.refresh_from_db()
    assert dossier.state == "depose"
    assert not DossierMessage.objects.exists() and not DossierAnnotation.objects.exists()


# --- Messages and annotations ----------------------------------------------------------------


def test_an_agent_writes_to_the_applicant(client, agent, dossier, resident):
    response = post(client, f"{DOSSIERS}{dossier.pk}/messages/",
                    {"body": "Merci d'envoyer votre avis d'imposition."}, token_for(agent))
    assert response.status_code == 201
    body = response.json()
    assert body["body"] == "Merci d'envoyer votre avis d'imposition."
    assert body["from_applicant"] is False
    assert Notification.objects.filter(recipient=resident).exists()
    event = dossier.events.get(kind="message")
    assert event.public is True


def test_an_agent_adds_a_private_annotation(client, agent, dossier, resident):
    response = post(client, f"{DOSSIERS}{dossier.pk}/annotations/",
                    {"body": "Dossier prioritaire."}, token_for(agent))
    assert response.status_code == 201
    assert DossierAnnotation.objects.get().body == "Dossier prioritaire."
    assert dossier.events.get(kind="annotation").public is False
    assert not Notification.objects.filter(recipient=resident).exists()


@pytest.mark.parametrize("body", [{"body": ""}, {"body": "   "}, {}, {"body": "x" * 5001}])
def test_empty_or_too_long_texts_are_refused(client, agent, dossier, body):
    response = post(client, f"{DOSSIERS}{dossier.pk}/messages/", body, token_for(agent))
    assert response.status_code == 400
    assert response.json()["errors"]
    assert not DossierMessage.objects.exists()
