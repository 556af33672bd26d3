"""The search API: accents, stemming, ranking, permission filtering in SQL, index upkeep.

Runs on the database of the test run: SQLite (FTS5) by default, PostgreSQL (tsvector,
'french') with DATABASE_URL; both must behave the same way for these cases.
"""

import pytest
from django.contrib.auth.models import AnonymousUser

from mairie.core.search.access import agents_key, public_key
from mairie.core.search.models import SearchDocument
from mairie.core.search.queries import access_keys_for, search
from mairie.core.search.services import remove_document

from .conftest import index

ANONYMOUS = AnonymousUser()


def _ids(hits):
    return [hit.object_id for hit in hits]


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["demarche", "DÉMARCHE", "ecole jules", "École", "ÉCOLE ferry",
                                   "démarches", "inscriptions", "l'ecole maternelle"])
def test_accents_case_and_plurals_do_not_matter(organisation, documents, query):
    assert "school" in _ids(search(ANONYMOUS, organisation, query))


@pytest.mark.django_db
def test_french_words_are_matched_by_their_stem(organisation):
    index(organisation, "works", "Travaux de voirie", "Réfection des trottoirs",
          [public_key(organisation)])
    assert _ids(search(ANONYMOUS, organisation, "trottoir")) == ["works"]
    assert _ids(search(ANONYMOUS, organisation, "refection")) == ["works"]
    assert _ids(search(ANONYMOUS, organisation, "Voirie travaux")) == ["works"]


@pytest.mark.django_db
def test_a_title_match_ranks_above_a_body_match(organisation):
    index(organisation, "body", "Conseil municipal", "Ordre du jour : budget de la piscine.",
          [public_key(organisation)])
    index(organisation, "title", "Horaires de la piscine", "Ouverte tout l'été.",
          [public_key(organisation)])
    assert _ids(search(ANONYMOUS, organisation, "piscine")) == ["title", "body"]


@pytest.mark.django_db
def test_hits_carry_a_highlighted_escaped_title_and_snippet(organisation):
    index(organisation, "xss", "<script>alert(1)</script> École des Pins",
          "Début. " + "texte " * 100 + "La cour de l'école sera rénovée. " + "fin " * 100,
          [public_key(organisation)])
    [hit] = search(ANONYMOUS, organisation, "ecole")
    assert hit.title_html == "&lt;script&gt;alert(1)&lt;/script&gt; <mark>École</mark> des Pins"
    assert "<mark>école</mark> sera rénovée" in hit.snippet_html
    assert hit.snippet_html.startswith("… ") and hit.snippet_html.endswith(" …")
    assert len(hit.snippet_html) < 400
    assert hit.url == "/test/xss/" and hit.type_label == "tests.page"


@pytest.mark.django_db
def test_anonymous_visitors_find_public_documents_only(organisation, documents):
    assert _ids(search(ANONYMOUS, organisation, "ecole")) == ["school"]


@pytest.mark.django_db
def test_a_resident_finds_public_documents_and_their_own(organisation, documents, resident,
                                                         other_resident):
    assert sorted(_ids(search(resident, organisation, "ecole"))) == ["mine", "school"]
    assert _ids(search(other_resident, organisation, "ecole")) == ["school"]


@pytest.mark.django_db
def test_an_agent_finds_agents_documents_and_their_services_not_another_services(
        organisation, documents, agent, service, other_service):
    found = sorted(_ids(search(agent, organisation, "ecole")))
    assert found == ["internal", "reception", "school"]
    assert "permit" not in found
    assert f"service:{service.pk}" in access_keys_for(agent, organisation)
    assert f"service:{other_service.pk}" not in access_keys_for(agent, organisation)


@pytest.mark.django_db
def test_another_organisation_never_sees_anything_of_ours(organisation, other_organisation,
                                                          documents, foreign_agent):
    assert _ids(search(foreign_agent, other_organisation, "ecole")) == ["elsewhere"]
    # Asked about our organisation, an account of another one holds only the public key.
    assert access_keys_for(foreign_agent, organisation) == [public_key(organisation)]
    assert _ids(search(foreign_agent, organisation, "ecole")) == ["school"]


@pytest.mark.django_db
def test_updating_a_document_replaces_its_text_and_its_readers(organisation, documents,
                                                               resident):
    index(organisation, "school", "Rentrée scolaire", "Fournitures", [agents_key(organisation)])
    assert SearchDocument.objects.filter(object_id="school").count() == 1
    assert _ids(search(ANONYMOUS, organisation, "fournitures")) == []
    assert _ids(search(ANONYMOUS, organisation, "jules")) == []
    assert _ids(search(resident, organisation, "ecole")) == ["mine"]


@pytest.mark.django_db
def test_a_removed_document_is_not_found(organisation, documents):
    assert remove_document(organisation=organisation, obj_type="tests.page", obj_id="school")
    assert _ids(search(ANONYMOUS, organisation, "ecole")) == []
    assert not remove_document(organisation=organisation, obj_type="tests.page",
                               obj_id="school")


@pytest.mark.django_db
@pytest.mark.parametrize("query", ['école" OR 1=1 --', "ecole*", "NEAR(ecole)", "é:* | !a",
                                   "'); DROP TABLE search_fts; --", "___", "   ", "?"])
def test_query_syntax_is_never_interpreted(organisation, documents, query):
    hits = search(ANONYMOUS, organisation, query)
    assert set(_ids(hits)) <= {"school"}
    assert _ids(search(ANONYMOUS, organisation, "ecole")) == ["school"]


@pytest.mark.django_db
def test_a_document_without_readers_is_refused(organisation):
    with pytest.raises(ValueError):
        index(organisation, "nobody", "Invisible", keys=[])
