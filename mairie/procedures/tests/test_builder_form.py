"""The form builder works on a draft version: pages and fields added, changed, moved and
deleted without JavaScript; bad input is shown next to its input and kept; two agents editing
the same draft never overwrite each other."""

import pytest

from mairie.core.audit.models import AuditEvent
from mairie.procedures import schema as schema_helpers

from .builder_helpers import (  # noqa: F401 (fixtures)
    draft_of,
    field_data,
    manager_fixture,
    post_action,
    revision,
    url,
)


@pytest.fixture
def designer(client, manager, procedure):
    """The manager, signed in, with the draft of version 2 started."""
    client.force_login(manager)
    response = client.post(url("builder-form", procedure.pk), {"action": "start"})
    assert response.status_code == 302
    return manager


def fields(procedure, page_key="identite"):
    page = schema_helpers.get_page(draft_of(procedure).schema, page_key)
    return [f["key"] for f in page["fields"]]


def test_editing_starts_a_draft_of_the_next_version_and_leaves_the_published_one(
        client, manager, procedure):
    client.force_login(manager)
    response = client.get(url("builder-form", procedure.pk))
    assert "Préparer une nouvelle version" in response.content.decode()
    assert draft_of(procedure) is None  # reading changes nothing
    client.post(url("builder-form", procedure.pk), {"action": "start"})
    client.post(url("builder-form", procedure.pk), {"action": "start"})  # idempotent
    draft = draft_of(procedure)
    assert draft.number == 2 and procedure.versions.count() == 2
    assert draft.schema["pages"] == procedure.current_version.schema["pages"]
    assert AuditEvent.objects.filter(action="procedures.draft_created").count() == 1
    content = client.get(url("builder-form", procedure.pk)).content.decode()
    assert "Vous modifiez le brouillon de la version 2" in content
    assert "Nom du conjoint" in content and "situation == &quot;couple&quot;" in content
    listing = client.get(url("builder-list")).content.decode()
    assert "brouillon de la version 2 en cours" in listing


def test_pages_are_added_renamed_moved_and_deleted(client, designer, procedure):
    post_action(client, procedure, "add_page", title="Pièces justificatives")
    keys = [p["key"] for p in draft_of(procedure).schema["pages"]]
    assert keys == ["identite", "contact", "pieces_justificatives"]
    post_action(client, procedure, "move_page", page="pieces_justificatives", direction="up")
    keys = [p["key"] for p in draft_of(procedure).schema["pages"]]
    assert keys == ["identite", "pieces_justificatives", "contact"]
    response = client.post(url("builder-page", procedure.pk, "pieces_justificatives"), {
        "revision": revision(procedure), "title": "Vos pièces", "key": "pieces",
        "condition": 'situation == "couple"'})
    assert response.status_code == 302
    page = schema_helpers.get_page(draft_of(procedure).schema, "pieces")
    assert page["title"] == "Vos pièces" and page["condition"] == 'situation == "couple"'
    post_action(client, procedure, "delete_page", page="pieces")
    keys = [p["key"] for p in draft_of(procedure).schema["pages"]]
    assert keys == ["identite", "contact"]
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"procedures.form_page_added", "procedures.form_page_moved",
            "procedures.form_page_changed", "procedures.form_page_deleted"} <= actions
    # The published version did not move.
    procedure.refresh_from_db()
    assert len(procedure.current_version.schema["pages"]) == 2


def test_a_page_with_a_bad_key_or_condition_is_refused_next_to_the_input(client, designer,
                                                                         procedure):
    response = client.post(url("builder-page", procedure.pk, "contact"), {
        "revision": revision(procedure), "title": "Contact", "key": "identite",
        "condition": "situations == 'x'"})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "déjà utilisée" in errors["key"][0]
    response = client.post(url("builder-page", procedure.pk, "contact"), {
        "revision": revision(procedure), "title": "Contact", "key": "contact",
        "condition": "situations == 'x'"})
    message = response.context["form"].errors["condition"][0]
    assert "Le nom « situations » est inconnu" in message and "situation" in message
    assert "situations == &#x27;x&#x27;" in response.content.decode()  # kept as typed


def test_the_last_page_cannot_be_deleted(client, designer, procedure):
    post_action(client, procedure, "delete_page", page="contact")
    response = post_action(client, procedure, "delete_page", page="identite", follow=True)
    assert "au moins une page" in response.content.decode()
    assert len(draft_of(procedure).schema["pages"]) == 1


def test_fields_of_each_kind_are_added_with_their_options(client, designer, procedure):
    add = url("builder-field-add", procedure.pk, "contact")
    assert client.get(add + "?type=choice").status_code == 200
    response = client.post(add, field_data(procedure, type="choice", label="Votre quartier",
                                           choices="Centre\nnord = Quartier nord",
                                           required=None))
    assert response.status_code == 302
    response = client.post(add, field_data(procedure, type="number", label="Montant demandé",
                                           key="montant", minimum="0", maximum="5 000,5",
                                           decimals="2"))
    assert response.status_code == 302
    client.post(add, field_data(procedure, type="file", label="Facture", required=None,
                                allowed=["application/pdf"], max_mb="2"))
    client.post(add, field_data(procedure, type="date", label="Date de naissance",
                                date_max="today"))
    client.post(add, field_data(procedure, type="text", label="Téléphone", key="tel_compte",
                                prefill="user.phone"))
    client.post(add, field_data(procedure, type="comment", label="Merci de vérifier."))
    client.post(add, field_data(procedure, type="block", label="Enfants", block_min="0",
                                block_max="5"))
    sub = url("builder-subfield-add", procedure.pk, "contact", "enfants")
    response = client.post(sub, field_data(procedure, type="text", label="Prénom de l'enfant",
                                           key="prenom_enfant"))
    assert response.status_code == 302
    assert client.get(sub + "?type=file").status_code == 404  # no file inside a block
    page = schema_helpers.get_page(draft_of(procedure).schema, "contact")
    by_key = {f["key"]: f for f in page["fields"]}
    assert by_key["votre_quartier"]["options"]["choices"] == [
        {"value": "centre", "label": "Centre"}, {"value": "nord", "label": "Quartier nord"}]
    assert by_key["votre_quartier"]["required"] is False
    assert by_key["montant"]["options"] == {"min": 0, "max": 5000.5, "decimals": 2}
    assert by_key["facture"]["options"] == {"allowed": ["application/pdf"], "max_mb": 2}
    assert by_key["date_de_naissance"]["options"] == {"max": "today"}
    assert by_key["tel_compte"]["prefill"] == "user.phone"
    assert by_key["merci_de_verifier"]["type"] == "comment"
    assert by_key["enfants"]["fields"][0]["key"] == "prenom_enfant"
    assert schema_helpers.validate_schema(draft_of(procedure).schema) == []
    assert AuditEvent.objects.filter(action="procedures.form_field_saved").count() == 8
    # The overview lists the block's own fields, each editable, movable and deletable.
    client.post(sub, field_data(procedure, type="date", label="Date de naissance de l'enfant",
                                key="naissance_enfant"))
    content = client.get(url("builder-form", procedure.pk)).content.decode()
    assert "Prénom de l&#x27;enfant" in content and "Quartier nord (<code>nord</code>)" in content
    edit = url("builder-subfield", procedure.pk, "contact", "enfants", "prenom_enfant")
    assert edit in content and client.get(edit).status_code == 200
    post_action(client, procedure, "move_field", page="contact", block="enfants",
                field="naissance_enfant", direction="up")
    post_action(client, procedure, "delete_field", page="contact", block="enfants",
                field="prenom_enfant")
    block = schema_helpers.get_page(draft_of(procedure).schema, "contact")["fields"][-1]
    assert [f["key"] for f in block["fields"]] == ["naissance_enfant"]


def test_a_conditional_field_reads_another_answer(client, designer, procedure):
    add = url("builder-field-add", procedure.pk, "identite")
    response = client.post(add, field_data(procedure, type="textarea",
                                           label="Précisez votre situation",
                                           condition='situation == "couple"'))
    assert response.status_code == 302
    page = schema_helpers.get_page(draft_of(procedure).schema, "identite")
    assert page["fields"][-1]["condition"] == 'situation == "couple"'


@pytest.mark.parametrize(("values", "input_name", "message"), [
    ({"type": "text", "label": "Nom", "key": "nom"}, "key", "déjà utilisée"),
    ({"type": "text", "label": "Autre", "key": "Autre nom"}, "key", "minuscule"),
    ({"type": "text", "label": "Autre", "key": "today"}, "key", "réservée"),
    ({"type": "choice", "label": "Quartier", "choices": ""}, "choices",
     "Indiquez au moins un choix."),
    ({"type": "choice", "label": "Quartier", "choices": "a = A\na = B"}, "choices",
     "Deux choix ont la même valeur."),
    ({"type": "number", "label": "Montant", "minimum": "10", "maximum": "2"}, "minimum",
     "Le minimum est plus grand que le maximum."),
    ({"type": "number", "label": "Montant", "minimum": "dix"}, "minimum",
     "Saisissez un nombre"),
    ({"type": "date", "label": "Le", "date_min": "31/12/2026"}, "date_min", "AAAA-MM-JJ"),
    ({"type": "file", "label": "Pièce", "max_mb": "500"}, "allowed", "taille maximale"),
    ({"type": "text", "label": "Conjoint", "condition": "situaton == 'couple'"}, "condition",
     "Le nom « situaton » est inconnu. Vouliez-vous dire « situation » ?"),
    ({"type": "text", "label": "Conjoint", "condition": "situation = 'couple'"}, "condition",
     "Syntaxe incorrecte"),
    ({"type": "text", "label": "Ville", "condition": "nom.city == 'x'"}, "condition",
     "n'est pas une adresse"),
])
def test_bad_field_input_is_shown_next_to_the_input_and_kept(client, designer, procedure,
                                                             values, input_name, message):
    before = draft_of(procedure).schema
    response = client.post(url("builder-field-add", procedure.pk, "identite"),
                           field_data(procedure, **values))
    assert response.status_code == 200
    form = response.context["form"]
    assert message.lower() in " ".join(form.errors[input_name]).lower(), form.errors
    content = response.content.decode()
    assert "Le formulaire contient des erreurs" in content
    assert f'value="{values["label"]}"' in content  # what was typed is still there
    assert draft_of(procedure).schema == before


def test_editing_moving_and_deleting_a_field(client, designer, procedure):
    edit = url("builder-field", procedure.pk, "identite", "conjoint")
    response = client.get(edit)
    assert 'value="Nom du conjoint"' in response.content.decode()
    response = client.post(edit, field_data(procedure, label="Nom de votre conjoint",
                                            key="conjoint", condition='situation == "couple"',
                                            help="Tel qu'écrit sur sa pièce d'identité."))
    assert response.status_code == 302
    spec = schema_helpers.get_page(draft_of(procedure).schema, "identite")["fields"][3]
    assert spec["label"] == "Nom de votre conjoint" and spec["help"].startswith("Tel qu")
    post_action(client, procedure, "move_field", page="identite", field="conjoint",
                direction="up")
    assert fields(procedure) == ["nom", "age", "conjoint", "situation"]
    post_action(client, procedure, "move_field", page="identite", field="nom",
                direction="up")  # already first: nothing moves
    assert fields(procedure) == ["nom", "age", "conjoint", "situation"]
    post_action(client, procedure, "delete_field", page="identite", field="age")
    assert fields(procedure) == ["nom", "conjoint", "situation"]
    assert AuditEvent.objects.filter(action="procedures.form_field_deleted").count() == 1


def test_deleting_a_field_a_condition_reads_is_flagged_before_publishing(client, designer,
                                                                         procedure):
    post_action(client, procedure, "delete_field", page="identite", field="situation")
    response = client.get(url("builder-form", procedure.pk))
    content = response.content.decode()
    assert "À corriger avant de publier" in content
    assert "« situation » est inconnu" in content


def test_two_agents_editing_the_same_draft(client, designer, procedure, administrator):
    stale = revision(procedure)
    post_action(client, procedure, "add_page", title="Ajoutée par le chef")
    client.force_login(administrator)
    response = client.post(url("builder-field-add", procedure.pk, "identite"),
                           {**field_data(procedure, type="text", label="Commune de naissance"),
                            "revision": stale})
    assert response.status_code == 409
    content = response.content.decode()
    assert "Un autre agent a modifié le formulaire" in content
    assert 'value="Commune de naissance"' in content
    assert "commune_de_naissance" not in fields(procedure)
    # The page now carries the new revision: saving again goes through.
    assert response.context["form"].data["revision"] == str(revision(procedure))
    response = client.post(url("builder-field-add", procedure.pk, "identite"),
                           dict(response.context["form"].data.lists()) | {"type": ["text"]})
    assert response.status_code == 302
    assert "commune_de_naissance" in fields(procedure)
    # Buttons of the overview refuse a stale revision too.
    response = client.post(url("builder-form", procedure.pk),
                           {"revision": stale, "action": "delete_page", "page": "contact"},
                           follow=True)
    assert "Un autre agent a modifié le formulaire" in response.content.decode()
    assert "contact" in [p["key"] for p in draft_of(procedure).schema["pages"]]


def test_form_pages_without_a_draft_send_back_to_the_overview(client, manager, procedure):
    client.force_login(manager)
    response = client.get(url("builder-field", procedure.pk, "identite", "nom"))
    assert response.status_code == 302 and response["Location"] == url("builder-form",
                                                                       procedure.pk)
    response = client.post(url("builder-form", procedure.pk),
                           {"revision": 0, "action": "add_page", "title": "X"})
    assert response.status_code == 404


def test_a_page_without_title_is_refused_next_to_the_input(client, designer, procedure):
    response = post_action(client, procedure, "add_page", title="")
    assert response.status_code == 200
    assert response.context["add_page_form"].errors["title"]
    assert "Le formulaire contient des erreurs" in response.content.decode()
    assert len(draft_of(procedure).schema["pages"]) == 2
