"""A sign-in only works on the host of the user's own collectivité."""

import pytest
from django.urls import reverse

from mairie.core.audit.models import AuditEvent
from mairie.core.factories import DEFAULT_PASSWORD

from .html import Page

pytestmark = pytest.mark.django_db


def _log_in(client, user, password=DEFAULT_PASSWORD, **extra):
    return client.post(reverse("account_login"), {"login": user.email, "password": password},
                       **extra)


def test_resident_signs_in_on_their_organisations_host(client, resident):
    response = _log_in(client, resident)
    assert response.headers["Location"] == reverse("web:after-login")
    assert client.session["_auth_user_id"] == str(resident.pk)
    assert client.get(reverse("web:my-account")).status_code == 200


def test_user_of_organisation_a_cannot_sign_in_on_organisation_b(client, resident,
                                                                  other_organisation):
    response = _log_in(client, resident, HTTP_HOST="autre.localhost")
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    page = Page(response.content.decode())
    assert "L'adresse électronique ou le mot de passe est incorrect." in page.main_text
    # The refusal is in B's audit trail, like any failed sign-in there.
    failed = AuditEvent.objects.get(organisation=other_organisation,
                                    action="auth.login_failed")
    assert failed.details == {"email": resident.email}
    assert not AuditEvent.objects.filter(action="auth.login").exists()


def test_agent_of_b_cannot_sign_in_on_a(client, organisation, foreign_agent):
    response = _log_in(client, foreign_agent)
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_a_session_opened_on_a_is_worthless_on_b(client, resident, other_organisation):
    _log_in(client, resident)
    response = client.get(reverse("web:my-account"), HTTP_HOST="autre.localhost")
    assert response.status_code == 302
    assert response.headers["Location"].startswith(reverse("account_login"))


def test_wrong_password_is_audited(client, resident, organisation):
    response = _log_in(client, resident, password="pas-le-bon")
    assert response.status_code == 200
    assert AuditEvent.objects.filter(organisation=organisation, action="auth.login_failed",
                                     details__email=resident.email).count() == 1
