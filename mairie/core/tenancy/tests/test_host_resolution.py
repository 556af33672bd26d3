"""Which organisation a request belongs to, from its host name."""

import pytest
from django.test import RequestFactory

from mairie.core.factories import OrganisationFactory
from mairie.core.tenancy.models import Organisation, OrganisationHost
from mairie.core.tenancy.queries import organisation_for_host


@pytest.mark.django_db
class TestOrganisationForHost:
    def test_known_host(self, organisation, other_organisation):
        assert organisation_for_host("autre.localhost") == other_organisation
        assert organisation_for_host("testserver") == organisation

    @pytest.mark.parametrize("host", ["autre.localhost:8000", "AUTRE.localhost",
                                      "autre.localhost.", "Autre.Localhost.:443"])
    def test_port_case_and_trailing_dot_do_not_matter(self, other_organisation, organisation,
                                                      host):
        assert organisation_for_host(host) == other_organisation

    def test_unknown_host_gets_the_default_organisation(self, organisation, other_organisation):
        assert organisation_for_host("inconnu.example") == organisation

    def test_default_can_be_chosen_by_setting(self, settings, organisation, other_organisation):
        settings.MAIRIE_DEFAULT_ORGANISATION_SLUG = "ailleurs"
        assert organisation_for_host("inconnu.example") == other_organisation

    def test_without_a_flagged_default_the_oldest_organisation_serves(self, db):
        first = OrganisationFactory(slug="premiere")
        OrganisationFactory(slug="seconde")
        assert organisation_for_host("inconnu.example") == first

    def test_new_host_takes_effect_at_once_despite_the_cache(self, organisation,
                                                             other_organisation):
        assert organisation_for_host("nouveau.localhost") == organisation  # cached
        OrganisationHost.objects.create(organisation=other_organisation,
                                        host="Nouveau.Localhost")
        assert organisation_for_host("nouveau.localhost") == other_organisation

    def test_hosts_are_stored_lower_case(self, organisation):
        host = OrganisationHost.objects.create(organisation=organisation, host=" MAIRIE.Example ")
        assert host.host == "mairie.example"

    def test_no_organisation_at_all(self, db):
        assert organisation_for_host("testserver") is None


@pytest.mark.django_db
class TestMiddleware:
    def test_request_carries_its_organisation(self, client, organisation, other_organisation):
        assert client.get("/").context["organisation"] == organisation
        response = client.get("/", HTTP_HOST="autre.localhost:8000")
        assert response.context["organisation"] == other_organisation
        assert "Commune d&#x27;Ailleurs" in response.text

    def test_instance_without_organisation_says_what_to_do(self, client, db):
        assert not Organisation.objects.exists()
        response = client.get("/")
        assert response.status_code == 503
        assert "python -m mairie demo" in response.content.decode()

    def test_request_factory_has_no_organisation_until_the_middleware_runs(self):
        # Guard for view tests: always go through the client, never call views directly.
        assert not hasattr(RequestFactory().get("/"), "organisation")
