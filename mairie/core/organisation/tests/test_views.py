"""The chart pages: who may see and change what, forms, and the chart's query count."""

import html

import pytest
from django.urls import reverse

from mairie.core.audit.models import AuditEvent
from mairie.core.factories import MembershipFactory, ServiceFactory, UserFactory
from mairie.core.organisation.models import Membership, Role, Service

FOREIGN = {"HTTP_HOST": "autre.localhost"}


def _login(client, user):
    client.force_login(user)
    return client


@pytest.mark.django_db
class TestChartPermissions:
    url = "/agent/organisation/"

    def test_anonymous_is_sent_to_login(self, client, organisation):
        response = client.get(self.url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))

    def test_resident_is_refused(self, client, resident):
        response = _login(client, resident).get(self.url)
        assert response.status_code == 403
        assert "Accès refusé" in response.text

    def test_plain_agent_reads_the_chart_without_edit_buttons(self, client, agent, service,
                                                              administrator):
        response = _login(client, agent).get(self.url)
        assert response.status_code == 200
        assert service.name in response.text
        assert agent.get_full_name() in response.text
        assert "Administrateur" in response.text  # who does what
        assert "Créer un service" not in response.text
        assert reverse("organisation:service-edit", args=[service.pk]) not in response.text

    def test_administrator_sees_edit_actions(self, client, administrator, service):
        response = _login(client, administrator).get(self.url)
        assert response.status_code == 200
        assert "Créer un service" in response.text

    def test_foreign_administrator_sees_only_their_own_organisation(
            self, client, foreign_agent, service, agent):
        response = _login(client, foreign_agent).get(self.url, **FOREIGN)
        assert response.status_code == 200
        assert service.name not in response.text
        assert agent.email not in response.text
        assert "Accueil" in response.text  # their own service

    def test_chart_shows_the_tree_and_several_roles(self, client, administrator, organisation,
                                                    service):
        direction = ServiceFactory(organisation=organisation, name="Direction générale",
                                   slug="dg")
        child = ServiceFactory(organisation=organisation, name="Pôle social", slug="social",
                               parent=direction)
        MembershipFactory(service=child, user=administrator, role=Role.MANAGER)
        MembershipFactory(service=child, user=administrator, role=Role.ELECTED)
        response = _login(client, administrator).get(self.url)
        page = response.text
        # The child is nested in its direction's list, under a lower-level heading.
        assert page.index("Direction générale") < page.index("Pôle social")
        assert '<h3 class="org-service-name"><a href="' in page
        assert "Chef de service, Élu" in page

    def test_chart_query_count_does_not_grow_with_its_size(
            self, client, administrator, organisation, django_assert_max_num_queries):
        _login(client, administrator)
        client.get(self.url)  # warm the host cache and the session

        def grow(n):
            for i in range(n):
                svc = ServiceFactory(organisation=organisation, slug=f"svc-{n}-{i}")
                for role in (Role.AGENT, Role.MANAGER):
                    MembershipFactory(service=svc, role=role,
                                      user=UserFactory(organisation=organisation))

        grow(3)
        with django_assert_max_num_queries(14) as small:
            assert client.get(self.url).status_code == 200
        grow(20)
        with django_assert_max_num_queries(len(small.captured_queries)) as big:
            response = client.get(self.url)
        assert response.status_code == 200
        assert len(big.captured_queries) == len(small.captured_queries)


@pytest.mark.django_db
def test_service_page_query_count_does_not_grow_with_its_members(
        client, administrator, organisation, service, django_assert_max_num_queries):
    url = reverse("organisation:service-detail", args=[service.pk])
    _login(client, administrator)
    client.get(url)

    def add_members(n):
        for _ in range(n):
            MembershipFactory(service=service, user=UserFactory(organisation=organisation))

    add_members(2)
    with django_assert_max_num_queries(14) as small:
        assert client.get(url).status_code == 200
    add_members(25)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(url)
    assert response.text.count("Changer le rôle</button>") == 28


@pytest.mark.django_db
class TestServiceForms:
    def test_administrator_creates_a_service(self, client, administrator, organisation,
                                             service):
        response = _login(client, administrator).post(
            reverse("organisation:service-create"),
            {"name": "Police municipale", "slug": "", "parent": str(service.pk),
             "email": "police@valmont.example", "description": ""})
        created = Service.objects.get(organisation=organisation, slug="police-municipale")
        assert response.status_code == 302
        assert response["Location"] == reverse("organisation:service-detail", args=[created.pk])
        assert created.parent == service
        assert AuditEvent.objects.filter(action="organisation.service_created",
                                         object_id=str(created.pk)).exists()

    def test_duplicate_slug_is_reported_on_the_field(self, client, administrator, service):
        response = _login(client, administrator).post(
            reverse("organisation:service-create"),
            {"name": "Un autre accueil", "slug": "accueil", "parent": "", "email": "",
             "description": ""})
        assert response.status_code == 200
        assert "utilise déjà cet identifiant" in response.text
        assert 'id="error-summary"' in response.text
        assert Service.objects.filter(slug="accueil").count() == 1

    def test_parent_from_another_organisation_is_not_a_valid_choice(
            self, client, administrator, other_organisation):
        foreign = ServiceFactory(organisation=other_organisation, slug="etranger")
        response = _login(client, administrator).post(
            reverse("organisation:service-create"),
            {"name": "Annexe", "slug": "annexe", "parent": str(foreign.pk), "email": "",
             "description": ""})
        assert response.status_code == 200
        assert response.context["form"].errors["parent"]
        assert not Service.objects.filter(slug="annexe").exists()

    def test_edit_refuses_a_cycle(self, client, administrator, organisation, service):
        child = ServiceFactory(organisation=organisation, slug="guichet", parent=service)
        response = _login(client, administrator).post(
            reverse("organisation:service-edit", args=[service.pk]),
            {"name": service.name, "slug": service.slug, "parent": str(child.pk), "email": "",
             "description": ""})
        assert response.status_code == 200
        assert response.context["form"].errors["parent"]
        service.refresh_from_db()
        assert service.parent is None

    def test_edit_saves_and_audits(self, client, administrator, service):
        response = _login(client, administrator).post(
            reverse("organisation:service-edit", args=[service.pk]),
            {"name": "Accueil", "slug": "accueil", "parent": "", "email": "", "description": ""})
        assert response.status_code == 302
        service.refresh_from_db()
        assert service.name == "Accueil"
        event = AuditEvent.objects.get(action="organisation.service_updated")
        assert event.details["after"] == {"name": "Accueil"}

    def test_deleting_a_service_with_members_shows_why_not(self, client, administrator,
                                                           service):
        _login(client, administrator)
        page = client.get(reverse("organisation:service-delete", args=[service.pk]))
        assert "ne peut pas encore être supprimé" in page.text
        response = client.post(reverse("organisation:service-delete", args=[service.pk]),
                               follow=True)
        assert "Impossible de supprimer" in response.text
        assert Service.objects.filter(pk=service.pk).exists()

    def test_deleting_an_empty_service(self, client, administrator, organisation):
        empty = ServiceFactory(organisation=organisation, slug="vide")
        response = _login(client, administrator).post(
            reverse("organisation:service-delete", args=[empty.pk]))
        assert response.status_code == 302
        assert not Service.objects.filter(pk=empty.pk).exists()

    @pytest.mark.parametrize("name", ["service-create", "service-edit", "service-delete",
                                      "member-add"])
    def test_plain_agent_cannot_open_the_edit_pages(self, client, agent, service, name):
        url = reverse(f"organisation:{name}", args=[] if name == "service-create"
                      else [service.pk])
        _login(client, agent)
        assert client.get(url).status_code == 403
        assert client.post(url, {"name": "x", "email": "x@example.org"}).status_code == 403


@pytest.mark.django_db
class TestMemberPages:
    def test_add_an_existing_user(self, client, administrator, service, resident):
        response = _login(client, administrator).post(
            reverse("organisation:member-add", args=[service.pk]),
            {"email": resident.email, "role": Role.MEDIATOR, "first_name": "", "last_name": ""},
            follow=True)
        assert Membership.objects.filter(user=resident, service=service,
                                         role=Role.MEDIATOR).exists()
        assert "a été ajouté·e au service" in response.text

    def test_add_a_new_address_sends_an_invitation(self, client, administrator, service,
                                                   mailoutbox,
                                                   django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            response = _login(client, administrator).post(
                reverse("organisation:member-add", args=[service.pk]),
                {"email": "recrue@valmont.example", "role": Role.AGENT, "first_name": "Rémi",
                 "last_name": "Recrue"}, follow=True)
        assert "une invitation lui a été envoyée" in response.text
        assert [m.to for m in mailoutbox] == [["recrue@valmont.example"]]
        assert "http://testserver/comptes/password/reset/key/" in mailoutbox[0].body

    def test_change_role_and_remove(self, client, administrator, agent, service):
        membership = Membership.objects.get(user=agent, service=service)
        _login(client, administrator)
        detail = client.get(reverse("organisation:service-detail", args=[service.pk]))
        assert f'name="m-{membership.pk}-role"' in detail.text
        response = client.post(reverse("organisation:membership-role", args=[membership.pk]),
                               {f"m-{membership.pk}-role": Role.MANAGER})
        assert response.status_code == 302
        membership.refresh_from_db()
        assert membership.role == Role.MANAGER
        response = client.post(reverse("organisation:membership-remove", args=[membership.pk]))
        assert response.status_code == 302
        assert not Membership.objects.filter(pk=membership.pk).exists()

    def test_removing_the_last_administrator_is_refused_with_a_message(
            self, client, administrator, service):
        membership = Membership.objects.get(user=administrator)
        response = _login(client, administrator).post(
            reverse("organisation:membership-remove", args=[membership.pk]), follow=True)
        assert "dernier rôle d'administrateur" in html.unescape(response.text)
        assert Membership.objects.filter(pk=membership.pk).exists()

    def test_plain_agent_cannot_change_roles(self, client, agent, administrator, service):
        membership = Membership.objects.get(user=agent)
        _login(client, agent)
        url = reverse("organisation:membership-role", args=[membership.pk])
        assert client.post(url, {f"m-{membership.pk}-role": Role.ADMINISTRATOR}).status_code \
            == 403
        url = reverse("organisation:membership-remove", args=[administrator.memberships.get().pk])
        assert client.post(url).status_code == 403
        assert Membership.objects.get(pk=membership.pk).role == Role.AGENT
        detail = client.get(reverse("organisation:service-detail", args=[service.pk]))
        assert detail.status_code == 200
        assert "Changer le rôle" not in detail.text


@pytest.mark.django_db
class TestForeignAdministrator:
    """An administrator of another organisation, on their own host, reaches nothing of ours."""

    def test_objects_of_this_organisation_answer_404(self, client, foreign_agent, agent,
                                                     service):
        membership = Membership.objects.get(user=agent)
        _login(client, foreign_agent)
        for name, pk in [("service-detail", service.pk), ("service-edit", service.pk),
                         ("service-delete", service.pk), ("member-add", service.pk),
                         ("membership-role", membership.pk),
                         ("membership-remove", membership.pk)]:
            url = reverse(f"organisation:{name}", args=[pk])
            assert client.get(url, **FOREIGN).status_code == 404, name
            if name == "service-detail":
                continue  # read-only page
            assert client.post(url, {"name": "Pirate", "email": "x@example.org",
                                     f"m-{pk}-role": Role.ADMINISTRATOR},
                               **FOREIGN).status_code == 404, name
        service.refresh_from_db()
        membership.refresh_from_db()
        assert service.name == "Accueil et état civil"
        assert membership.role == Role.AGENT

    def test_cannot_place_their_service_under_ours(self, client, foreign_agent, service):
        theirs = foreign_agent.memberships.get().service
        response = _login(client, foreign_agent).post(
            reverse("organisation:service-edit", args=[theirs.pk]),
            {"name": theirs.name, "slug": theirs.slug, "parent": str(service.pk), "email": "",
             "description": ""}, **FOREIGN)
        assert response.status_code == 200
        assert response.context["form"].errors["parent"]
        theirs.refresh_from_db()
        assert theirs.parent is None

    def test_cannot_recruit_our_agents(self, client, foreign_agent, agent):
        theirs = foreign_agent.memberships.get().service
        response = _login(client, foreign_agent).post(
            reverse("organisation:member-add", args=[theirs.pk]),
            {"email": agent.email, "role": Role.ADMINISTRATOR, "first_name": "",
             "last_name": ""}, **FOREIGN)
        assert response.status_code == 200
        assert "ne peut pas être utilisée" in response.text
        assert not Membership.objects.filter(user=agent, service=theirs).exists()
