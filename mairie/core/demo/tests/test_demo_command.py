"""`python -m mairie demo`: the demo collectivité loads on an empty database, twice, the same."""

import io
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import validate_totp_code
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import override_settings
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect as ws_connect

from mairie.core.audit.models import AuditEvent
from mairie.core.audit.services import verify_chain
from mairie.core.demo import data
from mairie.core.demo.loader import current_totp_code
from mairie.core.organisation.models import Membership, Role, Service
from mairie.core.tenancy.models import Organisation, OrganisationHost

User = get_user_model()


def _run_demo(*args):
    out = io.StringIO()
    call_command("demo", *args, stdout=out)
    return out.getvalue()


def _snapshot():
    """What a tester would count in the admin after a load."""
    org = Organisation.objects.get(slug="valmont")
    org_users = User.objects.filter(organisation=org)
    return {
        "organisations": Organisation.objects.count(),
        "services": Service.objects.filter(organisation=org).count(),
        "agents": org_users.filter(memberships__isnull=False).distinct().count(),
        "non_agents": org_users.filter(memberships__isnull=True).count(),
        "memberships": Membership.objects.filter(organisation=org).count(),
        "users": User.objects.count(),
        "verified": EmailAddress.objects.filter(verified=True, primary=True).count(),
        "totp": Authenticator.objects.filter(type=Authenticator.Type.TOTP).count(),
        "hosts": sorted(
            OrganisationHost.objects.filter(organisation=org).values_list("host", flat=True)
        ),
    }


@pytest.mark.django_db
def test_demo_loads_twice_on_an_empty_database_with_the_same_result():
    first_output = _run_demo()
    first = _snapshot()
    second_output = _run_demo()
    second = _snapshot()

    assert first == second
    assert first["organisations"] == 1
    assert first["services"] == 8
    assert first["agents"] == len(data.STAFF) == 25
    residents = data.RESIDENT_COUNT + data.VOLUNTEER_COUNT + len(data.ASSOCIATIONS)
    assert first["non_agents"] == residents
    assert first["users"] == first["agents"] + residents + 1  # + the platform superuser
    assert first["verified"] == first["users"]  # every address verified
    assert first["totp"] == first["agents"] + 1  # every agent and the superuser
    assert first["hosts"] == ["127.0.0.1", "localhost"]
    assert "créés" in first_output and "rien à créer" in second_output
    for email in (
        "dgs@valmont.example",
        "contact@secours-populaire-valmont.example",
        data.RESIDENT_FIXED_EMAIL,
        data.SUPERUSER_EMAIL,
    ):
        assert email in first_output
    assert data.DEMO_PASSWORD in first_output and data.DEMO_TOTP_SECRET in first_output
    assert "http://127.0.0.1:8000/agent/" in first_output


@pytest.mark.django_db
def test_demo_organisation_is_complete_and_default():
    _run_demo()
    org = Organisation.objects.get(slug="valmont")
    assert org.is_default and org.kind == Organisation.Kind.COMMUNE
    assert org.country == Organisation.Country.FR and 10_000 < org.population < 15_000
    for field in (
        "address",
        "phone",
        "email",
        "website",
        "siret",
        "legal_representative",
        "dpo_name",
        "dpo_email",
        "host_name",
    ):
        assert getattr(org, field), field
    org.full_clean()  # every field passes the model's own validation


@pytest.mark.django_db
def test_demo_services_form_a_tree_under_the_direction_generale():
    _run_demo()
    services = {s.slug: s for s in Service.objects.filter(organisation__slug="valmont")}
    root = services.pop("direction-generale")
    assert root.parent is None
    assert {s.parent_id for s in services.values()} == {root.pk}
    assert {s.name for s in services.values()} >= {
        "Accueil et état civil",
        "Urbanisme",
        "Services techniques",
        "Action sociale / CCAS",
        "Développement économique",
        "Ressources humaines",
        "Numérique",
    }


@pytest.mark.django_db
def test_demo_staff_holds_every_role_a_tester_needs():
    _run_demo()
    memberships = Membership.objects.filter(organisation__slug="valmont").select_related(
        "service", "user"
    )
    by_role = {}
    for m in memberships:
        by_role.setdefault(m.role, []).append(m)
    assert [m.user.email for m in by_role[Role.DIRECTOR]] == ["dgs@valmont.example"]
    assert {m.user.email for m in by_role[Role.ELECTED]} == {
        "maire@valmont.example",
        "adjointe.solidarites@valmont.example",
    }
    assert [m.user.email for m in by_role[Role.MEDIATOR]] == ["mediateur@valmont.example"]
    assert [(m.user.email, m.service.slug) for m in by_role[Role.ADMINISTRATOR]] == [
        ("dsi@valmont.example", "numerique")
    ]
    managed = sorted(m.service.slug for m in by_role[Role.MANAGER])
    children = sorted(
        Service.objects.filter(organisation__slug="valmont", parent__isnull=False).values_list(
            "slug", flat=True
        )
    )
    assert managed == children  # one chef de service per service
    assert len(by_role[Role.AGENT]) >= 10


@pytest.mark.django_db
def test_demo_names_and_addresses_are_the_same_on_every_load():
    _run_demo()
    before = sorted(User.objects.values_list("email", "first_name", "last_name", "phone"))
    for user in User.objects.exclude(is_superuser=True)[:5]:
        user.first_name = "Modifié"
        user.save(update_fields=["first_name"])
    _run_demo()
    assert sorted(User.objects.values_list("email", "first_name", "last_name", "phone")) == before
    assert all(email.endswith(".example") for email, *_ in before)


@pytest.mark.django_db
def test_demo_password_works_and_a_changed_password_survives_a_reload():
    _run_demo()
    resident = User.objects.get(email=data.RESIDENT_FIXED_EMAIL)
    agent = User.objects.get(email="agent.accueil@valmont.example")
    assert resident.check_password(data.DEMO_PASSWORD) and agent.check_password(data.DEMO_PASSWORD)
    agent.set_password("mon-nouveau-secret-2026")
    agent.save(update_fields=["password"])
    _run_demo()
    agent.refresh_from_db()
    assert agent.check_password("mon-nouveau-secret-2026")


@pytest.mark.django_db
def test_demo_agent_logs_in_with_the_documented_password_and_totp(client):
    _run_demo()
    response = client.post(
        "/comptes/login/",
        {"login": "dgs@valmont.example", "password": data.DEMO_PASSWORD},
        HTTP_HOST="localhost",
    )
    assert response.status_code == 302 and "/2fa/" in response["Location"]
    code, _ = current_totp_code()
    response = client.post(response["Location"], {"code": code}, HTTP_HOST="localhost", follow=True)
    assert response.redirect_chain[-1][0].endswith("/agent/")
    assert "Direction générale" in response.content.decode()


@pytest.mark.django_db
def test_demo_load_is_audited_and_the_chain_stays_intact():
    _run_demo()
    _run_demo()
    org = Organisation.objects.get(slug="valmont")
    loads = AuditEvent.objects.filter(organisation=org, action="demo.load").order_by("seq")
    assert [bool(e.details["created"]) for e in loads] == [True, False]
    assert verify_chain(org) is None


@pytest.mark.django_db
def test_demo_takes_over_the_default_role_and_the_local_host_names(other_organisation):
    previous = Organisation.objects.create(name="Ancienne", slug="ancienne", is_default=True)
    OrganisationHost.objects.create(organisation=previous, host="localhost")
    _run_demo()
    previous.refresh_from_db()
    assert not previous.is_default
    assert OrganisationHost.objects.get(host="localhost").organisation.slug == "valmont"
    assert OrganisationHost.objects.get(host="autre.localhost").organisation == other_organisation


@pytest.mark.django_db
def test_demo_refuses_a_production_instance_unless_forced():
    with override_settings(PRODUCTION=True), pytest.raises(CommandError, match="production"):
        _run_demo()
    assert not Organisation.objects.exists()


@pytest.mark.django_db
def test_demo_totp_prints_the_code_an_authenticator_shows_now():
    output = _run_demo("--totp")
    code = output.split()[0]
    assert len(code) == 6 and code.isdigit()
    assert validate_totp_code(data.DEMO_TOTP_SECRET, code)
    assert not Organisation.objects.exists()  # --totp loads nothing


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_demo_serve_on_a_fresh_machine_answers_the_portal_static_files_and_websockets(tmp_path):
    """`make demo` on an empty var/ (SQLite): migrates, loads, serves the ASGI app with uvicorn
    (so the websocket route answers: refused to an anonymous visitor, not unknown)."""
    port = _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "MAIRIE_TESTING", "CELERY_BROKER_URL")
    }
    env.update(MAIRIE_VAR_DIR=str(tmp_path / "var"), LOG_LEVEL="WARNING")
    root = Path(__file__).resolve().parents[4]
    proc = subprocess.Popen(
        [sys.executable, "-m", "mairie", "demo", "--serve", "--port", str(port)],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        home = _wait_for(f"http://127.0.0.1:{port}/", proc)
        assert "Commune de Valmont" in home
        css = urllib.request.urlopen(
            f"http://127.0.0.1:{port}/static/mairie/css/mairie.css", timeout=5
        )
        assert css.status == 200 and b"--colour-primary" in css.read()
        with pytest.raises(InvalidStatus) as refused:
            ws_connect(
                f"ws://127.0.0.1:{port}/ws/", open_timeout=5, origin=f"http://127.0.0.1:{port}"
            )
        assert refused.value.response.status_code == 403
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=20)
    assert "valmont-demo-2026" in output
    assert (tmp_path / "var" / "mairie.sqlite3").exists()


def _wait_for(url: str, proc: subprocess.Popen, timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            output = proc.stdout.read() if proc.stdout else ""
            raise AssertionError(f"demo --serve exited early:\n{output}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read().decode()
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"demo --serve did not answer on {url} within {timeout} s")
