"""Fixtures shared by the whole suite: two organisations, agents, residents."""

import pytest

from mairie.core.factories import (
    OrganisationFactory,
    ServiceFactory,
    UserFactory,
    agent_factory,
)
from mairie.core.organisation.models import Role

# The browser-test harness (Playwright + Chromium + axe-core), for any test that uses `page`.
# Documents read with the real Tesseract, for any test marked `ocr` (tests/ocr.py).
pytest_plugins = ["tests.browser", "tests.ocr"]


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def organisation(db):
    """The default organisation, served on localhost / testserver."""
    return OrganisationFactory(name="Commune de Valmont-Test", slug="valmont-test",
                               is_default=True, hosts=["testserver", "localhost"])


@pytest.fixture
def other_organisation(db):
    """Another collectivité on the same instance, served on autre.localhost."""
    return OrganisationFactory(name="Commune d'Ailleurs", slug="ailleurs",
                               hosts=["autre.localhost"])


@pytest.fixture
def service(organisation):
    return ServiceFactory(organisation=organisation, name="Accueil et état civil",
                          slug="accueil")


@pytest.fixture
def other_service(organisation):
    return ServiceFactory(organisation=organisation, name="Urbanisme", slug="urbanisme")


@pytest.fixture
def agent(service):
    return agent_factory(service=service, email="agent@valmont.example")


@pytest.fixture
def administrator(service):
    return agent_factory(service=service, role=Role.ADMINISTRATOR, email="admin@valmont.example")


@pytest.fixture
def resident(organisation):
    return UserFactory(organisation=organisation, email="habitant@example.org")


@pytest.fixture
def foreign_agent(other_organisation):
    svc = ServiceFactory(organisation=other_organisation, name="Accueil", slug="accueil")
    return agent_factory(service=svc, role=Role.ADMINISTRATOR, email="agent@ailleurs.example")


def login_with_totp(client, user):
    """Log `user` in and mark the session as having passed MFA (for view tests)."""
    client.force_login(user)
    return client


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """On SQLite, keep the test database in a file rather than in memory, so that other
    processes — the real Celery worker of the background-job tests — can open it too."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3":
        db.setdefault("TEST", {})["NAME"] = str(tmp_path_factory.mktemp("db") / "test.sqlite3")
