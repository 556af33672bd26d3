"""The workflow editor (/agent/circuits/): who may use it, each edit, refusals with their
French message, concurrency and the audit trail."""

import copy

import pytest
from django.urls import reverse

from mairie.core.audit.models import AuditEvent
from mairie.core.factories import agent_factory
from mairie.core.organisation.models import Role
from mairie.procedures.models import Workflow, WorkflowRoleMapping
from mairie.procedures.queries import RoleHoldings
from mairie.procedures.workflow import validate_workflow

from .agent_helpers import file_dossier
from .conftest import make_procedure, make_workflow

pytestmark = pytest.mark.django_db


@pytest.fixture
def director(service):
    return agent_factory(service=service, role=Role.DIRECTOR, email="dgs@valmont.example")


@pytest.fixture
def workflow(organisation):
    return make_workflow(organisation)


@pytest.fixture
def admin_client(client, administrator):
    client.force_login(administrator)
    return client


def url(name, *args):
    return reverse(f"procedures:{name}", args=args)


def version(workflow):
    workflow.refresh_from_db()
    return workflow.updated_at.isoformat()


def state_data(workflow, **values):
    return {"version": version(workflow), "key": "instruction", "label": "En instruction",
            "public_label": "", "kind": "instruction", "deadline_days": "", **values}


def transition_data(workflow, **values):
    data = {"version": version(workflow), "key": "refuser", "label": "Refuser",
            "from_states": ["depose"], "to": "accepte", "role": "instructor", "guard": "",
            "guard_message": "", "validation": "", "style": "danger", "assign": "",
            "return_to": "", "document": "", "deadline": "", "deadline_days": "",
            "champs-TOTAL_FORMS": "1", "champs-INITIAL_FORMS": "0",
            "champs-MIN_NUM_FORMS": "0", "champs-MAX_NUM_FORMS": "1000",
            "champs-0-key": "", "champs-0-label": "", "champs-0-type": "text",
            "champs-0-choices": "", "champs-0-help": ""}
    data.update(values)
    return data


def audit(action):
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


# --- Who may edit -----------------------------------------------------------------------------


def test_a_plain_agent_is_refused_everywhere(client, agent, workflow):
    client.force_login(agent)
    assert client.get(url("workflows")).status_code == 403
    assert client.get(url("workflow", workflow.pk)).status_code == 403
    response = client.post(url("workflow-state-add", workflow.pk), state_data(workflow))
    assert response.status_code == 403
    workflow.refresh_from_db()
    assert [s["key"] for s in workflow.states] == ["brouillon", "depose", "accepte"]
    assert "Circuits" not in client.get(reverse("web:agent-home")).content.decode()


def test_a_resident_and_an_agent_of_another_organisation_are_refused(client, resident,
                                                                   foreign_agent, workflow):
    client.force_login(resident)
    assert client.get(url("workflow", workflow.pk)).status_code == 403
    client.force_login(foreign_agent)
    # Not a user of this organisation: treated as signed out here.
    response = client.get(url("workflow", workflow.pk))
    assert response.status_code == 302 and "login" in response["Location"]
    response = client.post(url("workflow-state-add", workflow.pk), state_data(workflow))
    assert response.status_code == 302
    workflow.refresh_from_db()
    assert len(workflow.states) == 3


def test_anonymous_visitors_are_sent_to_the_login_page(client, workflow):
    response = client.get(url("workflows"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_another_organisations_workflow_is_not_found(admin_client, other_organisation):
    foreign = make_workflow(other_organisation)
    assert admin_client.get(url("workflow", foreign.pk)).status_code == 404
    response = admin_client.post(url("workflow-state-add", foreign.pk), state_data(foreign))
    assert response.status_code == 404
    foreign.refresh_from_db()
    assert len(foreign.states) == 3


def test_a_director_may_edit_and_sees_the_menu_entry(client, director, workflow):
    client.force_login(director)
    response = client.get(url("workflows"))
    assert response.status_code == 200
    assert f'href="{url("workflows")}"' in response.content.decode()


# --- List, create, rename ----------------------------------------------------------------------


def test_the_list_shows_workflows_with_the_procedures_using_them(
        admin_client, organisation, service, administrator, django_assert_max_num_queries):
    procedure = make_procedure(organisation, service, actor=administrator)
    for n in range(5):
        Workflow.objects.create(organisation=organisation, name=f"Circuit {n}",
                                states=[], transitions=[], roles=[])
    with django_assert_max_num_queries(12):
        response = admin_client.get(url("workflows"))
    page = response.content.decode()
    assert procedure.title in page
    assert "Circuit 4" in page


def test_creating_a_blank_workflow(admin_client, organisation, administrator):
    response = admin_client.post(url("workflows"), {"name": "Demandes internes", "source": ""})
    workflow = Workflow.objects.get(organisation=organisation, name="Demandes internes")
    assert response.status_code == 302 and response["Location"] == url("workflow", workflow.pk)
    assert [s["kind"] for s in workflow.states] == ["draft", "submitted"]
    assert workflow.role_keys() == ["instructeur"]
    assert validate_workflow(states=workflow.states, transitions=workflow.transitions,
                             roles=workflow.roles, documents=workflow.documents) == []
    event = audit("procedures.workflow_created")[-1]
    assert event.actor == administrator and event.object_id == str(workflow.pk)


def test_duplicating_a_workflow(admin_client, organisation, workflow):
    admin_client.post(url("workflows"), {"name": "Copie", "source": str(workflow.pk)})
    copy = Workflow.objects.get(organisation=organisation, name="Copie")
    assert copy.pk != workflow.pk
    assert copy.states == workflow.states and copy.transitions == workflow.transitions


def test_duplicating_another_organisations_workflow_is_impossible(admin_client, organisation,
                                                                  other_organisation):
    foreign = make_workflow(other_organisation)
    response = admin_client.post(url("workflows"), {"name": "Vol", "source": str(foreign.pk)})
    assert response.status_code == 200
    assert "Sélectionnez un choix valide" in response.content.decode()
    assert not Workflow.objects.filter(name="Vol").exists()


def test_renaming(admin_client, workflow):
    response = admin_client.post(url("workflow-rename", workflow.pk),
                                 {"version": version(workflow), "name": "Circuit court"})
    assert response.status_code == 302
    workflow.refresh_from_db()
    assert workflow.name == "Circuit court"
    event = audit("procedures.workflow_renamed")[-1]
    assert event.details == {"before": "Simple", "after": "Circuit court"}


# --- States --------------------------------------------------------------------------------------


def test_adding_a_state(admin_client, workflow, administrator):
    response = admin_client.post(url("workflow-state-add", workflow.pk),
                                 state_data(workflow, deadline_days="30",
                                            public_label="En cours d'étude"))
    assert response.status_code == 302
    workflow.refresh_from_db()
    assert workflow.states[-1] == {"key": "instruction", "label": "En instruction",
                                   "kind": "instruction", "public_label": "En cours d'étude",
                                   "deadline_days": 30}
    event = audit("procedures.workflow_changed")[-1]
    assert event.actor == administrator
    assert event.details["change"] == "state_added" and event.details["key"] == "instruction"


def test_a_duplicate_or_malformed_state_key_is_refused_and_the_input_kept(admin_client,
                                                                          workflow):
    before = version(workflow)
    response = admin_client.post(url("workflow-state-add", workflow.pk),
                                 state_data(workflow, key="depose", label="Mon libellé"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "La clé « depose » est déjà utilisée dans ce circuit." in page
    assert 'value="Mon libellé"' in page
    response = admin_client.post(url("workflow-state-add", workflow.pk),
                                 state_data(workflow, key="En Instruction"))
    assert "Clé invalide" in response.content.decode()
    assert version(workflow) == before


def test_changing_a_state_key_follows_in_the_transitions(admin_client, workflow):
    admin_client.post(url("workflow-state", workflow.pk, "accepte"),
                      state_data(workflow, key="favorable", label="Avis favorable",
                                 kind="final"))
    workflow.refresh_from_db()
    assert workflow.states[-1]["key"] == "favorable"
    assert workflow.transitions[0]["to"] == "favorable"


def test_removing_a_state_dossiers_are_in_is_refused_with_their_number(
        admin_client, organisation, service, administrator, resident):
    procedure = make_procedure(organisation, service, actor=administrator)
    workflow = procedure.current_version.workflow
    for n in range(2):
        file_dossier(procedure, resident, number=f"2026-00000{n}", state="accepte")
    response = admin_client.post(url("workflow-state-delete", workflow.pk, "accepte"),
                                 {"version": version(workflow)})
    assert response.status_code == 200
    page = response.content.decode()
    assert "2 dossiers s&#x27;y trouvent" in page or "2 dossiers s'y trouvent" in page
    workflow.refresh_from_db()
    assert "accepte" in [s["key"] for s in workflow.states]
    # Renaming its key is refused for the same reason.
    response = admin_client.post(url("workflow-state", workflow.pk, "accepte"),
                                 state_data(workflow, key="ok", label="OK", kind="final"))
    assert "ne peut pas être supprimé ni changer de clé" in response.content.decode()


def test_removing_a_state_a_transition_uses_is_refused_by_the_engine_check(admin_client,
                                                                          workflow):
    response = admin_client.post(url("workflow-state-delete", workflow.pk, "accepte"),
                                 {"version": version(workflow)})
    assert response.status_code == 200
    assert "« accepte » n&#x27;existe pas" in response.content.decode()


def test_removing_an_unused_state_and_moving_states(admin_client, workflow):
    admin_client.post(url("workflow-state-add", workflow.pk), state_data(workflow))
    admin_client.post(url("workflow-state-move", workflow.pk, "instruction"),
                      {"version": version(workflow), "direction": "up"})
    workflow.refresh_from_db()
    assert [s["key"] for s in workflow.states] == ["brouillon", "depose", "instruction",
                                                   "accepte"]
    response = admin_client.post(url("workflow-state-delete", workflow.pk, "instruction"),
                                 {"version": version(workflow)})
    assert response.status_code == 302
    workflow.refresh_from_db()
    assert "instruction" not in [s["key"] for s in workflow.states]
    assert audit("procedures.workflow_changed")[-1].details["change"] == "state_deleted"


def test_an_unknown_state_is_a_404(admin_client, workflow):
    assert admin_client.get(url("workflow-state", workflow.pk, "nulle-part")).status_code == 404


# --- Transitions -------------------------------------------------------------------------------


def test_adding_a_transition_with_fields_and_actions(admin_client, workflow):
    data = transition_data(
        workflow, ask_motivation="on", ask_comment="on", validation="approve",
        signature="on", notify=["applicant", "role:instructor"], assign="self",
        deadline="set", deadline_days="15", guard="age >= 18",
        guard_message="Le demandeur doit être majeur.",
        **{"champs-0-key": "montant", "champs-0-label": "Montant accordé",
           "champs-0-type": "number", "champs-0-required": "on"})
    response = admin_client.post(url("workflow-transition-add", workflow.pk), data)
    assert response.status_code == 302, response.content.decode()
    workflow.refresh_from_db()
    transition = workflow.transitions[-1]
    assert transition["from"] == "depose" and transition["to"] == "accepte"
    assert transition["guard"] == "age >= 18"
    assert transition["required_fields"] == [
        "motivation", "comment",
        {"key": "montant", "label": "Montant accordé", "type": "number", "required": True}]
    assert transition["validation"] == "approve" and transition["signature"] is True
    assert transition["actions"] == [
        {"type": "assign", "to": "self"}, {"type": "deadline", "days": 15},
        {"type": "notify", "to": "applicant"}, {"type": "notify", "to": "role:instructor"}]
    detail = admin_client.get(url("workflow", workflow.pk)).content.decode()
    assert "Refuser" in detail and "age &gt;= 18" in detail
    assert "Prévient le demandeur" in detail and "Motivation (obligatoire)" in detail


def test_editing_a_transition_keeps_what_the_form_does_not_know(admin_client, workflow):
    # (copies: the fixture's dicts are shared between tests)
    workflow.transitions = copy.deepcopy(workflow.transitions)
    workflow.transitions[0].update({"public": False, "return_to": "depose",
                                    "actions": ["notify"]})
    workflow.save()
    page = admin_client.get(url("workflow-transition", workflow.pk, "accepter")).content
    assert 'value="applicant" id="id_notify_0" checked' in page.decode()
    data = transition_data(workflow, key="accepter", label="Accepter", style="primary",
                           from_states=["depose"], notify=["applicant"])
    response = admin_client.post(url("workflow-transition", workflow.pk, "accepter"), data)
    assert response.status_code == 302
    workflow.refresh_from_db()
    transition = workflow.transitions[0]
    assert transition["public"] is False and transition["style"] == "primary"
    assert transition["actions"] == [{"type": "notify", "to": "applicant"}]
    assert "return_to" not in transition  # no correction is asked any more


def test_a_bad_guard_is_refused_next_to_its_field(admin_client, workflow):
    before = version(workflow)
    response = admin_client.post(url("workflow-transition-add", workflow.pk),
                                 transition_data(workflow, guard="age >= (18"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Syntaxe incorrecte" in page
    assert 'id="id_guard_error"' in page
    assert 'value="age &gt;= (18"' in page
    assert version(workflow) == before


def test_an_unknown_state_or_a_duplicate_key_is_refused(admin_client, workflow):
    response = admin_client.post(url("workflow-transition-add", workflow.pk),
                                 transition_data(workflow, to="nulle_part"))
    assert "Sélectionnez un choix valide" in response.content.decode()
    response = admin_client.post(url("workflow-transition-add", workflow.pk),
                                 transition_data(workflow, key="accepter"))
    assert "La clé « accepter » est déjà utilisée" in response.content.decode()
    workflow.refresh_from_db()
    assert len(workflow.transitions) == 1


def test_the_engine_check_is_shown_when_the_form_alone_cannot_tell(admin_client, workflow):
    # Leaving a draft is only done by filing: the engine's validate_workflow says so.
    response = admin_client.post(url("workflow-transition-add", workflow.pk),
                                 transition_data(workflow, from_states=["brouillon"]))
    assert response.status_code == 200
    assert "brouillon" in response.content.decode()
    workflow.refresh_from_db()
    assert len(workflow.transitions) == 1


def test_a_transition_from_several_states_and_its_deletion(admin_client, workflow):
    response = admin_client.post(url("workflow-state-add", workflow.pk), state_data(workflow))
    assert response.status_code == 302
    response = admin_client.post(url("workflow-transition-add", workflow.pk),
                                 transition_data(workflow, from_states=["depose", "instruction"]))
    assert response.status_code == 302
    workflow.refresh_from_db()
    assert workflow.transitions[-1]["from"] == ["depose", "instruction"]
    response = admin_client.post(url("workflow-transition-delete", workflow.pk, "refuser"),
                                 {"version": version(workflow)})
    assert response.status_code == 302
    workflow.refresh_from_db()
    assert [t["key"] for t in workflow.transitions] == ["accepter"]


# --- Roles ---------------------------------------------------------------------------------------


def roles_data(workflow, rows):
    data = {"version": version(workflow), "roles-TOTAL_FORMS": str(len(rows)),
            "roles-INITIAL_FORMS": str(len(workflow.role_keys())),
            "roles-MIN_NUM_FORMS": "0", "roles-MAX_NUM_FORMS": "1000"}
    for n, row in enumerate(rows):
        for name, value in row.items():
            data[f"roles-{n}-{name}"] = value
    return data


def test_roles_get_human_labels_and_stay_readable_by_the_role_queries(
        admin_client, organisation, service, administrator, agent):
    procedure = make_procedure(organisation, service, actor=administrator)
    workflow = procedure.current_version.workflow
    response = admin_client.post(url("workflow-roles", workflow.pk), roles_data(workflow, [
        {"label": "Instructeur"}, {"key": "signataire", "label": "Signataire"}]))
    assert response.status_code == 302
    workflow.refresh_from_db()
    assert workflow.roles == [{"key": "instructor", "label": "Instructeur"},
                              {"key": "signataire", "label": "Signataire"}]
    assert workflow.role_label("signataire") == "Signataire"
    assert RoleHoldings(agent, organisation).roles_for(procedure, workflow) == {
        "instructor", "signataire"}
    assert audit("procedures.workflow_changed")[-1].details["change"] == "roles_changed"


def test_removing_a_role_a_transition_or_a_procedure_uses_is_refused(
        admin_client, organisation, service, other_service, administrator):
    procedure = make_procedure(organisation, service, actor=administrator)
    workflow = procedure.current_version.workflow
    response = admin_client.post(url("workflow-roles", workflow.pk), roles_data(
        workflow, [{"label": "Instructeur", "DELETE": "on"}]))
    assert response.status_code == 200
    assert "instructor" in response.content.decode()
    WorkflowRoleMapping.objects.create(organisation=organisation, definition=procedure,
                                       role="instructor", service=other_service)
    workflow.transitions = []
    workflow.save()
    response = admin_client.post(url("workflow-roles", workflow.pk), roles_data(
        workflow, [{"label": "Instructeur", "DELETE": "on"}]))
    assert "est attribué à un service dans la démarche « Aide de test »" in \
        response.content.decode()
    workflow.refresh_from_db()
    assert workflow.role_keys() == ["instructor"]


def test_applicant_and_duplicate_role_keys_are_refused(admin_client, workflow):
    response = admin_client.post(url("workflow-roles", workflow.pk), roles_data(
        workflow, [{"label": "Instructeur"}, {"key": "applicant", "label": "Demandeur"}]))
    assert "désigne déjà le demandeur" in response.content.decode()
    response = admin_client.post(url("workflow-roles", workflow.pk), roles_data(
        workflow, [{"label": "Instructeur"}, {"key": "chef", "label": "A"},
                   {"key": "chef", "label": "B"}]))
    assert "Deux rôles ont la même clé : chef." in response.content.decode()


# --- Documents -----------------------------------------------------------------------------------


def test_document_templates_with_placeholders(admin_client, workflow):
    page = admin_client.get(url("workflow-document-add", workflow.pk)).content.decode()
    assert "{{ dossier.number }}" in page and "Repères disponibles" in page
    body = "Dossier {{ dossier.number }} de {{ applicant.name }} : {{ decision.motivation }}"
    response = admin_client.post(url("workflow-document-add", workflow.pk), {
        "version": version(workflow), "key": "lettre", "title": "Lettre", "body": body})
    assert response.status_code == 302
    workflow.refresh_from_db()
    assert workflow.documents == {"lettre": {"title": "Lettre", "body": body}}
    response = admin_client.post(url("workflow-document", workflow.pk, "lettre"), {
        "version": version(workflow), "key": "lettre", "title": "Lettre",
        "body": "Bonjour {{ usager.nom }}"})
    assert response.status_code == 200
    assert "usager.nom" in response.content.decode()
    assert 'id="id_body_error"' in response.content.decode()


def test_a_document_a_transition_produces_cannot_be_deleted(admin_client, workflow):
    workflow.documents = {"lettre": {"title": "Lettre", "body": "Bonjour"}}
    workflow.transitions = copy.deepcopy(workflow.transitions)
    workflow.transitions[0]["actions"] = [{"type": "document", "template": "lettre",
                                           "visible_to_applicant": True}]
    workflow.save()
    response = admin_client.post(url("workflow-document-delete", workflow.pk, "lettre"),
                                 {"version": version(workflow)})
    assert response.status_code == 200
    assert "Ce modèle est produit par les transitions « Accepter »" in \
        response.content.decode()
    workflow.refresh_from_db()
    assert "lettre" in workflow.documents
    page = admin_client.get(url("workflow", workflow.pk)).content.decode()
    assert "Produit le document « Lettre »" in page


# --- Concurrency and the readable view -----------------------------------------------------------


def test_a_stale_edit_writes_nothing_keeps_the_input_and_lets_a_knowing_save_through(
        admin_client, workflow):
    seen = version(workflow)
    admin_client.post(url("workflow-state-add", workflow.pk),
                      state_data(workflow, key="autre", label="Ajouté par un collègue"))
    response = admin_client.post(url("workflow-state-add", workflow.pk),
                                 {**state_data(workflow, label="Mon état"), "version": seen})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Quelqu&#x27;un a modifié ce circuit" in page
    assert 'value="Mon état"' in page
    workflow.refresh_from_db()
    assert [s["key"] for s in workflow.states][-1] == "autre"
    assert f'value="{workflow.updated_at.isoformat()}"' in page
    response = admin_client.post(url("workflow-state-add", workflow.pk),
                                 state_data(workflow, label="Mon état"))
    assert response.status_code == 302


def test_the_readable_view_lists_states_in_order_with_their_transitions(admin_client,
                                                                        workflow):
    page = admin_client.get(url("workflow", workflow.pk)).content.decode()
    assert page.index("Brouillon") < page.index("Déposé") < page.index("Accepté")
    assert "Étapes possibles depuis « Déposé »" in page
    assert "Aucune étape ne part de cet état." in page


def test_every_editor_page_renders_for_an_existing_workflow(admin_client, workflow):
    workflow.documents = {"lettre": {"title": "Lettre", "body": "Bonjour"}}
    workflow.save()
    for name, args in [("workflow-rename", ()), ("workflow-roles", ()),
                       ("workflow-state", ("depose",)), ("workflow-state-add", ()),
                       ("workflow-state-delete", ("accepte",)),
                       ("workflow-transition", ("accepter",)),
                       ("workflow-transition-add", ()),
                       ("workflow-transition-delete", ("accepter",)),
                       ("workflow-document", ("lettre",)),
                       ("workflow-document-delete", ("lettre",))]:
        response = admin_client.get(url(name, workflow.pk, *args))
        assert response.status_code == 200, name
        assert f'value="{workflow.updated_at.isoformat()}"' in response.content.decode(), name


def test_a_transition_asking_a_correction_a_choice_and_producing_a_document(admin_client,
                                                                            workflow):
    workflow.states = [*workflow.states,
                       {"key": "attente", "label": "En attente", "kind": "waiting"}]
    workflow.documents = {"lettre": {"title": "Lettre", "body": "Bonjour"}}
    workflow.save()
    response = admin_client.post(url("workflow-transition-add", workflow.pk), transition_data(
        workflow, key="completer", label="Demander un complément", to="attente",
        request_correction="on", return_to="depose", request_opinion="on",
        document="lettre", deadline="clear", assign="role:instructor",
        **{"champs-0-key": "avis", "champs-0-label": "Avis", "champs-0-type": "choice",
           "champs-0-choices": "favorable | Favorable\ndefavorable"}))
    assert response.status_code == 302
    workflow.refresh_from_db()
    transition = workflow.transitions[-1]
    assert transition["return_to"] == "depose"
    assert transition["required_fields"] == [{
        "key": "avis", "label": "Avis", "type": "choice", "required": False,
        "choices": [{"value": "favorable", "label": "Favorable"},
                    {"value": "defavorable", "label": "defavorable"}]}]
    assert transition["actions"] == [
        {"type": "assign", "to": "role:instructor"}, {"type": "request_correction"},
        {"type": "request_opinion"}, {"type": "deadline", "clear": True},
        {"type": "document", "template": "lettre", "visible_to_applicant": False}]
    page = admin_client.get(url("workflow", workflow.pk)).content.decode()
    assert "Demande une correction au demandeur" in page
    assert "(réservé aux agents)" in page
