"""Help with online procedures (Solidarité numérique): anyone asks on a plain page, for
themselves or a relative, without an account; mediators are told, take the request, call
back and close it — and what they did lands on the person's record."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from mairie.core.audit.models import AuditEvent
from mairie.core.factories import agent_factory
from mairie.core.notifications.models import Notification
from mairie.core.organisation.models import Role
from mairie.crm import queries, services, services_help
from mairie.crm.models import HelpRequest, Interaction, ResidentRecord

pytestmark = pytest.mark.django_db

ASK = {"name": "Josiane Bréval", "phone": "06 45 67 89 10", "topic": "procedure",
       "message": "Je n'arrive pas à joindre la photo de ma carte d'identité",
       "best_time": "le matin", "relative_name": "Sophie Bréval (sa fille)"}


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()


@pytest.fixture
def mediator(service):
    return agent_factory(service=service, role=Role.MEDIATOR, email="mediation@valmont.example")


def test_anyone_asks_for_help_without_an_account_and_the_mediators_are_told(client, mediator):
    page = client.get(reverse("crm:help"))
    assert page.status_code == 200 and "Demander de l&#x27;aide" in page.content.decode() \
        or "Demander de l'aide" in page.content.decode()
    response = client.post(reverse("crm:help"), ASK)
    assert response.status_code == 302 and response["Location"] == reverse("crm:help-sent")
    help_request = HelpRequest.objects.get()
    sent = client.get(reverse("crm:help-sent")).content.decode()
    assert help_request.reference in sent and "rappelle" in sent
    assert help_request.channel == "web" and help_request.account is None
    assert help_request.relative_name == "Sophie Bréval (sa fille)"
    notice = Notification.objects.get(recipient=mediator)
    assert help_request.reference in notice.title
    assert notice.url == reverse("crm:help-request", args=[help_request.pk])
    audit = AuditEvent.objects.get(action="crm.help_requested")
    assert "Bréval" not in str(audit.details) and audit.details["for_a_relative"] is True


def test_a_request_without_any_way_to_answer_is_refused_and_kept(client, organisation):
    response = client.post(reverse("crm:help"), {**ASK, "phone": "", "email": ""})
    body = response.content.decode()
    assert response.status_code == 200 and not HelpRequest.objects.exists()
    assert "Laissez un numéro de téléphone ou une adresse de courriel" in body
    assert "la photo de ma carte" in body and 'value="le matin"' in body


def test_robots_and_floods_are_turned_away(client, organisation):
    assert client.post(reverse("crm:help"), {**ASK, "website": "http://spam.example"}
                       ).status_code == 200
    assert not HelpRequest.objects.exists()
    for _ in range(services_help.PER_HOUR):
        assert client.post(reverse("crm:help"), ASK).status_code == 302
    response = client.post(reverse("crm:help"), ASK)
    assert "Vous avez déjà envoyé plusieurs demandes" in response.content.decode()
    assert HelpRequest.objects.count() == services_help.PER_HOUR


def test_a_signed_in_resident_finds_the_form_filled_in(client, resident):
    resident.first_name, resident.last_name = "Paul", "Durand"
    resident.save()
    client.force_login(resident)
    body = client.get(reverse("crm:help")).content.decode()
    assert 'value="Paul Durand"' in body and f'value="{resident.email}"' in body


def test_only_mediators_of_the_organisation_see_the_queue(
        client, agent, resident, mediator, other_organisation, foreign_agent):
    help_request = services_help.request_help(organisation=mediator.organisation,
                                              values=dict(ASK))
    for user in (agent, resident):
        client.force_login(user)
        assert client.get(reverse("crm:help-queue")).status_code == 403
        assert client.get(reverse("crm:help-request", args=[help_request.pk])).status_code \
            == 403
    foreign_mediator = agent_factory(service=foreign_agent.memberships.first().service,
                                     role=Role.MEDIATOR, email="med@ailleurs.example")
    assert not queries.help_requests_for(foreign_mediator, other_organisation).exists()
    assert not queries.help_requests_for(foreign_mediator, mediator.organisation).exists()
    client.force_login(mediator)
    queue = client.get(reverse("crm:help-queue")).content.decode()
    assert help_request.reference in queue and "Josiane Bréval" in queue


def test_a_mediator_takes_calls_back_and_closes_on_a_new_record(client, mediator):
    help_request = services_help.request_help(organisation=mediator.organisation,
                                              values=dict(ASK))
    client.force_login(mediator)
    url = reverse("crm:help-request", args=[help_request.pk])
    assert client.post(url, {"action": "take", "lock_version": "0"}).status_code == 302
    help_request.refresh_from_db()
    assert help_request.status == "taken" and help_request.taken_by == mediator
    page = client.get(url).content.decode()
    assert "Créer une nouvelle fiche avec ces coordonnées" in page
    response = client.post(url, {"action": "close", "outcome": "helped", "record": "new",
                                 "notes": "Photo jointe ensemble au téléphone",
                                 "lock_version": str(help_request.lock_version)})
    record = ResidentRecord.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "crm:record", args=[record.pk])
    assert (record.first_name, record.last_name, record.phone_digits) == (
        "Josiane", "Bréval", "645678910")
    contact = Interaction.objects.get()
    assert contact.record == record and contact.agent == mediator
    assert contact.outcome == "answered" and help_request.reference in contact.subject
    help_request.refresh_from_db()
    assert help_request.status == "done" and help_request.record == record
    page = client.get(reverse("crm:record", args=[record.pk])).content.decode()
    assert f"Demande d&#x27;aide {help_request.reference}" in page or \
        f"Demande d'aide {help_request.reference}" in page
    assert "Photo jointe ensemble au téléphone" in page
    assert AuditEvent.objects.filter(action="crm.help_closed", actor=mediator).exists()


def test_closing_links_the_existing_record_found_by_phone(client, mediator, organisation):
    existing = services.create_record(actor=mediator, organisation=organisation, values={
        "first_name": "Josiane", "last_name": "Bréval", "phone": "+33 6 45 67 89 10"})
    help_request = services_help.request_help(organisation=organisation, values=dict(ASK))
    client.force_login(mediator)
    url = reverse("crm:help-request", args=[help_request.pk])
    assert f'value="{existing.pk}"' in client.get(url).content.decode()
    client.post(url, {"action": "close", "outcome": "appointment", "record": str(existing.pk),
                      "notes": "", "lock_version": "0"})
    assert ResidentRecord.objects.count() == 1
    assert Interaction.objects.get().record == existing
    assert Interaction.objects.get().outcome == "appointment"


def test_a_closed_or_stale_request_is_not_closed_twice(client, mediator):
    help_request = services_help.request_help(organisation=mediator.organisation,
                                              values=dict(ASK))
    client.force_login(mediator)
    url = reverse("crm:help-request", args=[help_request.pk])
    client.post(url, {"action": "take", "lock_version": "0"})
    stale = client.post(url, {"action": "close", "outcome": "helped", "record": "new",
                              "notes": "", "lock_version": "0"}, follow=True)
    assert "Un collègue vient de modifier cette demande" in stale.content.decode()
    assert not Interaction.objects.exists()
    client.post(url, {"action": "close", "outcome": "unreachable", "record": "new",
                      "notes": "Trois appels sans réponse", "lock_version": "1"})
    again = client.post(url, {"action": "close", "outcome": "helped", "record": "new",
                              "notes": "", "lock_version": "2"})
    assert again.status_code == 200 and Interaction.objects.count() == 1


def test_a_mediator_notes_a_call_in_the_queue(client, mediator):
    client.force_login(mediator)
    response = client.post(reverse("crm:help-by-phone"), {**ASK, "relative_name": ""})
    help_request = HelpRequest.objects.get()
    assert response.status_code == 302 and help_request.channel == "phone"
    assert AuditEvent.objects.get(action="crm.help_requested").actor == mediator
