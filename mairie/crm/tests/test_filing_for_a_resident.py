"""At the counter, an agent opens a procedure for the resident from their record, fills it with
them and sends it: the dossier is theirs (their account's, or followed by its tracking link),
says who filed it, and lands on the record; nobody else reaches the draft."""

import pytest
from django.core import mail
from django.urls import reverse

from mairie.core.audit.models import AuditEvent
from mairie.core.factories import UserFactory, agent_factory
from mairie.core.organisation.models import Role
from mairie.crm import services
from mairie.crm.models import Interaction
from mairie.procedures.events import describe
from mairie.procedures.models import Audience, Dossier
from mairie.procedures.tests.automation_helpers import make_civil_procedure

pytestmark = pytest.mark.django_db


@pytest.fixture
def civil(organisation, service):
    return make_civil_procedure(organisation, service)


@pytest.fixture
def mediator(other_service):
    """A France Services mediator: not in the service that processes the procedure."""
    return agent_factory(service=other_service, role=Role.MEDIATOR,
                         email="mediation@valmont.example")


def fill_and_send(client, dossier, *, nom="Bréval"):
    page = reverse("procedures:page", args=[dossier.pk, "demande"])
    response = client.post(page, {"categorie": "naissance", "nom": nom, "action": "next",
                                  "lock_version": str(dossier.lock_version)})
    assert response.status_code == 302, response.content.decode()[:2000]
    return client.post(reverse("procedures:review", args=[dossier.pk]),
                       {"email": dossier.applicant_email})


def test_a_mediator_files_for_a_resident_without_account_and_follows_it(
        client, organisation, civil, mediator, agent, django_capture_on_commit_callbacks):
    record = services.create_record(actor=mediator, organisation=organisation, values={
        "first_name": "Josiane", "last_name": "Bréval", "email": "josiane@example.org"})
    client.force_login(mediator)
    page = client.get(reverse("crm:record", args=[record.pk])).content.decode()
    assert "Demande d&#x27;acte d&#x27;état civil" in page or "acte d'état civil" in page
    response = client.post(reverse("crm:file-for", args=[record.pk]),
                           {"procedure": str(civil.pk)})
    dossier = Dossier.objects.get()
    assert response["Location"] == reverse("procedures:page", args=[dossier.pk, "demande"])
    assert dossier.filed_by == mediator and dossier.applicant is None
    assert dossier.applicant_email == "josiane@example.org"
    # Nobody else reaches the draft: neither another agent nor the processing service.
    client.force_login(agent)
    assert client.get(reverse("procedures:page", args=[dossier.pk, "demande"])
                      ).status_code == 404
    client.force_login(mediator)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = fill_and_send(client, dossier)
    dossier.refresh_from_db()
    assert response["Location"] == reverse("procedures:receipt", args=[dossier.pk])
    assert dossier.number and dossier.data["nom"] == "Bréval"
    assert [m.to for m in mail.outbox] == [["josiane@example.org"]]  # not the mediator
    started = dossier.events.get(kind="started")
    assert describe(started).startswith("Dossier ouvert pour le demandeur par")
    assert started.actor == mediator
    contact = Interaction.objects.get(record=record)
    assert contact.dossier == dossier and contact.outcome == "dossier"
    assert AuditEvent.objects.filter(action="procedures.dossier_started_on_behalf",
                                     actor=mediator).exists()
    # The mediator follows it as the applicant does, from the record; agents process it.
    record_page = client.get(reverse("crm:record", args=[record.pk])).content.decode()
    assert dossier.number in record_page
    assert client.get(reverse("procedures:dossier", args=[dossier.pk])).status_code == 200
    assert client.get(reverse("procedures:agent-dossier", args=[dossier.pk])).status_code == 404
    client.force_login(agent)
    assert client.get(reverse("procedures:agent-dossier", args=[dossier.pk])).status_code == 200


def test_for_a_resident_with_an_account_the_dossier_is_in_their_account(
        client, organisation, civil, agent):
    account = UserFactory(organisation=organisation, email="paul@example.org",
                          first_name="Paul", last_name="Durand")
    record = services.record_for_account(account)
    client.force_login(agent)
    client.post(reverse("crm:file-for", args=[record.pk]), {"procedure": str(civil.pk)})
    dossier = Dossier.objects.get()
    assert dossier.applicant == account and dossier.filed_by == agent
    fill_and_send(client, dossier, nom="Durand")
    client.force_login(account)
    mine = client.get(reverse("procedures:my-dossiers")).content.decode()
    dossier.refresh_from_db()
    assert dossier.number in mine


def test_agents_who_neither_process_nor_mediate_and_internal_procedures_are_refused(
        client, organisation, civil, other_service, mediator):
    planner = agent_factory(service=other_service, email="urba@valmont.example")
    record = services.create_record(actor=planner, organisation=organisation,
                                    values={"last_name": "Bréval", "phone": "0645678910"})
    client.force_login(planner)
    response = client.post(reverse("crm:file-for", args=[record.pk]),
                           {"procedure": str(civil.pk)}, follow=True)
    assert "Choisissez une démarche que vous pouvez déposer" in response.content.decode()
    civil.audience = Audience.AGENTS
    civil.save()
    client.force_login(mediator)
    response = client.post(reverse("crm:file-for", args=[record.pk]),
                           {"procedure": str(civil.pk)}, follow=True)
    assert "Choisissez une démarche" in response.content.decode()
    assert not Dossier.objects.exists()
