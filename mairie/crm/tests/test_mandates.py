"""Mandates (Aidants Connect): unusable until the resident agrees (a code e-mailed to them,
or a signed paper mandate scanned at the counter), journaled at every use in a sealed journal
the resident reads and can revoke from their account; expired or revoked, it no longer lets
the mediator act."""

import datetime
import re

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from mairie.core.audit.models import AuditEvent
from mairie.core.factories import UserFactory, agent_factory
from mairie.core.notifications.models import Notification
from mairie.core.organisation.models import Role
from mairie.crm import services, services_mandates
from mairie.crm.models import Mandate, MandateUse

pytestmark = pytest.mark.django_db

PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]"
       b"/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MAIRIE_CLAMD_URL = ""


@pytest.fixture
def mediator(service):
    return agent_factory(service=service, role=Role.MEDIATOR, email="aidant@valmont.example",
                         first_name="Édouard", last_name="Masson")


@pytest.fixture
def account(organisation):
    return UserFactory(organisation=organisation, email="josiane@example.org",
                       first_name="Josiane", last_name="Bréval")


@pytest.fixture
def record(account):
    return services.record_for_account(account)


def code_sent():
    return re.search(r"code : (\d{6})", mail.outbox[-1].body).group(1)


def new_mandate(mediator, record, capture, **values):
    with capture(execute=True):
        return services_mandates.create_mandate(actor=mediator, record=record, **{
            "domains": ["papers", "family"], "duration": "month", "consent_method": "email",
            **values})


def test_an_email_consented_mandate_becomes_usable_and_every_use_is_journaled(
        client, mediator, record, django_capture_on_commit_callbacks):
    mandate = new_mandate(mediator, record, django_capture_on_commit_callbacks)
    assert mandate.state == "pending" and mail.outbox[-1].to == ["josiane@example.org"]
    assert "Papiers et citoyenneté" in mail.outbox[-1].body
    with pytest.raises(PermissionDenied):
        services_mandates.use_mandate(actor=mediator, record=record, domain="papers",
                                      label="Demande d'acte")
    client.force_login(mediator)
    url = reverse("crm:mandate", args=[mandate.pk])
    wrong = client.post(url, {"action": "code", "code": "000000" if code_sent() != "000000"
                              else "111111"})
    assert "Ce code n&#x27;est pas le bon" in wrong.content.decode() or \
        "Ce code n'est pas le bon" in wrong.content.decode()
    assert client.post(url, {"action": "code", "code": code_sent()}).status_code == 302
    mandate.refresh_from_db()
    assert mandate.state == "active"
    assert mandate.expires_at - mandate.consented_at == datetime.timedelta(days=30)
    services_mandates.use_mandate(actor=mediator, record=record, domain="papers",
                                  label="Demande d'acte de naissance déposée")
    with pytest.raises(PermissionDenied):  # not in its domains
        services_mandates.use_mandate(actor=mediator, record=record, domain="money",
                                      label="Impôts")
    assert [u.action for u in mandate.uses.all()] == ["consented", "used"]
    assert services_mandates.verify_journal(mandate) is None
    assert AuditEvent.objects.filter(action="crm.mandate_used", actor=mediator).count() == 1
    # The journal is sealed: changing a line is detected.
    MandateUse.objects.filter(mandate=mandate, seq=1).update(label="Autre chose")
    assert services_mandates.verify_journal(mandate) == 1


def test_the_resident_reads_the_journal_and_revokes_then_the_mediator_cannot_act(
        client, mediator, record, account, django_capture_on_commit_callbacks):
    mandate = new_mandate(mediator, record, django_capture_on_commit_callbacks)
    services_mandates.confirm_code(actor=mediator, mandate=mandate, code=code_sent())
    services_mandates.use_mandate(actor=mediator, record=record, domain="family",
                                  label="Inscription à la cantine")
    client.force_login(account)
    page = client.get(reverse("crm:my-mandates")).content.decode()
    assert "Inscription à la cantine" in page and "Édouard Masson" in page
    other = UserFactory(organisation=record.organisation, email="autre@example.org")
    client.force_login(other)
    assert client.post(reverse("crm:revoke-mine", args=[mandate.pk])).status_code == 404
    client.force_login(account)
    assert client.post(reverse("crm:revoke-mine", args=[mandate.pk])).status_code == 302
    mandate.refresh_from_db()
    assert mandate.state == "revoked" and mandate.revoked_by == account
    with pytest.raises(PermissionDenied):
        services_mandates.use_mandate(actor=mediator, record=record, domain="family",
                                      label="Encore")
    assert mandate.uses.last().label == "Mandat révoqué par la personne"
    assert AuditEvent.objects.get(action="crm.mandate_revoked").details["by_resident"] is True


def test_an_expired_mandate_says_so_and_no_longer_works_and_renewal_starts_anew(
        client, mediator, record, django_capture_on_commit_callbacks):
    mandate = new_mandate(mediator, record, django_capture_on_commit_callbacks,
                          duration="day")
    services_mandates.confirm_code(actor=mediator, mandate=mandate, code=code_sent())
    Mandate.objects.filter(pk=mandate.pk).update(
        expires_at=timezone.now() - datetime.timedelta(minutes=1))
    mandate.refresh_from_db()
    assert mandate.state == "expired"
    with pytest.raises(PermissionDenied, match="pas de mandat actif"):
        services_mandates.use_mandate(actor=mediator, record=record, domain="papers",
                                      label="Trop tard")
    client.force_login(mediator)
    page = client.get(reverse("crm:mandate", args=[mandate.pk])).content.decode()
    assert "Expiré" in page and "Renouveler" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("crm:mandate", args=[mandate.pk]), {"action": "renew"})
    renewed = Mandate.objects.exclude(pk=mandate.pk).get()
    assert response["Location"] == reverse("crm:mandate", args=[renewed.pk])
    assert renewed.state == "pending" and renewed.renewed_from == mandate
    assert renewed.domains == mandate.domains


def test_a_signed_paper_mandate_is_scanned_and_its_hash_kept(client, mediator, record):
    client.force_login(mediator)
    response = client.post(reverse("crm:mandates", args=[record.pk]), {
        "domains": ["housing"], "duration": "half_year", "consent_method": "paper"})
    mandate = Mandate.objects.get()
    assert response["Location"] == reverse("crm:mandate", args=[mandate.pk])
    pdf = client.get(reverse("crm:mandate-pdf", args=[mandate.pk]))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    url = reverse("crm:mandate", args=[mandate.pk])
    bad = client.post(url, {"action": "paper", "scan": SimpleUploadedFile(
        "mandat.pdf", b"not really a pdf", content_type="application/pdf")})
    assert bad.status_code == 200 and Mandate.objects.get().state == "pending"
    client.post(url, {"action": "paper", "scan": SimpleUploadedFile(
        "mandat.pdf", PDF, content_type="application/pdf")})
    mandate.refresh_from_db()
    import hashlib

    assert mandate.state == "active" and mandate.paper_sha256 == hashlib.sha256(PDF).hexdigest()
    assert mandate.expires_at - mandate.consented_at == datetime.timedelta(days=182)


def test_only_mediators_create_mandates_and_bad_choices_are_refused(
        client, agent, mediator, record):
    client.force_login(agent)
    assert client.get(reverse("crm:mandates", args=[record.pk])).status_code == 403
    client.force_login(mediator)
    response = client.post(reverse("crm:mandates", args=[record.pk]), {
        "duration": "month", "consent_method": "email"})
    assert "Choisissez au moins un domaine" in response.content.decode()
    services.update_record(actor=mediator, record=record, values={"email": ""},
                           lock_version=record.lock_version)
    record.refresh_from_db()
    with pytest.raises(ValidationError, match="pas d'adresse de courriel"):
        services_mandates.create_mandate(actor=mediator, record=record, domains=["papers"],
                                         duration="month", consent_method="email")
    assert not Mandate.objects.exists()


def test_the_mediator_is_reminded_once_a_week_before_the_end(
        mediator, record, django_capture_on_commit_callbacks):
    mandate = new_mandate(mediator, record, django_capture_on_commit_callbacks)
    services_mandates.confirm_code(actor=mediator, mandate=mandate, code=code_sent())
    Mandate.objects.filter(pk=mandate.pk).update(
        expires_at=timezone.now() + datetime.timedelta(days=3))
    assert services_mandates.remind_expiring() == 1
    assert services_mandates.remind_expiring() == 0
    notice = Notification.objects.get(recipient=mediator, kind="crm.mandate_expiring")
    assert "Josiane BRÉVAL" in notice.title


def test_filing_in_the_persons_account_needs_a_mandate_for_the_procedures_domain(
        client, organisation, service, other_service, record, account,
        django_capture_on_commit_callbacks):
    """A mediator outside the processing service files in a resident's account only under
    their mandate for the procedure's domain; the use is journaled, and the mediator then
    follows the person's dossiers of that domain from the record."""
    from mairie.procedures.models import Dossier
    from mairie.procedures.tests.automation_helpers import make_civil_procedure, submit

    helper = agent_factory(service=other_service, role=Role.MEDIATOR,
                           email="france-services@valmont.example")
    civil = make_civil_procedure(organisation, service)
    civil.mandate_domain = "papers"
    civil.save()
    earlier = submit(civil, account)  # filed online by the resident herself
    client.force_login(helper)
    refused = client.post(reverse("crm:file-for", args=[record.pk]),
                          {"procedure": str(civil.pk)}, follow=True).content.decode()
    assert "il vous faut un mandat actif" in refused and Dossier.objects.count() == 1
    assert earlier.number not in client.get(reverse("crm:record", args=[record.pk])) \
        .content.decode()
    mandate = new_mandate(helper, record, django_capture_on_commit_callbacks,
                          domains=["papers"])
    services_mandates.confirm_code(actor=helper, mandate=mandate, code=code_sent())
    client.post(reverse("crm:file-for", args=[record.pk]), {"procedure": str(civil.pk)})
    dossier = Dossier.objects.exclude(pk=earlier.pk).get()
    assert dossier.applicant == account and dossier.filed_by == helper
    assert mandate.uses.last().label == "Démarche « Demande d'acte d'état civil » ouverte " \
                                        "en son nom"
    assert earlier.number in client.get(reverse("crm:record", args=[record.pk])) \
        .content.decode()
    # Opening it from the record shows what the person sees, and the journal says so.
    opened = client.get(reverse("crm:record-dossier", args=[record.pk, earlier.pk]))
    page = opened.content.decode()
    assert opened.status_code == 200 and "sous son mandat" in page and earlier.number in page
    assert mandate.uses.last().label.startswith(f"Dossier n° {earlier.number} consulté")
    # An agent of the processing service goes to the dossier's processing page.
    processor = agent_factory(service=service, role=Role.MEDIATOR)
    client.force_login(processor)
    assert client.get(reverse("crm:record-dossier", args=[record.pk, earlier.pk])).url == \
        reverse("procedures:agent-dossier", args=[earlier.pk])
    # Once the person revokes, the mediator reaches nothing any more.
    services_mandates.revoke(actor=account, mandate=mandate)
    client.force_login(helper)
    assert client.get(reverse("crm:record-dossier", args=[record.pk, earlier.pk])
                      ).status_code == 404


def test_another_organisations_mediator_and_other_residents_see_no_mandate(
        mediator, record, foreign_agent, other_organisation, organisation,
        django_capture_on_commit_callbacks):
    from django.http import Http404

    from mairie.crm import queries

    mandate = new_mandate(mediator, record, django_capture_on_commit_callbacks)
    foreign = agent_factory(service=foreign_agent.memberships.first().service,
                            role=Role.MEDIATOR, email="aidant@ailleurs.example")
    assert not queries.mandates_for_mediator(foreign, other_organisation).exists()
    with pytest.raises(Http404):
        queries.mandate_for_mediator(foreign, organisation, mandate.pk)
    stranger = UserFactory(organisation=organisation, email="voisin@example.org")
    assert not queries.mandates_of_resident(stranger, organisation).exists()
    assert list(queries.mandates_of_resident(record.account, organisation)) == [mandate]


@pytest.fixture
def sms_centre(settings):
    from mairie.core.notifications.testing_smpp import SmsCentre

    running = SmsCentre().start()
    settings.MAIRIE_SMS_URL = running.url(sender="VALMONT")
    yield running
    running.stop()


def test_consent_by_a_code_sent_by_sms_through_the_sms_centre(client, mediator, record,
                                                               sms_centre):
    record.phone = "06 45 67 89 10"
    record.save()
    client.force_login(mediator)
    created = client.post(reverse("crm:mandates", args=[record.pk]), {
        "domains": ["papers"], "duration": "day", "consent_method": "sms"})
    mandate = Mandate.objects.get(record=record)
    assert created.url == reverse("crm:mandate", args=[mandate.pk])
    [text] = sms_centre.received
    assert text.destination == "33645678910" and "Papiers et citoyenneté" in text.text
    page = client.get(created.url).content.decode()
    assert "envoyé par SMS au 06 45 67 89 10" in page
    code = re.search(r"code (\d{6})", text.text).group(1)
    assert client.post(created.url, {"action": "code", "code": code}).status_code == 302
    mandate.refresh_from_db()
    assert mandate.state == "active" and mandate.consent_method == "sms"
    assert mandate.uses.get().label == "Consentement donné par code reçu par SMS"
    assert AuditEvent.objects.filter(action="crm.mandate_code_sent",
                                     details__channel="sms").exists()


def test_an_sms_that_cannot_leave_says_so_and_keeps_the_choices(client, mediator, record,
                                                                 sms_centre):
    client.force_login(mediator)
    url = reverse("crm:mandates", args=[record.pk])
    choices = {"domains": ["papers", "family"], "duration": "month", "consent_method": "sms"}
    no_phone = client.post(url, choices)
    assert no_phone.status_code == 200
    assert "pas de numéro de téléphone mobile" in no_phone.content.decode()
    record.phone = "06 45 67 89 10"
    record.save()
    sms_centre.refuse_with = 0x58
    refused = client.post(url, choices)
    page = refused.content.decode()
    assert refused.status_code == 200 and "Le SMS n&#x27;a pas pu partir" in page
    assert re.search(r'value="family"[^>]*checked', page)  # what was chosen is kept
    assert re.search(r'value="sms"[^>]*checked', page)
    assert not Mandate.objects.filter(record=record).exists()
    sms_centre.refuse_with = 0
    assert client.post(url, choices).status_code == 302
    mandate = Mandate.objects.get(record=record)
    sms_centre.refuse_with = 0x58  # a resend that fails keeps the code already sent
    first_code = re.search(r"code (\d{6})", sms_centre.received[-1].text).group(1)
    resend = client.post(reverse("crm:mandate", args=[mandate.pk]), {"action": "resend"})
    assert resend.status_code == 200 and "Le SMS n&#x27;a pas pu partir" in \
        resend.content.decode()
    assert client.post(reverse("crm:mandate", args=[mandate.pk]),
                       {"action": "code", "code": first_code}).status_code == 302


def test_the_record_history_shows_the_mandates_to_mediators_only(
        client, mediator, record, service, django_capture_on_commit_callbacks):
    mandate = new_mandate(mediator, record, django_capture_on_commit_callbacks)
    client.force_login(mediator)
    history = client.get(reverse("crm:record", args=[record.pk])).content.decode()
    assert "Mandat donné à Édouard Masson" in history
    assert reverse("crm:mandate", args=[mandate.pk]) in history
    client.force_login(agent_factory(service=service, email="etat-civil@valmont.example"))
    assert "Mandat donné à" not in client.get(
        reverse("crm:record", args=[record.pk])).content.decode()
