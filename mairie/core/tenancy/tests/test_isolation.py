"""Two collectivités on one instance never see each other's users, services or data.

Organisation A is served on testserver (the default), B on autre.localhost. Every page of the
shell and of the organisation chart is requested by users of A on B's host: their session is
dropped (OrganisationUserMiddleware) and the page behaves as for an anonymous visitor.
"""

import pytest
from django.urls import reverse

from mairie.core.audit.services import record_event
from mairie.core.factories import DEFAULT_PASSWORD, enrol_totp
from mairie.core.notifications.services import notify
from mairie.core.organisation.models import Membership
from mairie.core.organisation.queries import chart_for, roles_of

B = {"HTTP_HOST": "autre.localhost"}

LOGIN_REQUIRED = ["/mon-compte/", "/agent/", "/agent/parametres/", "/agent/organisation/",
                  "/agent/organisation/services/nouveau/"]
PUBLIC = ["/", "/accessibilite/", "/donnees-personnelles/", "/mentions-legales/"]


def _object_urls(service, membership):
    return [f"/agent/organisation/services/{service.pk}/",
            f"/agent/organisation/services/{service.pk}/modifier/",
            f"/agent/organisation/services/{service.pk}/supprimer/",
            f"/agent/organisation/services/{service.pk}/ajouter-un-agent/",
            f"/agent/organisation/affectations/{membership.pk}/role/",
            f"/agent/organisation/affectations/{membership.pk}/retirer/"]


@pytest.fixture
def user_of_a(administrator):
    return administrator


@pytest.mark.django_db
class TestSessionsStayOnTheirHost:
    @pytest.mark.parametrize("url", LOGIN_REQUIRED)
    def test_a_user_of_a_is_logged_out_on_b(self, client, user_of_a, other_organisation, url):
        client.force_login(user_of_a)
        response = client.get(url, **B)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))
        assert "_auth_user_id" not in client.session  # the session is worthless now

    def test_object_pages_of_a_are_unreachable_from_b(self, client, user_of_a, agent, service,
                                                      other_organisation):
        membership = Membership.objects.get(user=agent)
        for url in _object_urls(service, membership):
            client.force_login(user_of_a)
            response = client.get(url, **B)
            assert response.status_code == 302, url
            assert response["Location"].startswith(reverse("account_login")), url

    @pytest.mark.parametrize("url", PUBLIC)
    def test_public_pages_of_b_show_a_user_as_a_visitor(self, client, user_of_a,
                                                        other_organisation, url):
        client.force_login(user_of_a)
        response = client.get(url, **B)
        assert response.status_code == 200
        assert user_of_a.email not in response.text
        assert "Se connecter" in response.text
        assert "Commune d&#x27;Ailleurs" in response.text

    def test_credentials_of_a_do_not_open_a_session_on_b(self, client, resident,
                                                         other_organisation):
        client.post(reverse("account_login"), {"login": resident.email,
                                               "password": DEFAULT_PASSWORD}, **B)
        assert "_auth_user_id" not in client.session
        # The same credentials on A's host do (control).
        client.post(reverse("account_login"), {"login": resident.email,
                                               "password": DEFAULT_PASSWORD})
        assert client.session["_auth_user_id"] == str(resident.pk)

    def test_a_superuser_of_the_platform_keeps_a_session_everywhere(self, client,
                                                                    other_organisation,
                                                                    django_user_model):
        operator = django_user_model.objects.create_superuser("ops@example.org", "x" * 12)
        enrol_totp(operator)
        client.force_login(operator)
        assert client.get("/admin/", **B).status_code == 200


@pytest.mark.django_db
class TestDataStaysInItsOrganisation:
    def test_agents_of_b_see_none_of_a_users_services_or_notifications(
            self, client, foreign_agent, administrator, agent, service, other_service,
            organisation, other_organisation):
        notify(organisation=organisation, recipients=[agent], kind="system.announcement",
               title="Message réservé à Valmont")
        client.force_login(foreign_agent)
        pages = [client.get(url, **B) for url in
                 ["/agent/", "/agent/organisation/", "/agent/parametres/", "/mon-compte/", "/"]]
        for response in pages:
            assert response.status_code == 200
            for secret in (agent.email, administrator.email, agent.get_full_name(),
                           service.name, other_service.name, "Message réservé à Valmont",
                           organisation.name):
                assert secret not in response.text

    def test_roles_and_chart_are_scoped(self, administrator, foreign_agent, organisation,
                                        other_organisation, service):
        assert roles_of(administrator, other_organisation) == set()
        assert roles_of(foreign_agent, organisation) == set()
        assert chart_for(foreign_agent, organisation) == []
        services_seen = [node.service for node in chart_for(foreign_agent, other_organisation)]
        assert service not in services_seen and len(services_seen) == 1

    def test_audit_chains_are_separate(self, organisation, other_organisation, administrator,
                                       foreign_agent):
        a = record_event(organisation=organisation, action="test.a", actor=administrator)
        b = record_event(organisation=other_organisation, action="test.b", actor=foreign_agent)
        assert a.seq == b.seq == 1
        assert a.prev_hash == b.prev_hash  # both start from genesis: no shared chain
