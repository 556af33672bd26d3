"""The DPO's register of personal-data requests: each request has its one-month deadline; an
erasure is applied module by module, each saying what it erased and what it keeps under which
rule; a refusal needs a reason; only the organisation's administrators reach it."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from mairie.core.audit.models import AuditEvent
from mairie.core.notifications.models import Notification
from mairie.core.notifications.services import notify
from mairie.core.privacy.models import PrivacyRequest
from mairie.core.privacy.services import one_month_after
from mairie.crm import services as crm
from mairie.crm.models import Interaction, ResidentRecord
from mairie.procedures.tests.automation_helpers import make_civil_procedure, submit

pytestmark = pytest.mark.django_db


def test_one_month_is_a_calendar_month():
    assert one_month_after(datetime.date(2026, 1, 31)) == datetime.date(2026, 2, 28)
    assert one_month_after(datetime.date(2026, 12, 15)) == datetime.date(2027, 1, 15)


def test_an_erasure_is_recorded_applied_and_closed_with_what_was_kept(
        client, organisation, service, administrator, agent, resident):
    dossier = submit(make_civil_procedure(organisation, service), resident, nom="Durand")
    record = crm.record_for_account(resident)
    crm.update_record(actor=agent, record=record, values={"phone": "06 11 22 33 44",
                                                          "notes": "Sourd : écrire"},
                      lock_version=record.lock_version)
    crm.log_interaction(actor=agent, record=record, service=service, values={
        "channel": "phone", "subject": "Son divorce", "outcome": "answered",
        "notes": "Détails intimes"})
    notify(organisation=organisation, recipients=[resident], kind="system.announcement",
           title="Votre dossier avance")
    client.force_login(administrator)
    response = client.post(reverse("privacy:requests"), {
        "kind": "erasure", "requester_name": "Paul Durand", "requester_email": resident.email,
        "received_on": timezone.localdate().isoformat(), "details": "Effacez-moi."})
    item = PrivacyRequest.objects.get()
    assert response["Location"] == reverse("privacy:request", args=[item.pk])
    assert item.account == resident and item.due_on == one_month_after(item.received_on)
    client.post(reverse("privacy:request", args=[item.pk]), {"action": "erase"})
    item.refresh_from_db()
    record.refresh_from_db()
    assert record.last_name == "Anonymisé" and record.phone == "" and record.notes == ""
    contact = Interaction.objects.get()
    assert contact.notes == "" and "divorce" not in contact.subject
    assert not Notification.objects.filter(recipient=resident).exists()
    assert any(dossier.number in line and "gardé jusqu'à la décision" in line
               for line in item.kept)  # not decided yet: kept until the decision
    assert any("journal d'audit" in line for line in item.kept)
    page = client.get(reverse("privacy:request", args=[item.pk])).content.decode()
    assert "Conservé, et pourquoi" in page and dossier.number in page
    assert "Appliquer l&#x27;effacement" not in page and "Appliquer l'effacement" not in page
    refused = client.post(reverse("privacy:request", args=[item.pk]), {
        "action": "close", "status": "refused", "answer": "", "lock_version": item.lock_version})
    assert "Un refus se motive" in refused.content.decode()
    client.post(reverse("privacy:request", args=[item.pk]), {
        "action": "close", "status": "done", "answer": "Vos données ont été effacées, sauf…",
        "lock_version": item.lock_version})
    item.refresh_from_db()
    assert item.status == "done" and item.handled_by == administrator
    assert AuditEvent.objects.filter(action="privacy.erasure_applied").count() == 1
    assert AuditEvent.objects.get(action="privacy.request_closed").details["late"] is False
    assert ResidentRecord.objects.count() == 1  # anonymised, not deleted


def test_a_request_received_in_the_future_is_refused_and_the_register_is_for_admins(
        client, administrator, agent, foreign_agent):
    client.force_login(agent)
    assert client.get(reverse("privacy:requests")).status_code == 403
    client.force_login(administrator)
    response = client.post(reverse("privacy:requests"), {
        "kind": "access", "requester_name": "Quelqu'un",
        "received_on": (timezone.localdate() + datetime.timedelta(days=3)).isoformat()})
    assert "Cette date est à venir" in response.content.decode()
    assert 'value="Quelqu&#x27;un"' in response.content.decode() or "Quelqu" in \
        response.content.decode()
    assert not PrivacyRequest.objects.exists()
    item = PrivacyRequest.objects.create(
        organisation=administrator.organisation, kind="access", requester_name="X",
        received_on=timezone.localdate(), due_on=timezone.localdate())
    client.force_login(foreign_agent)
    assert client.get(reverse("privacy:request", args=[item.pk])).status_code in (302, 403, 404)
