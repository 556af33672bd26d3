"""Security headers on portal and workspace pages, and production configuration.

The production tests start `python -m mairie` in a subprocess with MAIRIE_PRODUCTION=1, since
the settings module reads the environment once, at import.
"""

import os
import secrets
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[4]


def _csp(response) -> dict[str, list[str]]:
    directives = {}
    for part in response["Content-Security-Policy"].split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def _assert_hardened(response):
    csp = _csp(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval', no host
    assert csp["style-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=(self)" in response["Permissions-Policy"]
    assert "payment=()" in response["Permissions-Policy"]


@pytest.mark.django_db
def test_portal_pages_send_the_security_headers(client, organisation):
    for url in ["/", "/accessibilite/", "/mentions-legales/", "/page-qui-n-existe-pas/"]:
        _assert_hardened(client.get(url))


@pytest.mark.django_db
def test_agent_pages_send_the_security_headers(client, administrator, service):
    client.force_login(administrator)
    for url in ["/agent/", "/agent/organisation/", "/agent/parametres/",
                f"/agent/organisation/services/{service.pk}/"]:
        response = client.get(url)
        assert response.status_code == 200, url
        _assert_hardened(response)


@pytest.mark.django_db
def test_no_strict_transport_security_outside_production(client, organisation):
    # HSTS on a plain-http demo would lock browsers out of http://localhost for a year.
    assert "Strict-Transport-Security" not in client.get("/", secure=True)


def _production_env(tmp_path, **extra) -> dict[str, str]:
    # A clean production environment: nothing inherited from the test run (the browser tests,
    # for one, set DJANGO_ALLOW_ASYNC_UNSAFE, which check --deploy rightly warns about).
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "MAIRIE_TESTING", "DEBUG",
                        "ALLOWED_HOSTS", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
           and not k.startswith(("MAIRIE_", "CELERY_", "CSP_", "AWS_"))}
    env.update({
        "MAIRIE_PRODUCTION": "1",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "mairie.example",
        "DATABASE_URL": os.environ.get("MAIRIE_DEPLOY_CHECK_DATABASE_URL",
                                       f"sqlite:///{tmp_path / 'prod.sqlite3'}"),
        "MAIRIE_VAR_DIR": str(tmp_path / "var"),
    })
    env.update(extra)
    return env


def _run(args, env, **kwargs):
    return subprocess.run([sys.executable, "-m", "mairie", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, **kwargs)


def test_check_deploy_prints_no_warning_with_production_settings(tmp_path):
    result = _run(["check", "--deploy", "--fail-level", "WARNING"], _production_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert "WARNING" not in result.stderr and "?: (" not in result.stderr


@pytest.mark.parametrize("secret_key, why", [("", "missing"), ("court", "too weak")])
def test_production_refuses_to_start_without_a_strong_secret_key(tmp_path, secret_key, why):
    result = _run(["check"], _production_env(tmp_path, SECRET_KEY=secret_key))
    assert result.returncode != 0
    assert "SECRET_KEY must be set to a random value of at least 50 characters" in result.stderr
    assert f"(it is {why})" in result.stderr
    assert "secrets.token_urlsafe" in result.stderr  # says how to make one


def test_production_sends_hsts_and_redirects_to_https(tmp_path):
    env = _production_env(tmp_path)
    migrate = _run(["migrate", "--no-input", "-v0"], env)
    assert migrate.returncode == 0, migrate.stderr
    script = textwrap.dedent("""
        import django
        django.setup()
        from django.test import Client
        from mairie.core.tenancy.models import Organisation, OrganisationHost
        org = Organisation.objects.create(name="Commune de Prod", slug="prod", is_default=True)
        OrganisationHost.objects.create(organisation=org, host="mairie.example")
        client = Client(HTTP_HOST="mairie.example")
        # The theme stylesheet: a real page of the shell that needs no collected static files.
        plain = client.get("/theme.css")
        print("plain", plain.status_code, plain.get("Location"))
        secure = client.get("/theme.css", secure=True)
        print("secure", secure.status_code)
        print("hsts", secure.get("Strict-Transport-Security"))
        print("csp", secure.get("Content-Security-Policy"))
        from django.conf import settings
        print("cookie-secure", settings.SESSION_COOKIE_SECURE and settings.CSRF_COOKIE_SECURE)
    """)
    env["DJANGO_SETTINGS_MODULE"] = "mairie.settings"
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(" ", 1) for line in result.stdout.strip().splitlines())
    assert lines["plain"] == "301 https://mairie.example/theme.css"
    assert lines["secure"] == "200"
    assert lines["hsts"] == "max-age=31536000; includeSubDomains; preload"
    assert "upgrade-insecure-requests" in lines["csp"]
    assert lines["cookie-secure"] == "True"


@pytest.mark.django_db
def test_login_page_lets_forms_lead_to_the_organisations_own_identity_providers(
        client, organisation, other_organisation, django_user_model):
    from mairie.core.accounts.models import IdentityProvider
    from mairie.core.accounts.services import save_identity_provider

    root = django_user_model.objects.create_superuser("root@plateforme.example", "x" * 12)
    save_identity_provider(actor=root, provider=IdentityProvider(
        organisation=organisation, audience="residents", name="FranceConnect",
        button_label="S'identifier avec FranceConnect", client_id="valmont",
        server_url="https://idp.franceconnect.example:8443/api/v1", secret="s"))
    login = _csp(client.get("/comptes/login/"))
    assert login["form-action"] == ["'self'", "https://idp.franceconnect.example:8443"]
    # Only on the account pages, and only for that organisation's host.
    assert _csp(client.get("/"))["form-action"] == ["'self'"]
    assert _csp(client.get("/comptes/login/", HTTP_HOST="autre.localhost"))[
        "form-action"] == ["'self'"]
