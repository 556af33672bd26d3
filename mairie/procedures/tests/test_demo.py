"""The demo's ready-made procedures: published through the engine, with dossiers in several
states, loaded once whatever the number of runs."""

import io

import pypdf
import pytest
from django.core.management import call_command
from django.urls import reverse

from mairie.core.demo import data
from mairie.procedures.models import (
    CorrectionRequest,
    Dossier,
    DossierDocument,
    DossierValidation,
    ProcedureDefinition,
    WorkflowRoleMapping,
)
from mairie.procedures.schema import validate_schema
from mairie.procedures.workflow import validate_workflow


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
    assert first[0] == 4 and first[1] == 6 + 6 + 5
    submitted = Dossier.objects.exclude(number="")
    assert len(set(submitted.values_list("number", flat=True))) == submitted.count() == 16
    assert not submitted.filter(search_text="").exists()  # found by the inbox's search

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


@pytest.mark.django_db
def test_the_four_demo_procedures_are_published_routed_and_processed():
    call_command("demo", stdout=io.StringIO())
    states = {
        "acte-etat-civil": {"brouillon", "depose", "delivre"},
        "signalement-espace-public": {"recu", "pris_en_charge", "resolu"},
        "aide-economique-urgence": {"depose", "instruction", "attente_usager",
                                    "validation_dgs", "accorde", "refuse"},
        "demande-teletravail": {"avis_responsable", "validation_rh", "en_cours", "refuse",
                                "termine"},
    }
    for slug, expected in states.items():
        definition = ProcedureDefinition.objects.get(slug=slug)
        version = definition.current_version
        assert version is not None and version.published_at is not None
        assert validate_schema(version.schema) == []
        workflow = version.workflow
        assert validate_workflow(states=workflow.states, transitions=workflow.transitions,
                                 roles=workflow.roles, documents=workflow.documents) == []
        found = set(Dossier.objects.filter(version__definition=definition)
                    .values_list("state", flat=True))
        assert found == expected and len(found) >= 3, slug

    report = ProcedureDefinition.objects.get(slug="signalement-espace-public")
    assert report.audience == "anyone"
    assert any(f["type"] == "file" for f in report.current_version.schema["pages"][0]["fields"])
    mapping = {m.role: (m.service.slug, m.membership_role)
               for m in WorkflowRoleMapping.objects.filter(definition__slug__in=[
                   "aide-economique-urgence", "demande-teletravail", "signalement-espace-public",
                   "acte-etat-civil"]).select_related("service", "definition")
               if m.definition.slug == "aide-economique-urgence"}
    assert mapping == {"instructor": ("developpement-economique", ""),
                       "head": ("developpement-economique", "manager"),
                       "dgs": ("direction-generale", "director"),
                       "signatory": ("direction-generale", "elected")}
    assert WorkflowRoleMapping.objects.get(definition=report, role="instructor").service.slug \
        == "services-techniques"
    assert WorkflowRoleMapping.objects.get(definition__slug="acte-etat-civil",
                                           role="instructor").service.slug \
        == "accueil-etat-civil"

    aid = Dossier.objects.filter(version__definition__slug="aide-economique-urgence")
    granted = aid.get(state="accorde")
    letter = DossierDocument.objects.get(dossier=granted, template_key="lettre_decision")
    assert letter.visible_to_applicant and letter.stored_file.content_type == "application/pdf"
    with letter.stored_file.file.open("rb") as pdf:
        text = " ".join(page.extract_text() for page in pypdf.PdfReader(pdf).pages)
    text = " ".join(text.split())
    assert granted.number in text and granted.data["raison_sociale"] in text
    assert "Aide accordée" in text or "Accordé" in text
    assert "sinistre" in text  # the instructor's motivation, through {{ decision.motivation }}
    chain = list(DossierValidation.objects.filter(dossier=granted).order_by("at")
                 .values_list("role", "decision", "signature"))
    assert chain == [("head", "approved", False), ("dgs", "approved", False),
                     ("signatory", "approved", True)]
    refused = aid.get(state="refuse")
    assert refused.processing_data["motivation"] and refused.decided_at
    assert DossierDocument.objects.filter(dossier=refused).exists()
    waiting = aid.get(state="attente_usager")
    assert CorrectionRequest.objects.get(dossier=waiting, answered_at=None).fields == ["rib"]
    in_dgs = aid.get(state="validation_dgs")
    assert in_dgs.validations.get().role == "head"
    assert in_dgs.assigned_service.slug == "direction-generale"
    instructing = aid.get(state="instruction")
    assert instructing.assigned_to is not None and instructing.deadline_at is not None
    assert instructing.messages.count() == 2 and instructing.annotations.count() == 1
    assert instructing.labels.filter(name="Prioritaire").exists()

    telework = Dossier.objects.filter(version__definition__slug="demande-teletravail")
    assert all(d.applicant.memberships.exists() for d in telework)  # filed by agents
