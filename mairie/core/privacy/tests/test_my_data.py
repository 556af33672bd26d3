"""« Mes données »: a resident downloads everything the platform keeps about them (JSON and a
readable PDF), and nothing about anyone else; administrators read the register of processing
activities built from what each module declares."""

import io
import json

import pytest
from django.urls import reverse
from pypdf import PdfReader

from mairie.core.audit.models import AuditEvent
from mairie.core.factories import UserFactory
from mairie.core.notifications.services import notify
from mairie.core.privacy.registry import activities
from mairie.crm import services as crm
from mairie.crm import services_help
from mairie.procedures.tests.automation_helpers import make_civil_procedure, submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def filed(organisation, service, resident, agent):
    resident.first_name, resident.last_name = "Paul", "Durand"
    resident.save()
    civil = make_civil_procedure(organisation, service)
    mine = submit(civil, resident, nom="Durand")
    other = UserFactory(organisation=organisation, email="voisin@example.org")
    theirs = submit(civil, other, nom="Voisin-Secret")
    record = crm.record_for_account(resident)
    crm.log_interaction(actor=agent, record=record, service=service, values={
        "channel": "phone", "subject": "Question sur son acte", "outcome": "answered"})
    services_help.request_help(organisation=organisation, account=resident, values={
        "name": "Paul Durand", "phone": "0600000000", "topic": "account"})
    notify(organisation=organisation, recipients=[resident], kind="system.announcement",
           title="Votre acte est prêt")
    return mine, theirs


def test_the_json_copy_holds_the_account_dossiers_contacts_and_nothing_of_others(
        client, resident, filed):
    mine, theirs = filed
    client.force_login(resident)
    page = client.get(reverse("privacy:my-data")).content.decode()
    assert "Démarches en ligne" in page and "Fiches usagers et contacts" in page
    response = client.get(reverse("privacy:my-data-json"))
    assert response.status_code == 200 and response["Content-Type"].startswith(
        "application/json")
    assert "attachment" in response["Content-Disposition"]
    data = json.loads(response.content)
    sections = {section["key"]: section["rows"] for section in data["sections"]}
    assert sections["core.accounts"][0]["email"] == resident.email
    assert [d["number"] for d in sections["procedures.dossiers"]] == [mine.number]
    assert {"question": "Nom", "answer": "Durand"} in sections["procedures.dossiers"][0][
        "answers"]
    assert sections["crm.records"][0]["contacts"][0]["subject"] == "Question sur son acte"
    assert sections["crm.help_requests"][0]["topic"] == "Créer mon compte ou me connecter"
    assert any(n["title"] == "Votre acte est prêt" for n in sections["core.notifications"])
    assert theirs.number not in response.content.decode()
    assert "Voisin-Secret" not in response.content.decode()
    audit = AuditEvent.objects.get(action="privacy.data_exported")
    assert audit.actor == resident and audit.details["format"] == "json"
    assert audit.details["sections"]["procedures.dossiers"] == 1


def test_the_pdf_copy_is_readable(client, resident, filed):
    mine, _theirs = filed
    client.force_login(resident)
    response = client.get(reverse("privacy:my-data-pdf"))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(
        response.content)).pages)
    for expected in ("Démarches en ligne", mine.number, "Question sur son acte",
                     resident.email):
        assert expected in text, expected
    assert "Voisin-Secret" not in text


def test_only_signed_in_people_get_a_copy(client, organisation):
    response = client.get(reverse("privacy:my-data-json"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_the_register_lists_every_declared_activity_for_administrators_only(
        client, administrator, agent):
    keys = {activity.key for activity in activities()}
    assert {"core.accounts", "core.notifications", "core.audit", "procedures.dossiers",
            "crm.records", "crm.help_requests", "crm.mandates"} <= keys
    client.force_login(agent)
    assert client.get(reverse("privacy:register")).status_code == 403
    client.force_login(administrator)
    page = client.get(reverse("privacy:register")).content.decode()
    assert page.count("<h2") >= len(keys)
    assert "Fiches usagers et contacts (GRC)" in page and "Base légale" in page
