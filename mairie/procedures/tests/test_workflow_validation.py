"""Checking a workflow when it is saved (`validate_workflow`, `Workflow.clean`) and when a
procedure is published with it (`check_guards_against_schema`): clear French messages."""

import copy

import pytest
from django.core.exceptions import ValidationError

from mairie.procedures.models import ProcedureDefinition
from mairie.procedures.services import publish_version
from mairie.procedures.workflow import validate_workflow

from .conftest import SCHEMA
from .workflow_helpers import DOCUMENTS, ROLES, STATES, TRANSITIONS, chain_workflow


def check(**changes):
    values = {"states": STATES, "transitions": TRANSITIONS, "roles": ROLES,
              "documents": DOCUMENTS}
    values.update(copy.deepcopy(changes))
    return validate_workflow(**values)


def with_transition(**fields):
    transition = {"key": "essai", "label": "Essai", "from": "instruction", "to": "accorde",
                  "role": "instructor", **fields}
    return check(transitions=[*TRANSITIONS, transition])


def test_the_sample_workflow_is_valid():
    assert check() == []


def test_states_need_unique_keys_known_kinds_and_a_draft_and_submitted_state():
    errors = check(states=[{"key": "a", "label": "A", "kind": "submitted"},
                           {"key": "a", "label": "B", "kind": "final"},
                           {"key": "c", "label": "C", "kind": "archive"}], transitions=[])
    assert "Chaque état doit avoir une clé unique." in errors
    assert ("L'état « c » a un type inconnu « archive » (types possibles : draft, submitted, "
            "instruction, waiting, validation, final).") in errors
    assert "Il faut un état de type « Brouillon »." in errors


def test_a_bad_deadline_is_refused():
    states = [*STATES, {"key": "x", "label": "X", "kind": "waiting", "deadline_days": "10"}]
    assert check(states=states) == [
        "L'état « x » : le délai (deadline_days) doit être un nombre entier de jours positif."]


@pytest.mark.parametrize("fields, message", [
    ({"from": "nulle_part"}, "La transition « essai » : l'état de départ « nulle_part » "
                             "n'existe pas."),
    ({"to": "ailleurs"}, "La transition « essai » : l'état d'arrivée « ailleurs » n'existe "
                         "pas."),
    ({"role": "maire"}, "La transition « essai » : le rôle « maire » n'est pas déclaré (rôles : "
                        "instructor, head, dgs, mayor, ou « applicant » pour le demandeur)."),
    ({"role": ""}, "La transition « essai » : elle doit indiquer le rôle qui peut la "
                   "franchir."),
    ({"actions": ["envoyer_fax"]}, "La transition « essai » : action inconnue « envoyer_fax » "
                                   "(actions possibles : notify, assign, request_correction, "
                                   "request_opinion, document, deadline)."),
    ({"actions": [{"type": "notify", "to": "role:maire"}]},
     "La transition « essai » : notification à « role:maire » : écrivez applicant, assignee ou "
     "role:<un rôle déclaré>."),
    ({"actions": [{"type": "assign", "to": "lui"}]},
     "La transition « essai » : affectation à « lui » : écrivez self, none ou role:<un rôle "
     "déclaré>."),
    ({"actions": [{"type": "document", "template": "attestation"}]},
     "La transition « essai » : le document « attestation » n'est pas un modèle du circuit "
     "(modèles : lettre_decision, lettre_refus, note_interne)."),
    ({"actions": [{"type": "deadline", "days": 0}]},
     "La transition « essai » : un délai demande « days » (nombre entier de jours positif) ou "
     "« clear »: true."),
    ({"guard": "age >>= 3"}, "La transition « essai » : garde incorrecte : Syntaxe incorrecte "
                             ": vérifiez les guillemets, les parenthèses et les opérateurs. "
                             "(caractère 5)"),
    ({"guard": "age ** 2 > 3"}, "La transition « essai » : garde incorrecte : Construction non "
                                "autorisée : la puissance (**) (caractère 1)"),
    ({"required_fields": [{"key": "date_effet", "type": "calendar"}]},
     "La transition « essai » : le champ « date_effet » a un type inconnu « calendar » (types "
     "possibles : text, textarea, date, number, choice)."),
    ({"required_fields": [{"key": "avis", "type": "choice"}]},
     "La transition « essai » : le champ « avis » est un choix : donnez ses « choices »."),
    ({"signature": True}, "La transition « essai » : une signature est une validation : "
                          "ajoutez \"validation\": \"approve\"."),
    ({"validation": "maybe"}, "La transition « essai » : « validation » vaut « approve » ou "
                              "« reject »."),
])
def test_transition_mistakes_are_explained(fields, message):
    errors = with_transition(**fields)
    assert message in errors, errors


def test_duplicate_transition_keys_are_refused():
    errors = check(transitions=[*TRANSITIONS, dict(TRANSITIONS[0])])
    assert errors == ["La transition « prendre » : la clé est déjà utilisée par une autre "
                      "transition."]


def test_leaving_a_final_state_must_be_explicit():
    errors = with_transition(**{"from": "refuse", "to": "instruction"})
    assert errors == ["La transition « essai » : elle part de l'état final « refuse » : si "
                      "c'est voulu (rouvrir un dossier décidé), ajoutez \"reopen\": true."]
    assert with_transition(**{"from": "refuse", "to": "instruction", "reopen": True}) == []


def test_the_applicant_pseudo_role_is_not_declared():
    assert ("« applicant » n'est pas un rôle à déclarer : il désigne toujours le demandeur du "
            "dossier.") in check(roles=[*ROLES, "applicant"])


def test_unknown_document_placeholders_are_refused():
    documents = {**DOCUMENTS, "lettre": {"title": "Lettre",
                                         "body": "{{ dossier.secret }} {{ data.nom }} {{ x"}}
    errors = check(documents=documents)
    assert len(errors) == 2
    assert errors[0].startswith("Le modèle de document « lettre » utilise « {{ dossier.secret "
                                "}} », inconnu. Possibles : {{ dossier.number }}")
    assert errors[1] == ("Le modèle de document « lettre » contient des accolades « {{ » ou "
                         "« }} » non refermées.")


def test_workflow_clean_uses_the_engine_checks(organisation):
    workflow = chain_workflow(organisation)
    workflow.full_clean()
    workflow.transitions = [*workflow.transitions,
                            {"key": "x", "label": "X", "from": "depose", "to": "accorde",
                             "role": "instructor", "actions": ["fax"]}]
    with pytest.raises(ValidationError) as error:
        workflow.full_clean()
    assert "La transition « x » : action inconnue « fax »" in str(error.value)


def test_publishing_refuses_a_guard_on_an_unknown_field(organisation, service, administrator):
    transitions = copy.deepcopy(TRANSITIONS)
    transitions[1]["guard"] = "montant <= 5000"
    workflow = chain_workflow(organisation, transitions=transitions)
    definition = ProcedureDefinition.objects.create(organisation=organisation, slug="x",
                                                    title="X", service=service)
    with pytest.raises(ValidationError) as error:
        publish_version(actor=administrator, definition=definition,
                        schema=copy.deepcopy(SCHEMA), workflow=workflow)
    message = error.value.messages[0]
    assert message.startswith("Circuit « Accord en trois niveaux », transition « proposer » : "
                              "la garde ne correspond pas au formulaire : Le nom « montant » "
                              "est inconnu.")
    definition.refresh_from_db()
    assert definition.current_version is None


def test_publishing_refuses_a_document_reading_an_unknown_field(organisation, service,
                                                                 administrator):
    documents = {**DOCUMENTS, "note_interne": {"title": "Note", "body": "{{ data.revenu }}"}}
    workflow = chain_workflow(organisation, documents=documents)
    definition = ProcedureDefinition.objects.create(organisation=organisation, slug="x",
                                                    title="X", service=service)
    with pytest.raises(ValidationError, match="n'a pas de champ « revenu »"):
        publish_version(actor=administrator, definition=definition,
                        schema=copy.deepcopy(SCHEMA), workflow=workflow)
