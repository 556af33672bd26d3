"""Every account page (allauth's and ours) is rendered in the portal shell, in French,
accessibly, and without inline script or style."""

import pytest
from allauth.account.forms import default_token_generator
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from allauth.account.utils import user_pk_to_url_str
from allauth.mfa.models import Authenticator
from django.urls import reverse

from mairie.core.accounts.models import IdentityProvider
from mairie.core.accounts.services import save_identity_provider
from mairie.core.factories import DEFAULT_PASSWORD, UserFactory, enrol_totp

from .html import assert_accessible_french_shell_page

pytestmark = pytest.mark.django_db

ANONYMOUS_PAGES = [
    "account_login",
    "account_signup",
    "account_reset_password",
    "account_reset_password_done",
    "account_email_verification_sent",
    "account_reset_password_from_key_done",
    "socialaccount_login_cancelled",
]

RESIDENT_PAGES = [
    "account_email",
    "account_change_password",
    "account_logout",
    "account_reauthenticate",
    "mfa_index",
    "socialaccount_connections",
    "accounts:delete",
]


@pytest.mark.parametrize("name", ANONYMOUS_PAGES)
def test_entrance_pages(client, organisation, name):
    assert_accessible_french_shell_page(client.get(reverse(name)))


def test_failed_social_login_page(client, organisation):
    # allauth answers 401: the third-party sign-in did not happen.
    assert_accessible_french_shell_page(client.get(reverse("socialaccount_login_error")),
                                        status=401)


@pytest.mark.parametrize("name", RESIDENT_PAGES)
def test_management_pages(client, resident, name):
    client.force_login(resident)
    page = assert_accessible_french_shell_page(client.get(reverse(name)))
    if name not in ("account_reauthenticate", "account_logout"):
        assert page.link_to("Retour à mon compte") == reverse("web:my-account")


def test_email_confirmation_page_confirms_by_post_only(client, organisation):
    user = UserFactory(organisation=organisation, verified=False)
    address = EmailAddress.objects.create(user=user, email=user.email, primary=True,
                                          verified=False)
    key = EmailConfirmationHMAC(address).key
    url = reverse("account_confirm_email", args=[key])
    page = assert_accessible_french_shell_page(client.get(url))
    page.form_posting_to(url)
    address.refresh_from_db()
    assert not address.verified  # opening the link changes nothing
    invalid = assert_accessible_french_shell_page(
        client.get(reverse("account_confirm_email", args=["cle-invalide"])))
    assert "expiré" in invalid.main_text or "invalide" in invalid.main_text


def test_password_reset_from_key_pages(client, resident):
    key = default_token_generator.make_token(resident)
    url = reverse("account_reset_password_from_key",
                  kwargs={"uidb36": user_pk_to_url_str(resident), "key": key})
    page = assert_accessible_french_shell_page(client.get(url, follow=True))
    assert {"password1", "password2"} <= {c.get("name") for c in page.controls}
    bad = reverse("account_reset_password_from_key",
                  kwargs={"uidb36": user_pk_to_url_str(resident), "key": "mauvaise-cle"})
    assert_accessible_french_shell_page(client.get(bad, follow=True))


def _confirm_password(client, password=DEFAULT_PASSWORD):
    """What the user does when allauth asks to confirm access before a sensitive change."""
    response = client.post(reverse("account_reauthenticate"), {"password": password})
    assert response.status_code == 302, response.content.decode()


def test_mfa_pages_of_an_enrolled_user(client, resident):
    enrol_totp(resident)
    client.force_login(resident)
    _confirm_password(client)
    for name in ("mfa_index", "mfa_deactivate_totp", "mfa_generate_recovery_codes",
                 "mfa_reauthenticate"):
        assert_accessible_french_shell_page(client.get(reverse(name)))
    client.post(reverse("mfa_generate_recovery_codes"))
    page = assert_accessible_french_shell_page(client.get(reverse("mfa_view_recovery_codes")))
    assert "Codes non utilisés" in page.main_text


def test_totp_activation_page(client, resident):
    client.force_login(resident)
    response = client.get(reverse("mfa_activate_totp"))
    assert response.headers["Location"].startswith(reverse("account_reauthenticate"))
    _confirm_password(client)
    page = assert_accessible_french_shell_page(client.get(reverse("mfa_activate_totp")))
    assert 'class="qr-code"' in page.html
    assert not Authenticator.objects.filter(user=resident).exists()


def test_mfa_code_page_at_login(client, resident):
    enrol_totp(resident)
    response = client.post(reverse("account_login"),
                           {"login": resident.email, "password": DEFAULT_PASSWORD})
    assert response.headers["Location"] == reverse("mfa_authenticate")
    page = assert_accessible_french_shell_page(client.get(reverse("mfa_authenticate")))
    assert page.form_posting_to(reverse("mfa_authenticate"))


def test_login_page_shows_the_organisations_identity_providers(client, organisation,
                                                                other_organisation):
    root = UserFactory(organisation=None, is_superuser=True, is_staff=True)
    for org, audience, label in [
        (organisation, "residents", "S'identifier avec FranceConnect"),
        (organisation, "agents", "S'identifier avec ProConnect"),
        (other_organisation, "residents", "Compte d'Ailleurs"),
    ]:
        save_identity_provider(actor=root, provider=IdentityProvider(
            organisation=org, audience=audience, name=label.split()[-1], button_label=label,
            server_url="https://idp.example/realms/x", client_id=f"mairie-{audience}",
            secret="s"))
    page = assert_accessible_french_shell_page(client.get(reverse("account_login")))
    assert "S'identifier avec FranceConnect" in page.main_text
    assert "S'identifier avec ProConnect" in page.main_text
    assert "Compte d'Ailleurs" not in page.main_text
    assert any("Vous êtes agent de la collectivité ?" in h for _, h in page.headings)
    provider = IdentityProvider.objects.get(organisation=organisation, audience="residents")
    page.form_posting_to(provider.login_path())
    # The sign-up page offers the residents' provider only.
    signup = assert_accessible_french_shell_page(client.get(reverse("account_signup")))
    assert "FranceConnect" in signup.main_text and "ProConnect" not in signup.main_text
    # allauth's confirmation page (reached by GET) is in the shell too.
    assert_accessible_french_shell_page(client.get(provider.login_path()))
    # The other organisation sees its own.
    other = assert_accessible_french_shell_page(
        client.get(reverse("account_login"), HTTP_HOST="autre.localhost"))
    assert "Compte d'Ailleurs" in other.main_text
    assert "FranceConnect" not in other.main_text


def test_rate_limited_page(client, organisation, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "signup": "1/h/ip"}
    client.post(reverse("account_signup"), {"email": "x@example.org"})
    response = client.post(reverse("account_signup"), {"email": "y@example.org"})
    assert response.status_code == 429
    assert "Trop de tentatives" in response.content.decode()
    assert 'class="site-header"' in response.content.decode()


def test_login_page_query_count_does_not_grow_with_providers(client, organisation,
                                                             django_assert_max_num_queries):
    root = UserFactory(organisation=None, is_superuser=True, is_staff=True)
    client.get(reverse("account_login"))  # warm the host → organisation cache
    with django_assert_max_num_queries(4):
        client.get(reverse("account_login"))
    for audience in ("residents", "agents"):
        save_identity_provider(actor=root, provider=IdentityProvider(
            organisation=organisation, audience=audience, name=audience,
            button_label=audience, server_url="https://idp.example", client_id=audience,
            secret="s"))
    with django_assert_max_num_queries(4):
        client.get(reverse("account_login"))
