"""Lockout: five failed sign-ins for one account within five minutes block that account's
sign-in, even with the right password, until the window has passed; everything is audited."""

import time

import pytest
from allauth.core.internal import ratelimit as allauth_ratelimit
from django.urls import reverse

from mairie.core.audit.models import AuditEvent
from mairie.core.factories import DEFAULT_PASSWORD, UserFactory

from .html import Page

pytestmark = pytest.mark.django_db

LOCKED = ("Trop de tentatives de connexion ont échoué pour ce compte. Par sécurité, la "
          "connexion est bloquée pendant quelques minutes, même avec le bon mot de passe.")


def _log_in(client, email, password):
    return client.post(reverse("account_login"), {"login": email, "password": password})


class _Clock:
    """Stands in for the `time` module of allauth's rate limiter, to move past the window."""

    def __init__(self, offset):
        self.offset = offset

    def time(self):
        return time.time() + self.offset

    def monotonic(self):
        return time.monotonic()

    def sleep(self, seconds):
        time.sleep(seconds)


def test_five_failures_lock_the_account_for_the_window(client, organisation, resident,
                                                       monkeypatch):
    for _ in range(5):
        response = _log_in(client, resident.email, "mauvais-mot-de-passe")
        assert "incorrect" in Page(response.content.decode()).main_text

    response = _log_in(client, resident.email, DEFAULT_PASSWORD)
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    page = Page(response.content.decode())
    assert LOCKED in page.main_text
    assert 'role="alert"' in page.html

    failed = AuditEvent.objects.filter(organisation=organisation, action="auth.login_failed",
                                       details__email=resident.email)
    assert failed.count() == 5
    assert AuditEvent.objects.filter(organisation=organisation, action="auth.login_locked",
                                     details__email=resident.email).count() == 1

    # Another account, from the same address, is not locked.
    neighbour = UserFactory(organisation=organisation, email="voisin@example.org")
    assert _log_in(client, neighbour.email, DEFAULT_PASSWORD).status_code == 302
    client.logout()

    # Still locked four minutes later…
    monkeypatch.setattr(allauth_ratelimit, "time", _Clock(4 * 60))
    assert LOCKED in Page(_log_in(client, resident.email, DEFAULT_PASSWORD)
                          .content.decode()).main_text
    # …open again once five minutes have passed since the failures.
    monkeypatch.setattr(allauth_ratelimit, "time", _Clock(5 * 60 + 5))
    response = _log_in(client, resident.email, DEFAULT_PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(resident.pk)


def test_a_successful_sign_in_does_not_reset_the_counter(client, resident):
    """An attacker cannot interleave the right password to keep guessing (allauth rolls back
    only the successful attempt)."""
    for _ in range(4):
        _log_in(client, resident.email, "mauvais-mot-de-passe")
    assert _log_in(client, resident.email, DEFAULT_PASSWORD).status_code == 302
    client.logout()
    _log_in(client, resident.email, "mauvais-mot-de-passe")
    assert LOCKED in Page(_log_in(client, resident.email, DEFAULT_PASSWORD)
                          .content.decode()).main_text
