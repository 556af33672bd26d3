"""The citizen record (issue 5), as agents at the counter notice it: finding a resident despite
accents and typos, by phone, e-mail or dossier number; creating and correcting a record without
losing what was typed; logging a contact; merging a duplicate — and nobody outside the
organisation, or outside the service that logged a contact, seeing what they should not."""

import datetime

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mairie.core.audit.models import AuditEvent
from mairie.core.factories import agent_factory
from mairie.core.organisation.models import Role
from mairie.crm import queries, services
from mairie.crm.models import Interaction, RecordMerge, ResidentRecord

pytestmark = pytest.mark.django_db


def make(organisation, actor, **values):
    values.setdefault("email", "")
    values.setdefault("phone", "")
    return services.create_record(actor=actor, organisation=organisation, values=values)


@pytest.fixture
def lefevre(organisation, agent):
    return make(organisation, agent, first_name="Hélène", last_name="Lefèvre",
                email="helene.lefevre@example.org", phone="06 12 34 56 78", city="Valmont",
                birth_date=datetime.date(1948, 3, 2))


@pytest.fixture
def martin(organisation, agent):
    return make(organisation, agent, first_name="Jean", last_name="Martin", phone="0478000000")


@pytest.fixture
def mediator(service):
    return agent_factory(service=service, role=Role.MEDIATOR, email="mediation@valmont.example")


def names(records):
    return [record.last_name for record in records]


# --- Finding a resident -----------------------------------------------------------------------

@pytest.mark.parametrize("query", ["Lefèvre", "lefevre", "LEFEVRE", "Lefebvre", "hélène lef",
                                   "helene.lefevre@example.org", "06 12 34 56 78",
                                   "+33 6 12 34 56 78", "0612345678", "Lefevr", "Lefèrve"])
def test_a_resident_is_found_despite_accents_typos_and_phone_formats(agent, organisation,
                                                                      lefevre, martin, query):
    assert names(queries.search_records(agent, organisation, query)) == ["Lefèvre"]


def test_similar_names_come_after_the_exact_one(agent, organisation, lefevre):
    make(organisation, agent, first_name="Paul", last_name="Lefebvre", email="p@example.org")
    make(organisation, agent, first_name="Anne", last_name="Lefort", email="a@example.org")
    found = names(queries.search_records(agent, organisation, "Lefebvre"))
    assert found[:2] == ["Lefebvre", "Lefèvre"] and "Lefort" not in found


def test_a_dossier_number_finds_its_applicant(agent, organisation, service, lefevre):
    from mairie.core.factories import UserFactory
    from mairie.procedures.tests.automation_helpers import make_civil_procedure, submit

    civil = make_civil_procedure(organisation, service)
    account = UserFactory(organisation=organisation, email="helene.lefevre@example.org")
    dossier = submit(civil, account)
    assert names(queries.search_records(agent, organisation, dossier.number)) == ["Lefèvre"]
    assert queries.search_records(agent, organisation, "2031-999999") == []


def test_nobody_outside_the_organisation_nor_a_resident_finds_anyone(
        client, organisation, lefevre, foreign_agent, resident):
    assert queries.search_records(foreign_agent, organisation, "Lefèvre") == []
    assert queries.search_records(resident, organisation, "Lefèvre") == []
    client.force_login(resident)
    assert client.get(reverse("crm:search"), {"q": "Lefèvre"}).status_code == 403
    assert client.get(reverse("crm:record", args=[lefevre.pk])).status_code == 403
    # An agent of another collectivité is not signed in here (its session is refused), and
    # on its own site the record does not exist.
    client.force_login(foreign_agent)
    response = client.get(reverse("crm:record", args=[lefevre.pk]))
    assert response.status_code in (302, 403, 404) and "LEFÈVRE" not in response.content.decode()
    response = client.post(reverse("crm:edit", args=[lefevre.pk]),
                           {"last_name": "Pirate", "email": "x@example.org",
                            "preferred_channel": "email", "lock_version": "0"})
    assert response.status_code in (302, 403, 404)
    with pytest.raises(Http404):
        queries.record_for_agent(foreign_agent, lefevre.organisation, lefevre.pk)
    lefevre.refresh_from_db()
    assert lefevre.last_name == "Lefèvre"


def test_the_search_page_costs_a_bounded_number_of_queries(client, agent, organisation):
    for n in range(30):
        make(organisation, agent, first_name=f"Prénom{n}", last_name="Dupont",
             email=f"d{n}@example.org")
    client.force_login(agent)
    with CaptureQueriesContext(connection) as queries_run:
        response = client.get(reverse("crm:search"), {"q": "dupond"})
    assert response.status_code == 200 and response.content.decode().count("DUPONT") == 20
    assert len(queries_run) <= 10


# --- Creating and correcting a record ---------------------------------------------------------

def test_an_agent_creates_a_record_for_a_resident_without_account(client, agent, organisation):
    client.force_login(agent)
    page = client.get(reverse("crm:create"), {"q": "Marie Curie"})
    assert 'value="Marie"' in page.content.decode() and 'value="Curie"' in page.content.decode()
    response = client.post(reverse("crm:create"), {
        "first_name": "Marie", "last_name": "Curie", "phone": "06 11 22 33 44",
        "preferred_channel": "phone"})
    record = ResidentRecord.objects.get(last_name="Curie")
    assert response.status_code == 302 and response["Location"] == reverse("crm:record",
                                                                         args=[record.pk])
    assert record.account is None and record.created_by == agent
    audit = AuditEvent.objects.get(action="crm.record_created")
    assert audit.actor == agent and audit.object_id == str(record.pk)


def test_a_record_without_any_way_to_reach_the_person_is_refused_and_kept(client, agent):
    client.force_login(agent)
    response = client.post(reverse("crm:create"), {
        "first_name": "Marie", "last_name": "Curie", "preferred_channel": "email",
        "email": "pas-une-adresse", "notes": "Parle peu français"})
    body = response.content.decode()
    assert response.status_code == 200 and not ResidentRecord.objects.exists()
    assert "Saisissez une adresse e-mail valide" in body or "adresse électronique" in body
    assert 'value="Curie"' in body and "Parle peu français" in body
    response = client.post(reverse("crm:create"), {
        "first_name": "Marie", "last_name": "Curie", "preferred_channel": "email"})
    assert "Indiquez au moins un moyen de joindre la personne" in response.content.decode()


def test_two_agents_correcting_the_same_record_do_not_overwrite_each_other(
        client, agent, organisation, lefevre):
    client.force_login(agent)
    form = {"first_name": "Hélène", "last_name": "Lefèvre", "email": lefevre.email,
            "phone": "06 99 99 99 99", "preferred_channel": "phone", "city": "Valmont",
            "birth_date": "1948-03-02",
            "lock_version": str(lefevre.lock_version)}
    assert client.post(reverse("crm:edit", args=[lefevre.pk]), form).status_code == 302
    response = client.post(reverse("crm:edit", args=[lefevre.pk]),
                           {**form, "phone": "07 00 00 00 00"})
    assert response.status_code == 409
    assert "modifiée par quelqu" in response.content.decode()
    lefevre.refresh_from_db()
    assert lefevre.phone == "06 99 99 99 99" and lefevre.phone_digits == "699999999"
    audit = AuditEvent.objects.get(action="crm.record_updated")
    assert audit.details == {"fields": ["phone", "preferred_channel"]}


# --- Contacts and the timeline ----------------------------------------------------------------

def test_a_contact_is_logged_in_seconds_and_shows_on_the_timeline(client, agent, service,
                                                                  lefevre):
    client.force_login(agent)
    response = client.post(reverse("crm:log-interaction", args=[lefevre.pk]), {
        "service": service.pk, "channel": "phone", "subject": "Carte d'identité perdue",
        "outcome": "follow_up", "follow_up": "Rappeler quand le formulaire est prêt",
        "follow_up_due": (timezone.localdate() + datetime.timedelta(days=3)).isoformat()})
    assert response.status_code == 302
    page = client.get(reverse("crm:record", args=[lefevre.pk])).content.decode()
    assert "Carte d&#x27;identité perdue" in page and "Rappeler quand le formulaire" in page
    interaction = Interaction.objects.get()
    assert interaction.agent == agent and interaction.service == service
    assert AuditEvent.objects.filter(action="crm.interaction_logged").count() == 1
    assert AuditEvent.objects.filter(action="crm.record_viewed", actor=agent).exists()


def test_a_contact_with_a_past_follow_up_date_is_refused_with_what_was_typed(
        client, agent, service, lefevre):
    client.force_login(agent)
    response = client.post(reverse("crm:log-interaction", args=[lefevre.pk]), {
        "service": service.pk, "channel": "counter", "subject": "Question sur la cantine",
        "outcome": "answered", "follow_up_due": "2020-01-01"})
    body = response.content.decode()
    assert response.status_code == 200 and not Interaction.objects.exists()
    assert "Cette date est passée" in body and "Question sur la cantine" in body


def test_another_service_does_not_read_the_contacts_but_the_director_does(
        client, organisation, service, other_service, agent, lefevre):
    services.log_interaction(actor=agent, record=lefevre, service=service, values={
        "channel": "counter", "subject": "Demande de RSA", "outcome": "answered"})
    planner = agent_factory(service=other_service, email="urba@valmont.example")
    director = agent_factory(service=other_service, role=Role.DIRECTOR,
                             email="dgs@valmont.example")
    client.force_login(planner)
    page = client.get(reverse("crm:record", args=[lefevre.pk])).content.decode()
    assert "Lefèvre" in page.upper() or "LEFÈVRE" in page and "Demande de RSA" not in page
    assert "Demande de RSA" not in page
    client.force_login(director)
    assert "Demande de RSA" in client.get(reverse("crm:record", args=[lefevre.pk])).content \
        .decode()
    # Nor can anyone log a contact for a service they do not belong to.
    client.force_login(planner)
    response = client.post(reverse("crm:log-interaction", args=[lefevre.pk]), {
        "service": service.pk, "channel": "counter", "subject": "Usurpation",
        "outcome": "answered"})
    assert response.status_code == 200 and Interaction.objects.count() == 1


def test_the_record_page_costs_the_same_queries_for_one_or_many_contacts(
        client, agent, service, lefevre):
    client.force_login(agent)

    def cost():
        with CaptureQueriesContext(connection) as run:
            assert client.get(reverse("crm:record", args=[lefevre.pk])).status_code == 200
        return len(run)

    services.log_interaction(actor=agent, record=lefevre, service=service, values={
        "channel": "counter", "subject": "Premier", "outcome": "answered"})
    cost()
    one = cost()
    for n in range(8):
        services.log_interaction(actor=agent, record=lefevre, service=service, values={
            "channel": "phone", "subject": f"Appel {n}", "outcome": "answered"})
    assert cost() == one and one <= 22  # 22: the documents scanned at the counter (0469)


# --- Merging a duplicate ----------------------------------------------------------------------

def test_a_mediator_merges_a_duplicate_and_sees_what_was_merged(
        client, organisation, service, agent, mediator, lefevre):
    duplicate = make(organisation, agent, first_name="Helene", last_name="Lefevre",
                     phone="06 12 34 56 78", address="3 rue des Lilas", postal_code="38000")
    services.log_interaction(actor=agent, record=duplicate, service=service, values={
        "channel": "letter", "subject": "Courrier sur l'eau", "outcome": "answered"})
    client.force_login(mediator)
    page = client.get(reverse("crm:merge", args=[lefevre.pk]),
                      {"q": "lefevre", "absorbed": duplicate.pk}).content.decode()
    assert "agit de la même personne" in page and "Fiche en double" in page
    assert "3 rue des Lilas" in page
    refused = client.post(reverse("crm:merge", args=[lefevre.pk]),
                          {"absorbed": duplicate.pk})
    assert refused.status_code == 200 and "Cochez la case" in refused.content.decode()
    response = client.post(reverse("crm:merge", args=[lefevre.pk]),
                           {"absorbed": duplicate.pk, "confirm": "on"})
    assert response.status_code == 302
    lefevre.refresh_from_db()
    duplicate.refresh_from_db()
    assert duplicate.merged_into == lefevre and lefevre.address == "3 rue des Lilas"
    assert Interaction.objects.get().record == lefevre
    assert names(queries.search_records(mediator, organisation, "lefevre")) == ["Lefèvre"]
    merge = RecordMerge.objects.get()
    assert merge.snapshot["address"] == "3 rue des Lilas" and merge.agent == mediator
    assert merge.moved == {"interactions": 1, "fields": ["address", "postal_code"],
                           "account": False}
    audit = AuditEvent.objects.get(action="crm.records_merged")
    assert audit.details["absorbed"] == str(duplicate.pk) and audit.actor == mediator
    # The old record's address leads to the kept one; its history shows the merge.
    old = client.get(reverse("crm:record", args=[duplicate.pk]))
    assert old["Location"] == reverse("crm:record", args=[lefevre.pk])
    page = client.get(reverse("crm:record", args=[lefevre.pk])).content.decode()
    assert "Fiche en double fusionnée" in page and "Courrier sur l&#x27;eau" in page


def test_a_record_cannot_be_merged_with_itself_and_a_plain_agent_cannot_merge(
        client, agent, mediator, lefevre):
    client.force_login(mediator)
    response = client.post(reverse("crm:merge", args=[lefevre.pk]),
                           {"absorbed": lefevre.pk, "confirm": "on"})
    assert response.status_code == 200
    assert "ne peut pas être fusionnée avec elle-même" in response.content.decode()
    lefevre.refresh_from_db()
    assert lefevre.merged_into is None and not RecordMerge.objects.exists()
    client.force_login(agent)
    assert client.get(reverse("crm:merge", args=[lefevre.pk])).status_code == 403


def test_records_of_another_organisation_cannot_be_merged_in(
        client, mediator, lefevre, other_organisation, foreign_agent):
    foreign = make(other_organisation, foreign_agent, last_name="Lefèvre", email="x@ailleurs.fr")
    client.force_login(mediator)
    response = client.post(reverse("crm:merge", args=[lefevre.pk]),
                           {"absorbed": foreign.pk, "confirm": "on"})
    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.merged_into is None


def test_a_record_typed_at_the_counter_joins_the_account_with_that_address(
        agent, organisation, service):
    from mairie.core.factories import UserFactory
    from mairie.procedures.tests.automation_helpers import make_civil_procedure, submit

    account = UserFactory(organisation=organisation, email="Paul.Durand@example.org")
    dossier = submit(make_civil_procedure(organisation, service), account)
    record = make(organisation, agent, first_name="Paul", last_name="Durand",
                  email="paul.durand@example.org")
    assert record.account == account
    items = queries.timeline_of(agent, organisation, record)
    assert [item.obj for item in items if item.kind == "dossier"] == [dossier]
    # A second record with the same address stays apart (a merge decides, not a guess).
    assert make(organisation, agent, last_name="Durand", email="paul.durand@example.org"
                ).account is None
    assert services.record_for_account(account) == record


def test_the_demo_has_residents_met_at_the_counter_and_loads_once(organisation):
    from mairie.core.demo.loader import load_demo

    load_demo()
    records = ResidentRecord.objects.exclude(organisation=organisation)
    assert records.filter(account__isnull=True).count() == 3
    assert records.filter(account__isnull=False).count() == 2
    breval = records.get(last_name="Bréval")
    assert breval.interactions.count() == 2 and breval.created_by.email.startswith("mediateur")
    load_demo()
    assert ResidentRecord.objects.exclude(organisation=organisation).count() == 5
    assert Interaction.objects.count() == 5  # 4 contacts and the mail from M. Diallo
    from mairie.crm.models import HelpRequest, MailMessage

    diallo_mail, stranger_mail = (MailMessage.objects.get(sender_address=address) for address
                                  in ("m.diallo@example.org", "h.vasseur@example.net"))
    assert diallo_mail.record.last_name == "Diallo" and stranger_mail.record is None

    assert HelpRequest.objects.filter(status="new").count() == 2
    from mairie.crm.models import Mandate

    (mandate,) = Mandate.objects.all()
    assert mandate.state == "active" and mandate.uses.count() == 1


# --- A record made at the counter joins the account opened later ------------------------------

def _confirm(account, email):
    from allauth.account import signals
    from allauth.account.models import EmailAddress

    address = EmailAddress.objects.filter(user=account).first() or EmailAddress(
        user=account, primary=True)
    address.email, address.verified = email, True
    address.save()
    signals.email_confirmed.send(sender=EmailAddress, request=None, email_address=address)


def test_a_record_made_at_the_counter_joins_the_account_once_its_address_is_confirmed(
        organisation, agent, lefevre, other_organisation, foreign_agent):
    from mairie.core.factories import UserFactory

    elsewhere = make(other_organisation, foreign_agent, last_name="Lefèvre",
                     email=lefevre.email)
    account = UserFactory(organisation=organisation, email=lefevre.email)
    _confirm(account, "HELENE.lefevre@example.org")
    lefevre.refresh_from_db()
    elsewhere.refresh_from_db()
    assert lefevre.account == account
    assert elsewhere.account is None  # another collectivité's record is not touched
    assert AuditEvent.objects.filter(action="crm.record_linked_to_account").count() == 1


def test_two_records_with_the_same_address_wait_for_a_merge_instead(organisation, agent):
    from mairie.core.factories import UserFactory

    first = make(organisation, agent, last_name="Dupont", email="famille@example.org")
    second = make(organisation, agent, last_name="Dupond", email="famille@example.org")
    _confirm(UserFactory(organisation=organisation, email="famille@example.org"),
             "famille@example.org")
    assert ResidentRecord.objects.filter(pk__in=[first.pk, second.pk],
                                         account__isnull=False).count() == 0
