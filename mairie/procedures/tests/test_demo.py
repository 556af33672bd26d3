"""The demo's ready-made procedures: published through the engine, with dossiers in several
states, loaded once whatever the number of runs."""

import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from mairie.core.demo import data
from mairie.procedures.models import Dossier, ProcedureDefinition


def _counts():
    return (ProcedureDefinition.objects.count(), Dossier.objects.count(),
            sorted(Dossier.objects.values_list("state", flat=True)))


@pytest.mark.django_db
def test_demo_procedures_load_once_and_can_be_filed(client):
    call_command("demo", stdout=io.StringIO())
    first = _counts()
    call_command("demo", stdout=io.StringIO())
    assert _counts() == first
    civil = ProcedureDefinition.objects.get(slug="acte-etat-civil")
    report = ProcedureDefinition.objects.get(slug="signalement-espace-public")
    assert civil.service.slug == "accueil-etat-civil" and civil.current_version.number == 1
    assert report.service.slug == "services-techniques"
    assert first[0] == 2 and first[1] == 6
    assert set(first[2]) == {"brouillon", "depose", "delivre", "recu", "pris_en_charge",
                             "resolu"}
    submitted = Dossier.objects.exclude(number="")
    assert submitted.count() == 5 and len(set(submitted.values_list("number", flat=True))) == 5

    catalogue = client.get(reverse("procedures:catalogue"), HTTP_HOST="localhost")
    body = catalogue.content.decode()
    assert "Signalement sur l&#x27;espace public" in body and "État civil" in body

    # The fixed demo resident sees their dossiers.
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(email=data.RESIDENT_FIXED_EMAIL))
    mine = client.get(reverse("procedures:my-dossiers"), HTTP_HOST="localhost").content.decode()
    assert "Reprendre le brouillon" in mine and "Pris en charge" in mine

    # An anonymous report goes through the engine's pages end to end.
    anonymous = client.__class__()
    start = anonymous.post(reverse("procedures:procedure", args=[report.slug]),
                           HTTP_HOST="localhost")
    dossier = Dossier.objects.filter(applicant=None, submitted_at=None).get()
    response = anonymous.post(start["Location"], {
        "lock_version": dossier.lock_version, "action": "next", "categorie": "eclairage",
        "lieu-street": "Rue du Moulin", "lieu-postcode": "42000", "lieu-city": "Valmont",
        "description": "Lampadaire éteint."}, HTTP_HOST="localhost")
    assert response.status_code == 302, response.content.decode()
    response = anonymous.post(response["Location"], {"email": ""}, HTTP_HOST="localhost")
    dossier.refresh_from_db()
    assert dossier.state == "recu" and dossier.number
