"""Closing one's account: explained, confirmed by password, audited, personal data erased,
the audit trail intact; agents holding roles cannot close theirs."""

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth import get_user_model
from django.urls import reverse

from mairie.core.accounts.services import delete_account, is_deleted_account
from mairie.core.audit.models import AuditEvent
from mairie.core.audit.services import record_event, verify_chain
from mairie.core.factories import DEFAULT_PASSWORD, UserFactory, enrol_totp
from mairie.core.notifications.models import Notification
from mairie.core.organisation.models import Membership

from .html import Page
from .totp import fresh_totp_code

pytestmark = pytest.mark.django_db

URL = "/mon-compte/supprimer/"


def test_route():
    assert reverse("accounts:delete") == URL


def test_anonymous_is_sent_to_login(client, organisation):
    response = client.get(URL)
    assert response.headers["Location"].startswith(reverse("account_login"))
    assert client.post(URL).headers["Location"].startswith(reverse("account_login"))


def test_page_explains_what_is_deleted_and_what_is_kept(client, resident):
    client.force_login(resident)
    page = Page(client.get(URL).content.decode())
    assert [h for level, h in page.headings if level == 2][:3] == [
        "Ce qui sera supprimé", "Ce que la loi nous oblige à conserver",
        "Confirmer la suppression"]
    assert "journal de sécurité" in page.main_text
    assert "durée légale de conservation" in page.main_text
    assert page.form_posting_to(URL)["names"] == {"csrfmiddlewaretoken", "password",
                                                  "confirm"}


def test_wrong_password_keeps_the_account(client, resident):
    client.force_login(resident)
    response = client.post(URL, {"password": "pas-le-bon", "confirm": "on"})
    assert response.status_code == 200
    page = Page(response.content.decode())
    assert "Mot de passe : Le mot de passe est incorrect." in page.main_text
    resident.refresh_from_db()
    assert resident.is_active and resident.email == "habitant@example.org"
    assert client.session["_auth_user_id"] == str(resident.pk)


def test_confirmation_box_is_required(client, resident):
    client.force_login(resident)
    response = client.post(URL, {"password": DEFAULT_PASSWORD})
    assert "Cochez la case pour confirmer la suppression." in response.content.decode()
    assert get_user_model().objects.get(pk=resident.pk).is_active


def test_resident_deletes_their_account(client, organisation, resident,
                                        django_capture_on_commit_callbacks):
    enrol_totp(resident)
    SocialAccount.objects.create(user=resident, provider="valmont-test-residents", uid="abc")
    Notification.objects.create(organisation=organisation, recipient=resident, kind="test",
                                title="Votre demande avance")
    record_event(organisation=organisation, action="dossier.submitted", actor=resident,
                 obj=resident)
    client.force_login(resident)
    response = client.post(URL, {"password": DEFAULT_PASSWORD, "confirm": "on"})
    assert response.headers["Location"] == reverse("web:portal-home")
    assert "_auth_user_id" not in client.session
    home = client.get(reverse("web:portal-home"))
    assert "Votre compte a été supprimé." in home.content.decode()

    tombstone = get_user_model().objects.get(pk=resident.pk)
    assert is_deleted_account(tombstone)
    assert (tombstone.first_name, tombstone.last_name, tombstone.phone) == ("", "", "")
    assert not tombstone.is_active and not tombstone.has_usable_password()
    assert not EmailAddress.objects.filter(user=resident).exists()
    assert not Authenticator.objects.filter(user=resident).exists()
    assert not SocialAccount.objects.filter(user=resident).exists()
    assert not Notification.objects.filter(recipient=resident).exists()

    # The audit trail keeps who did what, and is still intact.
    deleted = AuditEvent.objects.get(organisation=organisation, action="account.deleted")
    assert "habitant@example.org" in deleted.actor_label
    submitted = AuditEvent.objects.get(action="dossier.submitted")
    assert "habitant@example.org" in submitted.actor_label
    assert verify_chain(organisation) is None

    # The account cannot sign in any more; the address is free for a new account.
    response = client.post(reverse("account_login"),
                           {"login": "habitant@example.org", "password": DEFAULT_PASSWORD})
    assert "_auth_user_id" not in client.session
    client.post(reverse("account_signup"), {
        "email": "habitant@example.org", "first_name": "Nouvel", "last_name": "Habitant",
        "password1": "un-autre-mot-de-passe-9", "password2": "un-autre-mot-de-passe-9"})
    assert get_user_model().objects.filter(email="habitant@example.org").exclude(
        pk=resident.pk).exists()


def test_other_sessions_of_the_deleted_account_end(client, resident):
    from django.test import Client

    other_browser = Client()
    other_browser.force_login(resident)
    client.force_login(resident)
    client.post(URL, {"password": DEFAULT_PASSWORD, "confirm": "on"})
    response = other_browser.get(reverse("web:my-account"))
    assert response.headers["Location"].startswith(reverse("account_login"))


def test_agent_holding_roles_cannot_delete_their_account(client, agent):
    client.force_login(agent)
    page = Page(client.get(URL).content.decode())
    assert "Demandez à un administrateur de la collectivité de retirer vos rôles" \
        in page.main_text
    assert "Accueil et état civil" in page.main_text
    assert not [f for f in page.forms if f["action"] == URL]
    response = client.post(URL, {"password": DEFAULT_PASSWORD, "confirm": "on"})
    assert response.status_code == 403
    agent.refresh_from_db()
    assert agent.is_active and not is_deleted_account(agent)


def test_former_agent_can_once_roles_are_removed(client, agent):
    Membership.objects.filter(user=agent).delete()
    client.force_login(agent)
    client.post(URL, {"password": DEFAULT_PASSWORD, "confirm": "on"})
    agent.refresh_from_db()
    assert is_deleted_account(agent)


def test_foreign_agent_cannot_delete_on_their_host_either(client, organisation,
                                                          foreign_agent):
    client.force_login(foreign_agent)
    response = client.post(URL, {"password": DEFAULT_PASSWORD, "confirm": "on"},
                           HTTP_HOST="autre.localhost")
    assert response.status_code == 403
    # …and a session of another organisation is dropped on this host.
    client.force_login(foreign_agent)
    response = client.post(URL, {"password": DEFAULT_PASSWORD, "confirm": "on"})
    assert response.headers["Location"].startswith(reverse("account_login"))
    foreign_agent.refresh_from_db()
    assert foreign_agent.is_active


def test_service_refuses_to_delete_someone_else(organisation, resident):
    other = UserFactory(organisation=organisation)
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        delete_account(actor=other, user=resident)
    resident.refresh_from_db()
    assert resident.is_active


def test_platform_administrator_cannot_delete_from_this_page(client, organisation):
    root = UserFactory(organisation=organisation, is_staff=True, is_superuser=True)
    client.force_login(root)
    assert "ne peut pas être supprimé" in client.get(URL).content.decode()
    assert client.post(URL, {"password": DEFAULT_PASSWORD, "confirm": "on"}).status_code == 403


def test_account_without_password_confirms_with_a_recent_sign_in(client, organisation):
    """Opened through FranceConnect: no password to type; with a second factor, allauth asks
    for a code first, then the deletion goes on."""
    from allauth.account.models import EmailAddress as Addresses

    user = UserFactory(organisation=organisation, email="fc@example.org")
    user.set_unusable_password()
    user.save()
    Addresses.objects.filter(user=user).update(verified=True)
    client.force_login(user)
    page = Page(client.get(URL).content.decode())
    assert page.form_posting_to(URL)["names"] == {"csrfmiddlewaretoken", "confirm"}
    client.post(URL, {"confirm": "on"})
    user.refresh_from_db()
    assert is_deleted_account(user)


def test_account_without_password_but_with_totp_is_asked_for_a_code(client, organisation):
    user = UserFactory(organisation=organisation, email="fc2@example.org")
    user.set_unusable_password()
    user.save()
    enrol_totp(user)
    client.force_login(user)
    response = client.post(URL, {"confirm": "on"})
    mfa_reauth = response.headers["Location"]
    assert mfa_reauth.startswith(reverse("mfa_reauthenticate"))
    user.refresh_from_db()
    assert not is_deleted_account(user)
    page = Page(client.get(mfa_reauth).content.decode())
    form = page.form_posting_to(reverse("mfa_reauthenticate"))
    client.post(reverse("mfa_reauthenticate"), {**form["inputs"], "code": fresh_totp_code()})
    user.refresh_from_db()
    assert is_deleted_account(user)  # the suspended POST was resumed
