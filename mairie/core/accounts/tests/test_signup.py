"""A resident opens an account: e-mail, password, names; the address must be verified (by
POST from the link) before the first sign-in; the account joins the host's collectivité."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from mairie.core.audit.models import AuditEvent

from .html import Page

pytestmark = pytest.mark.django_db

PASSWORD = "un-mot-de-passe-solide-2024"


def _sign_up(client, email="camille@example.org", **extra):
    return client.post(reverse("account_signup"), {
        "email": email, "first_name": "Camille", "last_name": "Durand",
        "password1": PASSWORD, "password2": PASSWORD, **extra})


def _link_in_last_mail() -> str:
    found = re.search(r"https?://[^/\s]+(/comptes/confirm-email/[^\s]+/)",
                      str(mail.outbox[-1].body))
    assert found is not None
    return found.group(1)


def test_sign_up_verify_then_sign_in(client, organisation):
    response = _sign_up(client)
    assert response.headers["Location"] == reverse("account_email_verification_sent")
    user = get_user_model().objects.get(email="camille@example.org")
    assert (user.first_name, user.last_name, user.organisation) == ("Camille", "Durand",
                                                                    organisation)
    assert not EmailAddress.objects.get(user=user).verified
    assert "_auth_user_id" not in client.session  # not signed in before verification
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["camille@example.org"]
    assert "Commune de Valmont-Test" in mail.outbox[0].body  # not a bare host name

    # Signing in before the address is verified only re-sends the verification.
    response = client.post(reverse("account_login"),
                           {"login": "camille@example.org", "password": PASSWORD})
    assert response.headers["Location"] == reverse("account_email_verification_sent")
    assert "_auth_user_id" not in client.session

    link = _link_in_last_mail()
    page = Page(client.get(link).content.decode())  # opening the link shows a button…
    assert not EmailAddress.objects.get(user=user).verified
    form = page.form_posting_to(link)
    response = client.post(link, form["inputs"])  # …and confirming signs in
    assert EmailAddress.objects.get(user=user).verified
    assert client.session["_auth_user_id"] == str(user.pk)
    assert response.headers["Location"] == reverse("web:after-login")
    assert client.get(reverse("web:after-login")).headers["Location"] == reverse(
        "web:my-account")
    actions = set(AuditEvent.objects.filter(organisation=organisation, actor=user)
                  .values_list("action", flat=True))
    assert {"account.signed_up", "account.email_confirmed", "auth.login"} <= actions


def test_sign_up_on_another_host_joins_that_organisation(client, organisation,
                                                         other_organisation):
    client.post(reverse("account_signup"), {
        "email": "dominique@example.org", "first_name": "Dominique", "last_name": "Martin",
        "password1": PASSWORD, "password2": PASSWORD}, HTTP_HOST="autre.localhost")
    user = get_user_model().objects.get(email="dominique@example.org")
    assert user.organisation == other_organisation


def test_sign_up_errors_are_summarised_in_french(client, organisation):
    response = client.post(reverse("account_signup"), {
        "email": "pas-une-adresse", "first_name": "", "last_name": "Durand",
        "password1": "court", "password2": "autre"})
    assert response.status_code == 200
    page = Page(response.content.decode())
    assert "Le formulaire contient des erreurs" in page.main_text
    assert 'role="alert"' in page.html
    assert "Saisissez une adresse e-mail valide" in page.main_text
    assert "Prénom : Ce champ est obligatoire." in page.main_text
    assert not get_user_model().objects.filter(last_name="Durand").exists()


def test_an_address_already_used_is_not_revealed(client, resident):
    response = _sign_up(client, email=resident.email)
    # Same answer as a fresh sign-up; the owner of the address is told by e-mail.
    assert response.headers["Location"] == reverse("account_email_verification_sent")
    assert get_user_model().objects.filter(email=resident.email).count() == 1
    assert mail.outbox[-1].to == [resident.email]
