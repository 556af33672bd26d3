"""`search:search` (/recherche/): the page residents and agents use."""

import pytest
from django.urls import reverse

from mairie.core.factories import agent_factory
from mairie.core.search.access import public_key

from .conftest import index

URL = reverse("search:search")


def _get(client, query, **extra):
    return client.get(URL, {"q": query}, **extra)


@pytest.mark.django_db
def test_without_a_query_the_page_shows_the_form_only(client, organisation):
    response = client.get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'role="search"' in html and 'type="search"' in html and 'name="q"' in html
    assert "Résultats pour" not in html


@pytest.mark.django_db
def test_anonymous_visitors_search_public_documents_in_the_portal(client, documents):
    response = _get(client, "ecole")
    html = response.content.decode()
    assert response.status_code == 200
    assert "search/search_portal.html" in [t.name for t in response.templates]
    assert "Démarche d&#x27;inscription à l&#x27;<mark>École</mark> Jules-Ferry" in html
    assert 'href="/test/school/"' in html
    for hidden in ("/test/internal/", "/test/reception/", "/test/mine/", "/test/elsewhere/"):
        assert hidden not in html


@pytest.mark.django_db
def test_a_resident_sees_their_own_document_not_the_agents(client, documents, resident):
    client.force_login(resident)
    html = _get(client, "ecole").content.decode()
    assert "/test/mine/" in html and "/test/school/" in html
    assert "/test/internal/" not in html and "/test/reception/" not in html


@pytest.mark.django_db
def test_an_agent_searches_in_the_workspace_shell(client, documents, agent):
    client.force_login(agent)
    response = _get(client, "école")
    html = response.content.decode()
    assert "search/search_agent.html" in [t.name for t in response.templates]
    assert "Espace agent" in html
    assert "/test/internal/" in html and "/test/reception/" in html
    assert "/test/permit/" not in html  # another service's document
    assert "/test/mine/" not in html  # a resident's own document


@pytest.mark.django_db
def test_an_agent_without_authenticator_must_enrol_first(client, documents, service):
    newcomer = agent_factory(service=service, totp=False)
    client.force_login(newcomer)
    response = _get(client, "ecole")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_activate_totp"))


@pytest.mark.django_db
def test_the_other_organisations_agent_finds_only_their_own(client, documents, foreign_agent):
    client.force_login(foreign_agent)
    html = _get(client, "ecole", HTTP_HOST="autre.localhost").content.decode()
    assert "/test/elsewhere/" in html
    assert "/test/school/" not in html and "/test/internal/" not in html


@pytest.mark.django_db
def test_no_result_is_said_plainly(client, documents):
    html = _get(client, "piscine").content.decode()
    assert "Aucun résultat." in html


@pytest.mark.django_db
def test_results_are_paginated(client, organisation):
    for n in range(25):
        index(organisation, f"n{n}", f"Compte rendu du conseil n°{n}", "",
              [public_key(organisation)])
    first = _get(client, "conseil").content.decode()
    assert first.count('class="search-result"') == 20
    assert "Résultats suivants" in first and "Résultats précédents" not in first
    second = client.get(URL, {"q": "conseil", "page": 2}).content.decode()
    assert second.count('class="search-result"') == 5
    assert "Résultats précédents" in second and "Résultats suivants" not in second
    assert 'start="21"' in second


@pytest.mark.django_db
def test_the_number_of_queries_does_not_grow_with_the_results(client, organisation, agent,
                                                              django_assert_max_num_queries):
    client.force_login(agent)
    for n in range(3):
        index(organisation, f"a{n}", f"Arrêté municipal {n}", "", [public_key(organisation)])
    with django_assert_max_num_queries(12) as few:
        assert _get(client, "arrete").status_code == 200
    for n in range(3, 40):
        index(organisation, f"a{n}", f"Arrêté municipal {n}", "", [public_key(organisation)])
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = _get(client, "arrete").content.decode()
    assert html.count('class="search-result"') == 20
