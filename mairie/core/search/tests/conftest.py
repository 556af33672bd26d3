import pytest

from mairie.core.factories import UserFactory
from mairie.core.search.access import agents_key, public_key, service_key, user_key
from mairie.core.search.services import index_document


def index(organisation, obj_id, title, body="", keys=(), obj_type="tests.page"):
    return index_document(organisation=organisation, obj_type=obj_type, obj_id=obj_id,
                          title=title, body=body, url=f"/test/{obj_id}/", access_keys=keys)


@pytest.fixture
def documents(organisation, other_organisation, service, other_service, resident):
    """A small index: public, agents-only, per-service, per-user, and another commune's."""
    return {
        "school": index(organisation, "school", "Démarche d'inscription à l'École Jules-Ferry",
                        "Les démarches pour inscrire votre enfant à l'école maternelle.",
                        [public_key(organisation)]),
        "internal": index(organisation, "internal", "Note interne sur la cantine de l'école",
                          "Plan de continuité du service de restauration scolaire.",
                          [agents_key(organisation)]),
        "reception": index(organisation, "reception", "Planning de l'accueil de l'école",
                           "Permanences du samedi.", [service_key(service)]),
        "permit": index(organisation, "permit", "Permis de construire de l'école",
                        "Extension du préau.", [service_key(other_service)]),
        "mine": index(organisation, "mine", "Votre demande de place à l'école",
                      "Demande déposée en ligne.", [user_key(resident)]),
        "elsewhere": index(other_organisation, "elsewhere", "École d'Ailleurs",
                           "Inscriptions scolaires.", [public_key(other_organisation),
                                                       agents_key(other_organisation)]),
    }


@pytest.fixture
def other_resident(organisation):
    return UserFactory(organisation=organisation, email="voisin@example.org")
