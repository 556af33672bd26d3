"""OpenID Connect sign-in, end to end, against a real provider.

A small django-oauth-toolkit project (tests/oidc_provider/) runs as a subprocess with its own
SQLite file and a fresh RSA key; Mairie runs in pytest-django's live server. A `requests`
session plays the browser: Mairie's login button → the provider's login and consent pages →
Mairie's callback → signed in on Mairie, in the right collectivité. Nothing is mocked.
"""

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth import get_user_model

from mairie.core.accounts.models import IdentityProvider
from mairie.core.accounts.services import save_identity_provider
from mairie.core.audit.models import AuditEvent
from mairie.core.factories import UserFactory

from .html import Page
from .totp import fresh_totp_code

PROVIDER_PROJECT = Path(__file__).resolve().parents[4] / "tests" / "oidc_provider"
# One client per audience, as with FranceConnect and ProConnect.
CLIENTS = {"residents": ("mairie-valmont-habitants", "secret-de-test-habitants"),
           "agents": ("mairie-valmont-agents", "secret-de-test-agents")}
# The identifiers Mairie gives the two providers of the "valmont-test" organisation (conftest);
# their callback URLs are what the provider must accept as redirect URIs.
PROVIDER_IDS = {"residents": "valmont-test-residents", "agents": "valmont-test-agents"}
PASSWORD_AT_PROVIDER = "mot-de-passe-chez-le-fournisseur"
PEOPLE = {
    "camille": ("camille.durand@example.org", "Camille", "Durand"),
    "newcomer": ("nouvel.agent@valmont.example", "Noé", "Nouveau"),
    "agent": ("agent@valmont.example", "Alex", "Agent"),
}


@dataclass
class RunningProvider:
    url: str  # the issuer, e.g. http://127.0.0.1:8123/o
    log: Path

    def logs(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rsa_private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@pytest.fixture(scope="module")
def oidc_provider(live_server, tmp_path_factory):
    """The provider, migrated, seeded and serving; stopped (and its files removed) after."""
    workdir = tmp_path_factory.mktemp("oidc-provider")
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DJANGO_", "MAIRIE_", "DATABASE_URL", "REDIS_URL"))}
    env.update(DJANGO_SETTINGS_MODULE="provider_site.settings",
               OIDC_PROVIDER_DB=str(workdir / "provider.sqlite3"),
               OIDC_RSA_PRIVATE_KEY=_rsa_private_key_pem(), PYTHONUNBUFFERED="1")
    manage = [sys.executable, str(PROVIDER_PROJECT / "manage.py")]

    def run(*args):
        subprocess.run([*manage, *args], cwd=PROVIDER_PROJECT, env=env, check=True,
                       capture_output=True, timeout=120)

    run("migrate", "--noinput")
    run("seed_provider",
        *[arg for audience, (client_id, secret) in CLIENTS.items() for arg in (
            "--client", f"{client_id}|{secret}|{live_server.url}/comptes/oidc/"
                        f"{PROVIDER_IDS[audience]}/login/callback/")],
        *[arg for email, first, last in PEOPLE.values() for arg in (
            "--user", f"{email}|{PASSWORD_AT_PROVIDER}|{first}|{last}")])

    log = workdir / "provider.log"
    for _attempt in range(3):  # a port taken between choosing and binding: try another
        port = _free_port()
        with log.open("ab") as out:
            process = subprocess.Popen(
                [*manage, "runserver", f"127.0.0.1:{port}", "--noreload"],
                cwd=PROVIDER_PROJECT, env=env, stdout=out, stderr=subprocess.STDOUT)
        provider = RunningProvider(url=f"http://127.0.0.1:{port}/o", log=log)
        if _wait_until_ready(provider, process):
            break
        _stop(process)
    else:
        pytest.fail("the test OpenID Connect provider did not start:\n" + provider.logs())
    try:
        yield provider
    finally:
        _stop(process)


def _wait_until_ready(provider: RunningProvider, process, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            if requests.get(provider.url + "/.well-known/openid-configuration",
                            timeout=2).status_code == 200:
                return True
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    return False


def _stop(process) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture
def identity_providers(organisation, oidc_provider):
    root = UserFactory(organisation=None, is_staff=True, is_superuser=True,
                       email="root@plateforme.example")
    created = {}
    for audience, name, label in [
        ("residents", "FranceConnect", "S'identifier avec FranceConnect"),
        ("agents", "ProConnect", "S'identifier avec ProConnect"),
    ]:
        created[audience] = save_identity_provider(actor=root, provider=IdentityProvider(
            organisation=organisation, audience=audience, name=name, button_label=label,
            server_url=oidc_provider.url, client_id=CLIENTS[audience][0],
            secret=CLIENTS[audience][1]))
        assert created[audience].provider_id == PROVIDER_IDS[audience]
    return created


def _submit(browser: requests.Session, response, form: dict, **data):
    """Submit `form` of the page in `response` as a browser would (following redirects)."""
    action = form["action"] or response.url
    if action.startswith("/"):
        action = response.url.split("/", 3)[0] + "//" + response.url.split("/", 3)[2] + action
    result = browser.post(action, data={**form["inputs"], **data}, timeout=30)
    return result


def _sign_in_through_provider(live_server, oidc_provider, provider, person, *, consent=True):
    email = PEOPLE[person][0]
    browser = requests.Session()
    login_page = browser.get(live_server.url + "/comptes/login/", timeout=30)
    page = Page(login_page.text)
    # Mairie's button → the provider, which asks its user to sign in.
    response = _submit(browser, login_page, page.form_posting_to(provider.login_path()))
    assert response.url.startswith(oidc_provider.url.rsplit("/o", 1)[0] + "/accounts/login/"), (
        response.url, oidc_provider.logs())
    provider_login = Page(response.text)
    response = _submit(browser, response, provider_login.forms[0],
                       username=email, password=PASSWORD_AT_PROVIDER)
    # The consent page of the provider.
    assert response.url.startswith(oidc_provider.url + "/authorize/"), response.url
    consent_form = next(f for f in Page(response.text).forms if "client_id" in f["inputs"])
    extra = {"allow": "Authorize"} if consent else {}
    response = _submit(browser, response, consent_form, **extra)
    return browser, response


@pytest.mark.django_db(transaction=True)
def test_resident_signs_in_with_the_residents_provider(live_server, oidc_provider,
                                                       identity_providers, organisation):
    browser, response = _sign_in_through_provider(
        live_server, oidc_provider, identity_providers["residents"], "camille")
    assert response.status_code == 200, (response.url, response.text[:2000])
    assert response.url == live_server.url + "/mon-compte/"
    assert "camille.durand@example.org" in Page(response.text).main_text

    user = get_user_model().objects.get(email="camille.durand@example.org")
    assert user.organisation == organisation
    assert (user.first_name, user.last_name) == ("Camille", "Durand")
    assert not user.has_usable_password()
    assert EmailAddress.objects.get(user=user).verified  # the provider vouched for it
    account = SocialAccount.objects.get(user=user)
    assert account.provider == "valmont-test-residents"
    assert AuditEvent.objects.filter(organisation=organisation, actor=user,
                                     action="account.signed_up",
                                     details__provider="valmont-test-residents").exists()
    assert AuditEvent.objects.filter(organisation=organisation, actor=user,
                                     action="auth.login").exists()

    # Next time, the same identity signs in to the same account.
    browser, response = _sign_in_through_provider(
        live_server, oidc_provider, identity_providers["residents"], "camille")
    assert response.url == live_server.url + "/mon-compte/"
    assert get_user_model().objects.filter(email="camille.durand@example.org").count() == 1


@pytest.mark.django_db(transaction=True)
def test_agents_provider_does_not_make_an_agent(live_server, oidc_provider,
                                                identity_providers, organisation):
    browser, response = _sign_in_through_provider(
        live_server, oidc_provider, identity_providers["agents"], "newcomer")
    assert response.url == live_server.url + "/mon-compte/"
    user = get_user_model().objects.get(email="nouvel.agent@valmont.example")
    assert user.organisation == organisation and not user.memberships.exists()
    # Signed in, but without a role the workspace stays closed.
    assert browser.get(live_server.url + "/agent/", timeout=30).status_code == 403


@pytest.mark.django_db(transaction=True)
def test_agent_signs_in_with_the_agents_provider_then_totp(live_server, oidc_provider,
                                                           identity_providers, agent):
    browser, response = _sign_in_through_provider(
        live_server, oidc_provider, identity_providers["agents"], "agent")
    # The identity matches the agent's verified address: it is their account, and their
    # second factor is still asked for.
    assert response.url == live_server.url + "/comptes/2fa/authenticate/", response.url
    form = Page(response.text).form_posting_to("/comptes/2fa/authenticate/")
    response = _submit(browser, response, form, code=fresh_totp_code())
    assert response.url == live_server.url + "/agent/"
    assert response.status_code == 200
    assert SocialAccount.objects.get(provider="valmont-test-agents").user == agent


@pytest.mark.django_db(transaction=True)
def test_refusing_consent_at_the_provider(live_server, oidc_provider, identity_providers):
    browser, response = _sign_in_through_provider(
        live_server, oidc_provider, identity_providers["residents"], "camille", consent=False)
    assert response.url == live_server.url + "/comptes/3rdparty/login/cancelled/"
    assert "Connexion annulée" in Page(response.text).main_text
    assert not get_user_model().objects.filter(email="camille.durand@example.org").exists()
    assert browser.get(live_server.url + "/mon-compte/", timeout=30).url.startswith(
        live_server.url + "/comptes/login/")
