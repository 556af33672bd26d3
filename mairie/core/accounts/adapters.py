"""allauth adapters: accounts belong to the request's organisation, and so do identity providers.

A collectivité's residents and agents only ever see and use that collectivité's OpenID Connect
providers; an identity coming from a provider never opens an account of another collectivité,
nor a platform (staff) account.
"""

from dataclasses import dataclass

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django import forms
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from mairie.core.audit.services import record_event

from . import queries


def _organisation(request):
    return getattr(request, "organisation", None)


@dataclass(frozen=True)
class OrganisationSite:
    """What allauth's e-mails call the "site": the collectivité, on the host it was used on."""

    name: str
    domain: str


class AccountAdapter(DefaultAccountAdapter):
    error_messages = {
        **DefaultAccountAdapter.error_messages,
        "too_many_login_attempts": _(
            "Trop de tentatives de connexion ont échoué pour ce compte. Par sécurité, la "
            "connexion est bloquée pendant quelques minutes, même avec le bon mot de passe. "
            "Réessayez plus tard, ou réinitialisez votre mot de passe."),
        "email_password_mismatch": _(
            "L'adresse électronique ou le mot de passe est incorrect."),
    }

    def send_mail(self, template_prefix, email, context):
        from allauth.core import context as allauth_context

        request = allauth_context.request
        organisation = _organisation(request)
        if organisation is not None and "current_site" not in context:
            context = {**context, "current_site": OrganisationSite(
                name=organisation.name, domain=request.get_host())}
        super().send_mail(template_prefix, email, context)

    def save_user(self, request, user, form, commit=True):
        user.organisation = _organisation(request)
        return super().save_user(request, user, form, commit=commit)

    def pre_authenticate(self, request, **credentials):
        """Audit the attempts refused because the account is locked (they never reach the
        authentication backends, so `user_login_failed` is not sent for them)."""
        try:
            super().pre_authenticate(request, **credentials)
        except forms.ValidationError:
            organisation = _organisation(request)
            if organisation is not None:
                record_event(organisation=organisation, action="auth.login_locked",
                             request=request,
                             details={"email": str(credentials.get("email") or "")[:200]})
            raise


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def list_apps(self, request, provider=None, client_id=None):
        """Only the apps of the request organisation's active identity providers: another
        collectivité's provider answers 404 here, as an unknown one would."""
        apps = super().list_apps(request, provider=provider, client_id=client_id)
        allowed = queries.social_app_ids_for(_organisation(request))
        return [app for app in apps if app.pk in allowed]

    def populate_user(self, request, sociallogin, data):
        user = super().populate_user(request, sociallogin, data)
        user.organisation = _organisation(request)
        return user

    def authenticate_by_email(self, sociallogin):
        """Sign in an existing account by its verified e-mail only inside the request's
        organisation, and never a platform account."""
        from allauth.core import context

        found = super().authenticate_by_email(sociallogin)
        if found is None:
            return None
        user = found[0]
        organisation = _organisation(context.request)
        if (user.is_staff or user.is_superuser or organisation is None
                or user.organisation_id != organisation.pk):
            return None
        return found

    def pre_social_login(self, request, sociallogin):
        user = sociallogin.user
        if not sociallogin.is_existing or user is None:
            return
        organisation = _organisation(request)
        if (user.is_staff or user.is_superuser or organisation is None
                or user.organisation_id != organisation.pk):
            record_event(organisation=organisation or user.organisation,
                         action="auth.social_login_refused", request=request, obj=user,
                         details={"provider": sociallogin.account.provider})
            raise ImmediateHttpResponse(
                render(request, "accounts/social_login_refused.html", status=403))
