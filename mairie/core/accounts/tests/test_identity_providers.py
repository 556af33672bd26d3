"""Identity providers per collectivité: configuration (service, admin), who may configure
them, and the isolation between organisations (the sign-in flow itself is in
test_oidc_login.py, against a real provider)."""

import pytest
from allauth.core import context
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.models import SocialAccount, SocialApp, SocialLogin
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import RequestFactory
from django.urls import reverse

from mairie.core.accounts.adapters import SocialAccountAdapter
from mairie.core.accounts.models import IdentityProvider
from mairie.core.accounts.services import delete_identity_provider, save_identity_provider
from mairie.core.audit.models import AuditEvent
from mairie.core.factories import UserFactory, enrol_totp

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(organisation):
    user = UserFactory(organisation=None, is_staff=True, is_superuser=True,
                       email="root@plateforme.example")
    enrol_totp(user)  # the technical administration requires a second factor
    return user


def _provider(organisation, audience="residents", **kwargs):
    values = {"name": "FranceConnect", "button_label": "S'identifier avec FranceConnect",
              "server_url": "https://fc.example/api/v2", "client_id": f"client-{audience}",
              "secret": "secret", **kwargs}
    return IdentityProvider(organisation=organisation, audience=audience, **values)


def test_saving_a_provider_configures_allauth(organisation, root):
    provider = save_identity_provider(actor=root, provider=_provider(
        organisation, scopes="openid email given_name family_name", use_pkce=False))
    app = SocialApp.objects.get(pk=provider.app_id)
    assert (app.provider, app.provider_id) == ("openid_connect", "valmont-test-residents")
    assert (app.client_id, app.secret, app.name) == ("client-residents", "secret",
                                                     "FranceConnect")
    assert app.settings == {"server_url": "https://fc.example/api/v2",
                            "scope": ["openid", "email", "given_name", "family_name"],
                            "oauth_pkce_enabled": False}
    assert provider.login_path() == "/comptes/oidc/valmont-test-residents/login/"
    assert provider.callback_path() == "/comptes/oidc/valmont-test-residents/login/callback/"

    provider.client_id, provider.secret = "nouveau-client", "nouveau-secret"
    save_identity_provider(actor=root, provider=provider)
    app.refresh_from_db()
    assert (app.client_id, app.secret) == ("nouveau-client", "nouveau-secret")
    assert app.provider_id == "valmont-test-residents"  # the callback URL never moves
    events = list(AuditEvent.objects.filter(organisation=organisation,
                                            action__startswith="accounts.identity_provider")
                  .values_list("action", flat=True))
    assert events == ["accounts.identity_provider_created",
                      "accounts.identity_provider_changed"]
    for details in AuditEvent.objects.filter(organisation=organisation).values_list(
            "details", flat=True):
        assert set(details) == {"audience", "server_url", "client_id", "active"}  # no secret


def test_deleting_a_provider_removes_its_app(organisation, root):
    provider = save_identity_provider(actor=root, provider=_provider(organisation))
    app_id = provider.app_id
    delete_identity_provider(actor=root, provider=provider)
    assert not SocialApp.objects.filter(pk=app_id).exists()
    assert AuditEvent.objects.filter(action="accounts.identity_provider_deleted").exists()


def test_one_provider_per_audience_and_distinct_clients(organisation, root):
    save_identity_provider(actor=root, provider=_provider(organisation))
    with pytest.raises(ValidationError):
        save_identity_provider(actor=root, provider=_provider(organisation,
                                                              client_id="autre"))
    with pytest.raises(ValidationError) as error:
        save_identity_provider(actor=root, provider=_provider(
            organisation, audience="agents", client_id="client-residents"))
    assert "client_id" in error.value.message_dict


@pytest.mark.parametrize("who", ["administrator", "agent", "resident", "foreign_agent"])
def test_who_may_configure_a_provider(request, organisation, who):
    user = request.getfixturevalue(who)
    if who == "administrator":
        save_identity_provider(actor=user, provider=_provider(organisation))
        assert IdentityProvider.objects.filter(organisation=organisation).count() == 1
    else:
        with pytest.raises(PermissionDenied):
            save_identity_provider(actor=user, provider=_provider(organisation))
        assert not IdentityProvider.objects.exists()


def test_other_organisations_provider_is_unknown_on_this_host(client, organisation,
                                                              other_organisation, root):
    mine = save_identity_provider(actor=root, provider=_provider(organisation))
    theirs = save_identity_provider(actor=root, provider=_provider(other_organisation,
                                                                   client_id="leur-client"))
    assert client.get(mine.login_path()).status_code == 200
    assert client.get(theirs.login_path()).status_code == 404
    assert client.post(theirs.login_path()).status_code == 404
    assert client.get(theirs.callback_path() + "?code=x&state=y").status_code == 404
    assert client.get(theirs.login_path(), HTTP_HOST="autre.localhost").status_code == 200


def test_disabled_provider_disappears(client, organisation, root):
    provider = save_identity_provider(actor=root, provider=_provider(organisation))
    provider.is_active = False
    save_identity_provider(actor=root, provider=provider)
    assert "FranceConnect" not in client.get(reverse("account_login")).content.decode()
    assert client.get(provider.login_path()).status_code == 404


def _request(host, organisation):
    request = RequestFactory().get("/", HTTP_HOST=host)
    request.organisation = organisation
    request.user = AnonymousUser()
    request.session = {}
    return request


def test_identity_never_opens_an_account_of_another_organisation(organisation,
                                                                 other_organisation,
                                                                 resident, root):
    """Even if an identity is linked to a user of A, it is refused on B's host."""
    save_identity_provider(actor=root, provider=_provider(other_organisation))
    account = SocialAccount(provider="ailleurs-residents", uid="123", user=resident)
    sociallogin = SocialLogin(account=account, user=resident)
    request = _request("autre.localhost", other_organisation)
    with pytest.raises(ImmediateHttpResponse) as refused:
        SocialAccountAdapter(request).pre_social_login(request, sociallogin)
    assert refused.value.response.status_code == 403
    assert "n'appartient pas aux services en ligne" in refused.value.response.content.decode()
    assert AuditEvent.objects.filter(organisation=other_organisation,
                                     action="auth.social_login_refused").exists()
    # On its own organisation's host, the same login goes through.
    request = _request("testserver", organisation)
    SocialAccountAdapter(request).pre_social_login(request, sociallogin)


def test_verified_email_from_a_provider_only_matches_accounts_of_the_host(
        organisation, other_organisation, resident, root):
    from allauth.account.models import EmailAddress
    from allauth.socialaccount.providers.openid_connect.provider import OpenIDConnectProvider

    for org, expected in [(organisation, resident), (other_organisation, None)]:
        provider = save_identity_provider(actor=root, provider=_provider(
            org, client_id=f"client-{org.slug}"))
        request = _request(org.hosts.first().host, org)
        sociallogin = SocialLogin(
            provider=OpenIDConnectProvider(request, app=provider.app),
            account=SocialAccount(provider=provider.provider_id, uid="123"),
            user=UserFactory.build(email=resident.email, organisation=None),
            email_addresses=[EmailAddress(email=resident.email, verified=True, primary=True)])
        with context.request_context(request):
            found = SocialAccountAdapter(request).authenticate_by_email(sociallogin)
        assert (found[0] if found else None) == expected


def test_admin_registration(client, organisation, root):
    client.force_login(root)
    response = client.post(reverse("admin:accounts_identityprovider_add"), {
        "organisation": organisation.pk, "audience": "agents", "name": "ProConnect",
        "button_label": "S'identifier avec ProConnect",
        "server_url": "https://proconnect.example/api/v2", "client_id": "pc", "secret": "s",
        "scopes": "openid email given_name usual_name", "use_pkce": "on", "is_active": "on"})
    assert response.status_code == 302, response.content.decode()[:3000]
    provider = IdentityProvider.objects.get(organisation=organisation, audience="agents")
    assert provider.app.settings["scope"] == ["openid", "email", "given_name", "usual_name"]
    assert AuditEvent.objects.filter(action="accounts.identity_provider_created",
                                     actor=root).exists()
    change_url = reverse("admin:accounts_identityprovider_change", args=[provider.pk])
    page = client.get(change_url).content.decode()
    assert "/comptes/oidc/valmont-test-agents/login/callback/" in page
    assert 'value="s"' not in page  # the secret is never sent back to the browser
    # Saving without retyping the secret keeps it.
    response = client.post(change_url, {
        "organisation": organisation.pk, "audience": "agents", "name": "ProConnect",
        "button_label": "Agents : ProConnect", "server_url": "https://proconnect.example/api/v2",
        "client_id": "pc", "secret": "", "scopes": "openid email", "use_pkce": "on",
        "is_active": "on"})
    assert response.status_code == 302
    provider.refresh_from_db()
    provider.app.refresh_from_db()
    assert (provider.button_label, provider.secret, provider.app.secret) == (
        "Agents : ProConnect", "s", "s")
    assert client.get(reverse("admin:accounts_identityprovider_changelist")).status_code == 200
    response = client.post(reverse("admin:accounts_identityprovider_delete",
                                   args=[provider.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not SocialApp.objects.exists()


def test_admin_is_closed_to_agents(client, administrator):
    client.force_login(administrator)
    response = client.get(reverse("admin:accounts_identityprovider_changelist"))
    assert response.status_code == 302
