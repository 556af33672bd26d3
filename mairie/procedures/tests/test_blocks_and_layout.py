"""A page with a repeatable block, an address and a comment, filled without JavaScript."""

import html

from mairie.procedures.models import Audience

from .conftest import make_procedure
from .helpers import page_url, post_page, start

SCHEMA = {"pages": [
    {"key": "foyer", "title": "Votre foyer", "condition": "", "fields": [
        {"key": "explication", "type": "comment", "label": "Indiquez chaque enfant à charge."},
        {"key": "adresse", "type": "address", "label": "Adresse du foyer", "required": True},
        {"key": "enfants", "type": "block", "label": "Enfant", "options": {"min": 1, "max": 3},
         "fields": [{"key": "prenom", "type": "text", "label": "Prénom", "required": True}]},
    ]},
]}


def test_a_block_grows_with_its_button_and_keeps_what_was_typed(client, resident, organisation,
                                                                 service):
    procedure = make_procedure(organisation, service, slug="foyer", schema=SCHEMA,
                               audience=Audience.RESIDENTS)
    client.force_login(resident)
    dossier, _ = start(client, procedure)
    body = html.unescape(client.get(page_url(dossier, "foyer")).content.decode())
    assert "Indiquez chaque enfant à charge." in body
    assert "<legend>Adresse du foyer" in body and "Ajouter : Enfant" in body
    address = {"adresse-street": "1 rue Haute", "adresse-postcode": "42000",
               "adresse-city": "Valmont"}
    response = post_page(client, dossier, "foyer", {
        **address, "enfants-count": "1", "enfants-0-prenom": "Léa", "_add_enfants": "1"})
    body = html.unescape(response.content.decode())
    assert response.status_code == 200 and "Enfant — n° 2" in body and 'value="Léa"' in body
    assert "Le formulaire contient des erreurs" not in body  # adding is not submitting
    response = post_page(client, dossier, "foyer", {
        **address, "enfants-count": "2", "enfants-0-prenom": "Léa",
        "enfants-1-prenom": "Noé"})
    assert response.status_code == 302
    dossier.refresh_from_db()
    assert dossier.data["enfants"] == [{"prenom": "Léa"}, {"prenom": "Noé"}]
    assert dossier.data["adresse"] == {"street": "1 rue Haute", "postcode": "42000",
                                       "city": "Valmont"}
    review = html.unescape(client.get(response["Location"]).content.decode())
    assert "Enfant (2)" in review and "1 rue Haute, 42000 Valmont" in review
