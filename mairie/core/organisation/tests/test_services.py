"""The chart's writes: permissions, invariants, audit trail, invitation of new agents."""

import re

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from mairie.core.audit.models import AuditEvent
from mairie.core.audit.services import verify_chain
from mairie.core.factories import MembershipFactory, ServiceFactory, UserFactory
from mairie.core.notifications.models import Notification
from mairie.core.organisation import services
from mairie.core.organisation.models import Membership, Role, Service
from mairie.core.organisation.queries import roles_of


def _last_event(organisation, action):
    return AuditEvent.objects.filter(organisation=organisation, action=action).latest("seq")


@pytest.mark.django_db
class TestServices:
    def test_administrator_creates_a_service_under_a_direction(self, administrator,
                                                                organisation):
        direction = services.create_service(actor=administrator, organisation=organisation,
                                            name="Direction générale")
        service = services.create_service(actor=administrator, organisation=organisation,
                                          name="Ressources humaines", parent=direction,
                                          email="rh@valmont.example")
        assert service.slug == "ressources-humaines"
        assert service.parent == direction
        event = _last_event(organisation, "organisation.service_created")
        assert event.object_id == str(service.pk)
        assert event.details["after"]["parent"] == str(direction.pk)
        assert event.actor == administrator
        assert verify_chain(organisation) is None

    def test_plain_agent_cannot_create_or_change(self, agent, organisation, service):
        with pytest.raises(PermissionDenied):
            services.create_service(actor=agent, organisation=organisation, name="Pirate")
        with pytest.raises(PermissionDenied):
            services.update_service(actor=agent, service=service, changes={"name": "Pirate"})
        assert not Service.objects.filter(name="Pirate").exists()

    def test_administrator_of_another_organisation_cannot_touch_this_one(
            self, foreign_agent, organisation, service):
        with pytest.raises(PermissionDenied):
            services.update_service(actor=foreign_agent, service=service,
                                    changes={"name": "Pirate"})
        with pytest.raises(PermissionDenied):
            services.delete_service(actor=foreign_agent, service=service)
        service.refresh_from_db()
        assert service.name == "Accueil et état civil"

    def test_update_records_before_and_after_of_changed_fields_only(self, administrator,
                                                                    service):
        services.update_service(actor=administrator, service=service,
                                changes={"name": "Accueil", "description": "",
                                         "email": "accueil@valmont.example"})
        event = _last_event(service.organisation, "organisation.service_updated")
        assert event.details["changed"] == ["email", "name"]
        assert event.details["before"] == {"email": "", "name": "Accueil et état civil"}
        assert event.details["after"] == {"email": "accueil@valmont.example", "name": "Accueil"}

    def test_unchanged_update_writes_no_event(self, administrator, service):
        before = AuditEvent.objects.count()
        services.update_service(actor=administrator, service=service,
                                changes={"name": service.name})
        assert AuditEvent.objects.count() == before

    def test_cycles_are_refused(self, administrator, organisation):
        top = ServiceFactory(organisation=organisation, slug="dg")
        middle = ServiceFactory(organisation=organisation, slug="pole", parent=top)
        bottom = ServiceFactory(organisation=organisation, slug="bureau", parent=middle)
        for parent in (top, bottom):  # itself, or its own grandchild
            with pytest.raises(ValidationError) as exc:
                services.update_service(actor=administrator, service=top,
                                        changes={"parent": parent})
            assert "parent" in exc.value.error_dict
        top.refresh_from_db()
        assert top.parent is None

    def test_parent_from_another_organisation_is_refused(self, administrator, organisation,
                                                         other_organisation):
        foreign = ServiceFactory(organisation=other_organisation, slug="ailleurs")
        with pytest.raises(ValidationError) as exc:
            services.create_service(actor=administrator, organisation=organisation,
                                    name="Sous ailleurs", parent=foreign)
        assert "même collectivité" in exc.value.message_dict["parent"][0]

    def test_duplicate_slug_is_refused_within_the_organisation_only(
            self, administrator, organisation, service, other_organisation):
        with pytest.raises(ValidationError) as exc:
            services.create_service(actor=administrator, organisation=organisation,
                                    name="Autre accueil", slug="accueil")
        assert "slug" in exc.value.error_dict
        ServiceFactory(organisation=other_organisation, slug="accueil-bis")
        created = services.create_service(actor=administrator, organisation=organisation,
                                           name="Accueil bis", slug="accueil-bis")
        assert created.organisation == organisation

    def test_deleting_a_service_with_members_or_children_is_refused(
            self, administrator, organisation, service):
        with pytest.raises(ValidationError) as exc:
            services.delete_service(actor=administrator, service=service)
        assert "1 affectation" in exc.value.messages[0]
        parent = ServiceFactory(organisation=organisation, slug="direction")
        ServiceFactory(organisation=organisation, slug="enfant", parent=parent)
        with pytest.raises(ValidationError) as exc:
            services.delete_service(actor=administrator, service=parent)
        assert "1 sous-service" in exc.value.messages[0]
        assert Service.objects.filter(pk__in=[service.pk, parent.pk]).count() == 2

    def test_deleting_an_empty_service_is_audited(self, administrator, organisation):
        empty = ServiceFactory(organisation=organisation, slug="vide", name="Vide")
        services.delete_service(actor=administrator, service=empty)
        assert not Service.objects.filter(pk=empty.pk).exists()
        event = _last_event(organisation, "organisation.service_deleted")
        assert event.object_id == str(empty.pk)
        assert event.details["before"]["name"] == "Vide"


@pytest.mark.django_db
class TestMemberships:
    def test_existing_user_of_the_organisation_gets_a_role(self, administrator, organisation,
                                                           service, resident):
        membership, invited = services.add_member(
            actor=administrator, organisation=organisation, service=service,
            email="HABITANT@example.org", role=Role.MEDIATOR)
        assert not invited
        assert membership.user == resident
        assert roles_of(resident, organisation) == {Role.MEDIATOR}
        event = _last_event(organisation, "organisation.member_added")
        assert event.details["after"]["role"] == "mediator"
        assert event.details["invited"] is False
        assert Notification.objects.filter(recipient=resident, organisation=organisation,
                                           kind="organisation.role_changed").count() == 1

    def test_a_user_may_hold_several_roles(self, administrator, organisation, service,
                                           other_service, agent):
        services.add_member(actor=administrator, organisation=organisation, service=service,
                            email=agent.email, role=Role.MANAGER)
        services.add_member(actor=administrator, organisation=organisation,
                            service=other_service, email=agent.email, role=Role.ELECTED)
        assert set(Membership.objects.filter(user=agent).values_list("role", flat=True)) == {
            Role.AGENT, Role.MANAGER, Role.ELECTED}

    def test_same_role_twice_in_a_service_is_refused(self, administrator, organisation, service,
                                                     agent):
        with pytest.raises(ValidationError) as exc:
            services.add_member(actor=administrator, organisation=organisation,
                                service=service, email=agent.email, role=Role.AGENT)
        assert "déjà ce rôle" in exc.value.message_dict["role"][0]

    def test_new_address_creates_an_agent_account_and_sends_an_invitation(
            self, client, administrator, organisation, service,
            django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            membership, invited = services.add_member(
                actor=administrator, organisation=organisation, service=service,
                email="Nouvelle.Agente@valmont.example", role=Role.AGENT,
                first_name="Nadia", last_name="Nouvelle")
        assert invited
        user = membership.user
        assert user.email == "nouvelle.agente@valmont.example"
        assert user.organisation == organisation
        assert not user.has_usable_password()
        assert len(mail.outbox) == 1
        message = mail.outbox[0]
        assert message.to == ["nouvelle.agente@valmont.example"]
        assert organisation.name in message.subject
        url = re.search(r"https?://\S+", message.body).group(0)
        # The link opens allauth's "choose a new password" form, which sets the password.
        path = url.split("testserver", 1)[-1] if "testserver" in url else url.split("://", 1)[1]
        path = path[path.index("/"):]
        response = client.get(path, follow=True)
        assert response.status_code == 200
        form_url = response.redirect_chain[-1][0] if response.redirect_chain else path
        response = client.post(form_url, {"password1": "un-mot-de-passe-long-42",
                                          "password2": "un-mot-de-passe-long-42"})
        assert response.status_code == 302
        user.refresh_from_db()
        assert user.check_password("un-mot-de-passe-long-42")

    def test_address_of_another_organisation_is_refused_without_saying_more(
            self, administrator, organisation, service, foreign_agent):
        with pytest.raises(ValidationError) as exc:
            services.add_member(actor=administrator, organisation=organisation,
                                service=service, email=foreign_agent.email)
        assert "ne peut pas être utilisée" in exc.value.message_dict["email"][0]
        assert not Membership.objects.filter(user=foreign_agent, service=service).exists()

    def test_change_role_is_audited_with_before_and_after(self, administrator, agent, service):
        membership = Membership.objects.get(user=agent, service=service)
        services.change_role(actor=administrator, membership=membership, role=Role.MANAGER)
        membership.refresh_from_db()
        assert membership.role == Role.MANAGER
        event = _last_event(service.organisation, "organisation.role_changed")
        assert event.details["before"]["role"] == "agent"
        assert event.details["after"]["role"] == "manager"
        notification = Notification.objects.get(recipient=agent,
                                                kind="organisation.role_changed")
        assert "Chef de service" in notification.title

    def test_remove_member_is_audited(self, administrator, agent, service, organisation):
        membership = Membership.objects.get(user=agent, service=service)
        services.remove_member(actor=administrator, membership=membership)
        assert not Membership.objects.filter(pk=membership.pk).exists()
        assert roles_of(agent, organisation) == set()
        event = _last_event(organisation, "organisation.member_removed")
        assert event.details["before"]["email"] == agent.email

    def test_the_last_administrator_cannot_be_removed_or_demoted(self, administrator, service):
        membership = Membership.objects.get(user=administrator, role=Role.ADMINISTRATOR)
        with pytest.raises(ValidationError):
            services.remove_member(actor=administrator, membership=membership)
        with pytest.raises(ValidationError):
            services.change_role(actor=administrator, membership=membership, role=Role.AGENT)
        second = UserFactory(organisation=service.organisation)
        MembershipFactory(service=service, user=second, role=Role.ADMINISTRATOR)
        services.change_role(actor=administrator, membership=membership, role=Role.AGENT)
        assert Membership.objects.get(pk=membership.pk).role == Role.AGENT

    def test_plain_agent_cannot_manage_members(self, agent, organisation, service, resident):
        with pytest.raises(PermissionDenied):
            services.add_member(actor=agent, organisation=organisation, service=service,
                                email=resident.email)
        membership = Membership.objects.get(user=agent)
        with pytest.raises(PermissionDenied):
            services.change_role(actor=agent, membership=membership, role=Role.ADMINISTRATOR)
        assert Membership.objects.get(pk=membership.pk).role == Role.AGENT
