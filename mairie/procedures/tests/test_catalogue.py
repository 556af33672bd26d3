"""The catalogue: published and open procedures, grouped by theme, filtered by audience."""

import datetime
import html

from django.urls import reverse
from django.utils import timezone

from mairie.core.factories import ServiceFactory
from mairie.procedures.models import Audience, ProcedureDefinition
from mairie.procedures.queries import catalogue_for

from .conftest import make_procedure


def test_catalogue_shows_what_each_person_may_file(client, organisation, service, resident,
                                                   agent):
    make_procedure(organisation, service, slug="publique", title="Démarche publique",
                   audience=Audience.ANYONE)
    make_procedure(organisation, service, slug="compte", title="Démarche avec compte")
    make_procedure(organisation, service, slug="interne", title="Demande interne",
                   audience=Audience.AGENTS)
    make_procedure(organisation, service, slug="close", title="Démarche close",
                   closes_at=timezone.now() - datetime.timedelta(days=1))
    ProcedureDefinition.objects.create(organisation=organisation, service=service,
                                       slug="brouillon", title="Jamais publiée")

    def titles(user):
        return {p.title for p in catalogue_for(user, organisation)}

    from django.contrib.auth.models import AnonymousUser
    # Procedures needing an account are listed to everyone: their page invites to log in.
    assert titles(AnonymousUser()) == {"Démarche publique", "Démarche avec compte"}
    assert titles(resident) == {"Démarche publique", "Démarche avec compte"}
    assert titles(agent) == {"Démarche publique", "Démarche avec compte", "Demande interne"}

    body = html.unescape(client.get(reverse("procedures:catalogue")).content.decode())
    assert "Solidarité" in body and "Démarche publique" in body
    assert "Jamais publiée" not in body and "Demande interne" not in body
    assert client.get(reverse("procedures:procedure", args=["interne"])).status_code == 404
    assert client.get(reverse("procedures:procedure", args=["brouillon"])).status_code == 404


def test_catalogue_search(client, organisation, service):
    make_procedure(organisation, service, slug="acte", title="Demande d'acte de naissance",
                   audience=Audience.ANYONE)
    make_procedure(organisation, service, slug="voirie", title="Signaler un nid-de-poule",
                   audience=Audience.ANYONE)
    body = html.unescape(client.get(reverse("procedures:catalogue"),
                                    {"q": "naissance"}).content.decode())
    assert "Demande d'acte de naissance" in body and "nid-de-poule" not in body
    body = html.unescape(client.get(reverse("procedures:catalogue"),
                                    {"q": "introuvable"}).content.decode())
    assert "Aucune démarche ne correspond" in body


def test_catalogue_of_another_organisation_is_separate(client, organisation, service,
                                                       foreign_procedure):
    make_procedure(organisation, service, slug="ici", title="Démarche d'ici",
                   audience=Audience.ANYONE)
    foreign_procedure.audience = Audience.ANYONE
    foreign_procedure.save()
    here = html.unescape(client.get(reverse("procedures:catalogue")).content.decode())
    there = html.unescape(client.get(reverse("procedures:catalogue"),
                                     HTTP_HOST="autre.localhost").content.decode())
    assert "Démarche d'ici" in here and "Aide d'ailleurs" not in here
    assert "Aide d'ailleurs" in there and "Démarche d'ici" not in there
    assert client.get(reverse("procedures:procedure", args=["ici"]),
                      HTTP_HOST="autre.localhost").status_code == 404


def test_catalogue_query_count_does_not_grow_with_procedures(
        client, organisation, service, django_assert_max_num_queries):
    for n in range(3):
        make_procedure(organisation, ServiceFactory(organisation=organisation),
                       slug=f"d{n}", title=f"Démarche {n}", audience=Audience.ANYONE)
    with django_assert_max_num_queries(6) as few:
        assert client.get(reverse("procedures:catalogue")).status_code == 200
    for n in range(3, 15):
        make_procedure(organisation, ServiceFactory(organisation=organisation),
                       slug=f"d{n}", title=f"Démarche {n}", audience=Audience.ANYONE)
    with django_assert_max_num_queries(len(few.captured_queries)):
        body = html.unescape(client.get(reverse("procedures:catalogue")).content.decode())
    assert "Démarche 14" in body


def test_my_dossiers_query_count_is_bounded(client, resident, procedure,
                                            django_assert_max_num_queries):
    from mairie.procedures.services import start_dossier

    for _ in range(12):
        start_dossier(actor_or_none=resident, definition=procedure, request=None)
    client.force_login(resident)
    with django_assert_max_num_queries(12):
        body = html.unescape(client.get(reverse("procedures:my-dossiers")).content.decode())
    assert body.count("Reprendre le brouillon") == 12
