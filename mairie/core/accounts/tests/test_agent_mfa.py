"""Agents enrol TOTP (with recovery codes) before reaching /agent/, then sign in with their
password and a code. Everything goes through allauth's real views."""

import pytest
from allauth.mfa.models import Authenticator
from django.urls import reverse

from mairie.core.audit.models import AuditEvent
from mairie.core.factories import DEFAULT_PASSWORD, agent_factory, enrol_totp

from .html import Page
from .totp import fresh_totp_code

pytestmark = pytest.mark.django_db

AGENT_HOME = "/agent/"


def _log_in(client, user, **extra):
    return client.post(reverse("account_login"),
                       {"login": user.email, "password": DEFAULT_PASSWORD}, **extra)


def test_agent_without_totp_is_sent_to_enrolment(client, service):
    newcomer = agent_factory(service=service, totp=False, email="nouvel.agent@valmont.example")
    _log_in(client, newcomer)
    response = client.get(AGENT_HOME)
    assert response.status_code == 302
    assert response.headers["Location"] == reverse("mfa_activate_totp") + "?next=%2Fagent%2F"
    # Every page of the workspace is behind the same door.
    assert client.get("/agent/organisation/").headers["Location"].startswith(
        reverse("mfa_activate_totp"))


def test_enrolment_flow_ends_in_the_workspace(client, organisation, service,
                                             django_capture_on_commit_callbacks):
    newcomer = agent_factory(service=service, totp=False, email="nouvel.agent@valmont.example")
    _log_in(client, newcomer)
    activate = client.get(AGENT_HOME).headers["Location"]

    # allauth asks to confirm the password before adding a second factor.
    response = client.get(activate)
    assert response.headers["Location"].startswith(reverse("account_reauthenticate"))
    response = client.get(response.headers["Location"])
    form = Page(response.content.decode()).form_posting_to(reverse("account_reauthenticate"))
    response = client.post(reverse("account_reauthenticate"),
                           {**form["inputs"], "password": DEFAULT_PASSWORD})
    assert response.headers["Location"] == activate

    page = Page(client.get(activate).content.decode())
    assert "protégé par une double authentification" in page.main_text
    secret = next(c["value"] for c in page.controls if c.get("id") == "authenticator_secret")
    form = page.form_posting_to(reverse("mfa_activate_totp"))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("mfa_activate_totp"),
                               {**form["inputs"], "code": fresh_totp_code(secret)})
    assert response.headers["Location"] == reverse("mfa_view_recovery_codes")
    assert Authenticator.objects.filter(user=newcomer,
                                        type=Authenticator.Type.TOTP).exists()

    page = Page(client.get(reverse("mfa_view_recovery_codes")).content.decode())
    codes = next(c for c in page.controls if c.get("id") == "recovery_codes")
    assert codes is not None and "Codes non utilisés" in page.main_text
    continue_url = page.link_to("continuer vers l'espace agent")
    assert continue_url == AGENT_HOME
    assert client.get(continue_url).status_code == 200

    activated = AuditEvent.objects.filter(organisation=organisation, actor=newcomer,
                                          action="mfa.activated")
    assert sorted(activated.values_list("details__type", flat=True)) == [
        "recovery_codes", "totp"]


def test_wrong_code_at_enrolment_is_refused(client, service):
    newcomer = agent_factory(service=service, totp=False, email="nouvel.agent@valmont.example")
    _log_in(client, newcomer)
    client.post(reverse("account_reauthenticate"), {"password": DEFAULT_PASSWORD})
    response = client.post(reverse("mfa_activate_totp"), {"code": "000000"})
    assert response.status_code == 200
    assert "Code incorrect" in Page(response.content.decode()).main_text
    assert client.get(AGENT_HOME).status_code == 302


def test_enrolled_agent_signs_in_with_password_and_code(client, organisation, agent):
    response = _log_in(client, agent)
    assert response.headers["Location"] == reverse("mfa_authenticate")
    # Half-way through, the workspace is still closed.
    assert "_auth_user_id" not in client.session
    assert client.get(AGENT_HOME).headers["Location"].startswith(reverse("account_login"))

    response = client.post(reverse("mfa_authenticate"), {"code": "123456"})
    assert "Code incorrect" in Page(response.content.decode()).main_text
    assert AuditEvent.objects.filter(organisation=organisation, actor=agent,
                                     action="mfa.code_rejected").exists()

    response = client.post(reverse("mfa_authenticate"), {"code": fresh_totp_code()})
    assert response.headers["Location"] == reverse("web:after-login")
    assert client.get(response.headers["Location"]).headers["Location"] == AGENT_HOME
    assert client.get(AGENT_HOME).status_code == 200
    assert AuditEvent.objects.filter(organisation=organisation, actor=agent,
                                     action="auth.login").exists()


def test_login_with_next_lands_on_the_requested_workspace_page(client, agent):
    response = client.post(reverse("account_login") + "?next=/agent/organisation/",
                           {"login": agent.email, "password": DEFAULT_PASSWORD,
                            "next": "/agent/organisation/"})
    response = client.post(response.headers["Location"], {"code": fresh_totp_code()})
    assert response.headers["Location"] == "/agent/organisation/"


def test_residents_are_not_asked_to_enrol(client, resident):
    client.force_login(resident)
    assert client.get(AGENT_HOME).status_code == 403


def test_deactivating_totp_is_audited_and_closes_the_workspace_again(
        client, organisation, service, django_capture_on_commit_callbacks):
    user = agent_factory(service=service, totp=False, email="deux@valmont.example")
    enrol_totp(user)
    client.force_login(user)
    client.post(reverse("account_reauthenticate"), {"password": DEFAULT_PASSWORD})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("mfa_deactivate_totp"))
    assert response.headers["Location"] == reverse("mfa_index")
    assert not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    assert AuditEvent.objects.filter(organisation=organisation, actor=user,
                                     action="mfa.deactivated",
                                     details__type="totp").exists()
    assert client.get(AGENT_HOME).headers["Location"].startswith(reverse("mfa_activate_totp"))
