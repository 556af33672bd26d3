"""The dossier page for agents: the answers as filed, the files behind permission-checked
links, the timeline and the state; every reading is audited (professional secrecy); nobody
outside the owning service sees the dossier."""

import pytest
from django.urls import reverse

from mairie.core.audit.models import AuditEvent
from mairie.core.factories import agent_factory
from mairie.core.files.services import store_upload
from mairie.core.files.testing import pdf_bytes, upload
from mairie.core.organisation.models import Role
from mairie.procedures.fieldtypes import FILE_PURPOSE
from mairie.procedures.models import DossierFile
from mairie.procedures.services import start_dossier

from .agent_helpers import file_dossier


@pytest.fixture
def dossier(organisation, resident, procedure):
    stored = store_upload(actor=resident, organisation=organisation,
                          uploaded_file=upload("avis-imposition.pdf", pdf_bytes(),
                                               "application/pdf"),
                          purpose=FILE_PURPOSE)
    dossier = file_dossier(procedure, resident, number="2026-000123",
                           data={"nom": "Martin", "age": 42, "situation": "couple",
                                 "conjoint": "Durand", "courriel": "m@example.org",
                                 "piece": str(stored.pk)})
    DossierFile.objects.create(organisation=organisation, dossier=dossier, field_key="piece",
                               stored_file=stored)
    return dossier


def url(dossier):
    return reverse("procedures:agent-dossier", args=[dossier.pk])


def test_an_agent_reads_the_dossier_as_filed(client, agent, resident, dossier):
    client.force_login(agent)
    response = client.get(url(dossier))
    assert response.status_code == 200
    content = response.content.decode()
    assert "<h1>Dossier n° 2026-000123</h1>" in content
    for shown in ("Aide de test", "Accueil et état civil", str(resident), "Déposé",
                  "Nom du conjoint", "Durand", "En couple", "m@example.org"):
        assert shown in content, shown
    stored = dossier.files.get().stored_file
    download = reverse("files:download", args=[stored.pk])
    assert f'href="{download}">avis-imposition.pdf</a>' in content
    assert client.get(download).status_code == 200
    # The history is a tab of its own.
    history = reverse("procedures:agent-dossier-tab", args=[dossier.pk, "historique"])
    assert f'href="{history}">Historique</a>' in content and "Dossier déposé" not in content
    content = client.get(history).content.decode()
    assert "Dossier déposé" in content and f'href="{history}" aria-current="page"' in content
    assert "Nom du conjoint" not in content


def test_reading_a_dossier_is_audited(client, agent, dossier):
    client.force_login(agent)
    client.get(url(dossier))
    client.get(url(dossier))
    reads = AuditEvent.objects.filter(action="procedures.dossier_read", object_id=str(dossier.pk))
    assert reads.count() == 2
    event = reads.first()
    assert event.actor == agent
    assert event.object_label == "2026-000123"
    assert "Durand" not in str(event.details)  # who read what, never the answers


def test_a_director_of_another_service_reads_any_dossier_of_the_organisation(
        client, other_service, dossier):
    director = agent_factory(service=other_service, role=Role.DIRECTOR,
                             email="dgs@valmont.example")
    client.force_login(director)
    assert client.get(url(dossier)).status_code == 200
    stored = dossier.files.get().stored_file  # and the files shown there open too
    assert client.get(reverse("files:download", args=[stored.pk])).status_code == 200


def test_a_draft_is_not_shown_to_agents(client, agent, resident, procedure):
    draft = start_dossier(actor_or_none=resident, definition=procedure, request=None)
    client.force_login(agent)
    assert client.get(url(draft)).status_code == 404


def test_anonymous_visitors_are_sent_to_the_login_page(client, dossier):
    response = client.get(url(dossier))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_residents_are_refused_even_the_applicant(client, resident, dossier):
    client.force_login(resident)
    assert client.get(url(dossier)).status_code == 403


def test_an_agent_of_another_service_gets_a_404(client, other_service, dossier):
    client.force_login(agent_factory(service=other_service, email="urba@valmont.example"))
    assert client.get(url(dossier)).status_code == 404
    assert not AuditEvent.objects.filter(action="procedures.dossier_read").exists()


def test_another_organisations_agent_gets_a_404(client, foreign_agent, dossier):
    client.force_login(foreign_agent)
    assert client.get(url(dossier), HTTP_HOST="autre.localhost").status_code == 404
    assert not AuditEvent.objects.filter(action="procedures.dossier_read").exists()
