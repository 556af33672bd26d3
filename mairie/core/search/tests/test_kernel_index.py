"""The kernel's documents (services, agents) follow the organisation chart, and the
`search reindex` command rebuilds the index."""

import io

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.management import call_command
from django.db import connection

from mairie.core.factories import MembershipFactory, ServiceFactory, agent_factory
from mairie.core.organisation.models import Role
from mairie.core.search.access import public_key
from mairie.core.search.models import SearchDocument
from mairie.core.search.organisation_index import AGENT_TYPE, SERVICE_TYPE
from mairie.core.search.queries import search

from .conftest import index


def _found(user, organisation, text, object_type):
    return [h for h in search(user, organisation, text) if h.object_type == object_type]


@pytest.mark.django_db
def test_agents_find_services_and_colleagues_residents_do_not(organisation, service, agent,
                                                              resident):
    ServiceFactory(organisation=organisation, name="Service des sports", slug="sports",
                   description="Gymnases, stades et piscine municipale.")
    [hit] = _found(agent, organisation, "gymnase", SERVICE_TYPE)
    assert hit.title == "Service des sports" and hit.type_label == "Service"
    agent_factory(service=service, first_name="Hélène", last_name="Dubœuf",
                  email="helene@valmont.example")
    [hit] = _found(agent, organisation, "helene duboeuf", AGENT_TYPE)
    assert hit.title == "Hélène Dubœuf" and hit.type_label == "Agent"
    assert f"/services/{service.pk}/" in hit.url
    assert "Agent — Accueil et état civil" in hit.snippet_html
    assert "<mark>helene</mark>@valmont.example" in hit.snippet_html
    for user in (resident, AnonymousUser()):
        assert search(user, organisation, "gymnase") == []
        assert search(user, organisation, "helene") == []


@pytest.mark.django_db
def test_the_index_follows_renames_roles_and_departures(organisation, service, agent):
    colleague = agent_factory(service=service, first_name="Paul", last_name="Zyxwiak")
    service.name = "Guichet unique"
    service.save()
    assert _found(agent, organisation, "guichet", SERVICE_TYPE)
    [hit] = _found(agent, organisation, "zyxwiak", AGENT_TYPE)
    assert "Guichet unique" in hit.snippet_html

    colleague.last_name = "Qorvath-Zyxwiak"
    colleague.save()
    assert [h.title for h in _found(agent, organisation, "qorvath", AGENT_TYPE)] == [
        "Paul Qorvath-Zyxwiak"]

    colleague.memberships.all().delete()
    assert _found(agent, organisation, "zyxwiak", AGENT_TYPE) == []
    other = ServiceFactory(organisation=organisation, name="Archives", slug="archives")
    other.delete()
    assert _found(agent, organisation, "archives", SERVICE_TYPE) == []


@pytest.mark.django_db
def test_an_agent_of_another_organisation_is_never_found(organisation, agent, foreign_agent):
    assert search(agent, organisation, "ailleurs") == []
    assert not SearchDocument.objects.filter(organisation=organisation,
                                             object_id=str(foreign_agent.pk)).exists()


@pytest.mark.django_db
def test_reindex_rebuilds_lost_documents_and_full_text_entries(organisation, service, agent):
    MembershipFactory(service=service, user=agent, role=Role.MANAGER)
    index(organisation, "page", "Règlement du cimetière", "", [public_key(organisation)])
    # Simulate an index damaged by a restore: kernel rows gone, full-text entries wiped.
    SearchDocument.objects.filter(object_type__in=[SERVICE_TYPE, AGENT_TYPE]).delete()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("UPDATE search_searchdocument SET search_vector = NULL")
        else:
            cursor.execute("DELETE FROM search_fts")
    assert search(agent, organisation, "cimetiere") == []
    assert _found(agent, organisation, "accueil", SERVICE_TYPE) == []

    out = io.StringIO()
    call_command("search", "reindex", "--organisation", organisation.slug, stdout=out)

    assert "OK  valmont-test : 3 documents" in out.getvalue()
    assert [h.object_id for h in search(agent, organisation, "cimetiere")] == ["page"]
    assert _found(agent, organisation, "accueil", SERVICE_TYPE)
    [hit] = _found(agent, organisation, "chef de service", AGENT_TYPE)
    assert hit.object_id == str(agent.pk)


@pytest.mark.django_db
def test_reindex_prunes_full_text_rows_left_without_a_document(organisation):
    doc = index(organisation, "page", "Règlement du cimetière", "", [public_key(organisation)])
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("DROP TRIGGER search_fts_after_delete")  # as a table rebuild would
    SearchDocument.objects.filter(pk=doc.pk).delete()
    call_command("search", "reindex", stdout=io.StringIO())
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT count(*) FROM search_fts WHERE rowid = %s", [doc.pk])
            assert cursor.fetchone()[0] == 0
    assert search(AnonymousUser(), organisation, "cimetiere") == []


@pytest.mark.django_db
def test_reindex_drops_documents_whose_object_is_gone(organisation, service, agent):
    SearchDocument.objects.create(organisation=organisation, object_type=SERVICE_TYPE,
                                  object_id="00000000-0000-0000-0000-000000000000",
                                  title="Service dissous", url="/")
    call_command("search", "reindex", stdout=io.StringIO())
    assert not SearchDocument.objects.filter(title="Service dissous").exists()
