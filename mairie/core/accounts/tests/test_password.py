"""Forgotten password (reset by e-mail link) and password change, both audited."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from mairie.core.audit.models import AuditEvent
from mairie.core.factories import DEFAULT_PASSWORD

from .html import Page

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "nouveau-mot-de-passe-2025"


def test_reset_a_forgotten_password(client, organisation, resident):
    response = client.post(reverse("account_reset_password"), {"email": resident.email})
    assert response.headers["Location"] == reverse("account_reset_password_done")
    assert mail.outbox[-1].to == [resident.email]
    link = re.search(r"https?://[^/\s]+(/comptes/password/reset/key/[^\s]+/)",
                     mail.outbox[-1].body).group(1)

    response = client.get(link, follow=True)  # allauth moves the key into the session
    page = Page(response.content.decode())
    form_path = response.redirect_chain[-1][0]
    form = page.form_posting_to(form_path)
    response = client.post(form_path, {**form["inputs"], "password1": NEW_PASSWORD,
                                       "password2": NEW_PASSWORD})
    assert response.headers["Location"] == reverse("account_reset_password_from_key_done")
    resident.refresh_from_db()
    assert resident.check_password(NEW_PASSWORD)
    assert AuditEvent.objects.filter(organisation=organisation, actor=resident,
                                     action="account.password_reset").exists()
    # The link works once.
    assert "_auth_user_id" not in client.session
    again = client.get(link, follow=True)
    assert "n'est pas valide" in Page(again.content.decode()).main_text \
        or "invalide" in Page(again.content.decode()).main_text


def test_unknown_address_gets_the_same_answer(client, organisation):
    response = client.post(reverse("account_reset_password"),
                           {"email": "inconnu@example.org"})
    assert response.headers["Location"] == reverse("account_reset_password_done")


def test_change_password(client, organisation, resident):
    client.force_login(resident)
    response = client.post(reverse("account_change_password"), {
        "oldpassword": "pas-le-bon", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert "Le formulaire contient des erreurs" in Page(response.content.decode()).main_text
    response = client.post(reverse("account_change_password"), {
        "oldpassword": DEFAULT_PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302
    resident.refresh_from_db()
    assert resident.check_password(NEW_PASSWORD)
    assert client.session["_auth_user_id"] == str(resident.pk)  # still signed in here
    assert AuditEvent.objects.filter(organisation=organisation, actor=resident,
                                     action="account.password_changed").count() == 1


def test_password_pages_require_sign_in(client, organisation):
    response = client.get(reverse("account_change_password"))
    assert response.headers["Location"].startswith(reverse("account_login"))
