"""The technical administration (/admin/) is reached only through allauth's login, and only
with a second factor: Django admin's password-only form is never offered."""

import pytest
from django.urls import reverse

from mairie.core.factories import DEFAULT_PASSWORD, UserFactory, enrol_totp

from .totp import fresh_totp_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def platform_admin(organisation):
    return UserFactory(organisation=organisation, is_staff=True, is_superuser=True,
                       email="plateforme@valmont.example")


def test_admin_login_form_redirects_to_the_accounts_login(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response.headers["Location"] == reverse("account_login") + "?next=/admin/"
    # Posting a password to the old form logs nobody in.
    client.post("/admin/login/", {"username": "x", "password": "y"})
    assert "_auth_user_id" not in client.session


def test_staff_without_totp_is_sent_to_enrolment(client, platform_admin):
    client.post(reverse("account_login"),
                {"login": platform_admin.email, "password": DEFAULT_PASSWORD})
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith(reverse("mfa_activate_totp"))


def test_staff_with_totp_signs_in_with_a_code_then_reaches_the_admin(client, platform_admin):
    enrol_totp(platform_admin)
    response = client.post(reverse("account_login"),
                           {"login": platform_admin.email, "password": DEFAULT_PASSWORD})
    assert response.headers["Location"] == reverse("mfa_authenticate")
    assert client.get("/admin/").status_code == 302  # not signed in until the code is given
    client.post(reverse("mfa_authenticate"), {"code": fresh_totp_code()})
    assert client.get("/admin/").status_code == 200
