"""In Chromium (axe-core checks every page): a service manager creates a small procedure with a
text field and a field shown only for one answer of a choice, previews it, publishes it, and
finds it in the public catalogue. Every step is a plain form: no script is needed."""

import re

import pytest
from playwright.sync_api import expect

from mairie.core.factories import agent_factory
from mairie.core.organisation.models import Role
from mairie.procedures.models import Dossier, ProcedureDefinition

from .conftest import make_workflow

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def add_field(page, page_watch, type_label, values):
    page.get_by_label("Type du nouveau champ de la page « Première page »").select_option(
        label=type_label)
    page.get_by_role("button", name="Ajouter un champ", exact=True).click()
    page.wait_for_url(re.compile(r"/nouveau-champ/\?type="))
    page_watch.check(page)
    for label, value in values.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="Enregistrer le champ").click()
    page.wait_for_url(re.compile(r"/formulaire/#page-page_1$"))


def test_a_manager_builds_previews_and_publishes_a_procedure(new_page, page_watch, live_server,
                                                             organisation, service):
    make_workflow(organisation)
    manager = agent_factory(service=service, role=Role.MANAGER, email="chef@valmont.example")
    page = new_page(user=manager)
    page.goto("/agent/")
    page.get_by_role("link", name="Démarches", exact=True).click()
    page.wait_for_url(re.compile(r"/agent/demarches/$"))
    page_watch.check(page)

    page.get_by_role("link", name="Créer une démarche").click()
    page_watch.check(page)
    page.get_by_label("Titre (obligatoire)").fill("Inscription au marché de Noël")
    page.get_by_label("Description en langage simple").fill("Réservez un stand.")
    page.get_by_role("radio", name="Tout le monde, même sans compte").check()
    page.get_by_role("button", name="Créer la démarche").click()
    page.wait_for_url(re.compile(r"/formulaire/$"))
    page_watch.check(page)
    expect(page.locator("main")).to_contain_text("Brouillon (jamais publiée)")

    add_field(page, page_watch, "Texte court", {"Libellé (la question posée) (obligatoire)":
                                                "Nom de l'exposant"})
    page_watch.check(page)
    add_field(page, page_watch, "Choix unique", {
        "Libellé (la question posée) (obligatoire)": "Type de stand",
        "Choix proposés": "Alimentaire\nArtisanat"})
    expect(page.locator("main")).to_contain_text("alimentaire")  # the value to use
    # A condition with a typo: refused with the language's message, the input kept.
    page.get_by_label("Type du nouveau champ de la page « Première page »").select_option(
        label="Texte court")
    page.get_by_role("button", name="Ajouter un champ", exact=True).click()
    page.get_by_label("Libellé (la question posée) (obligatoire)").fill("Numéro d'hygiène")
    page.get_by_label("Condition d'affichage").fill('type_stand == "alimentaire"')
    page.get_by_role("button", name="Enregistrer le champ").click()
    expect(page.locator("#error-summary")).to_contain_text(
        "Le nom « type_stand » est inconnu. Vouliez-vous dire « type_de_stand » ?")
    page_watch.check(page)
    page.get_by_label("Condition d'affichage").fill('type_de_stand == "alimentaire"')
    page.get_by_role("button", name="Enregistrer le champ").click()
    page.wait_for_url(re.compile(r"/formulaire/#page-page_1$"))
    expect(page.locator("main")).to_contain_text('type_de_stand == "alimentaire"')

    page.get_by_role("link", name="Aperçu", exact=True).click()
    page.wait_for_url(re.compile(r"/apercu/$"))
    page_watch.check(page)
    expect(page.locator("main")).to_contain_text("Aperçu — rien n'est enregistré.")
    page.get_by_label("Nom de l'exposant (obligatoire)").fill("Les santons de Valmont")
    page.get_by_role("radio", name="Alimentaire").check()
    expect(page.get_by_label("Numéro d'hygiène (obligatoire)")).to_be_visible()
    page.get_by_role("radio", name="Artisanat").check()
    page.get_by_role("button", name="Enregistrer et vérifier").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Récapitulatif")
    page_watch.check(page)
    assert Dossier.objects.count() == 0

    page.get_by_role("link", name="Retour au formulaire").click()
    page.get_by_role("link", name="Publication et versions").click()
    page.wait_for_url(re.compile(r"/publication/$"))
    page_watch.check(page)
    page.get_by_role("button", name="Publier la version 1").click()
    expect(page.locator(".messages")).to_contain_text("La version 1 est publiée")
    page_watch.check(page)
    definition = ProcedureDefinition.objects.get(title="Inscription au marché de Noël")
    assert definition.current_version.number == 1

    page.goto("/demarches/")
    page_watch.check(page)
    page.get_by_role("link", name="Inscription au marché de Noël").click()
    page_watch.check(page)
    expect(page.locator("main")).to_contain_text("Réservez un stand.")
    assert page_watch.problems == []
