"""Audit of account changes made through allauth's pages.

Logins, logouts and failed logins are audited by `mairie.core.audit.signals`; here come the
changes of e-mail, password and second factor, sign-ups and linked identities.
"""

from allauth.account import signals as account_signals
from allauth.mfa import signals as mfa_signals
from allauth.socialaccount import signals as social_signals
from django.dispatch import receiver

from mairie.core.audit.services import record_event


def _record(action: str, *, request, user, details=None, obj=None) -> None:
    organisation = getattr(request, "organisation", None) or getattr(user, "organisation", None)
    if organisation is None:
        return
    record_event(organisation=organisation, action=action, actor=user, obj=obj or user,
                 request=request, details=details or {})


@receiver(account_signals.user_signed_up)
def _signed_up(sender, request, user, **kwargs):
    sociallogin = kwargs.get("sociallogin")
    _record("account.signed_up", request=request, user=user,
            details={"provider": sociallogin.account.provider} if sociallogin else {})


@receiver(account_signals.email_confirmed)
def _email_confirmed(sender, request, email_address, **kwargs):
    _record("account.email_confirmed", request=request, user=email_address.user,
            details={"email": email_address.email})


@receiver(account_signals.email_added)
def _email_added(sender, request, user, email_address, **kwargs):
    _record("account.email_added", request=request, user=user,
            details={"email": email_address.email})


@receiver(account_signals.email_changed)
def _email_changed(sender, request, user, from_email_address, to_email_address, **kwargs):
    _record("account.email_changed", request=request, user=user, details={
        "from": getattr(from_email_address, "email", ""),
        "to": getattr(to_email_address, "email", ""),
    })


@receiver(account_signals.email_removed)
def _email_removed(sender, request, user, email_address, **kwargs):
    _record("account.email_removed", request=request, user=user,
            details={"email": email_address.email})


@receiver(account_signals.password_changed)
def _password_changed(sender, request, user, **kwargs):
    _record("account.password_changed", request=request, user=user)


@receiver(account_signals.password_set)
def _password_set(sender, request, user, **kwargs):
    _record("account.password_set", request=request, user=user)


@receiver(account_signals.password_reset)
def _password_reset(sender, request, user, **kwargs):
    _record("account.password_reset", request=request, user=user)


@receiver(mfa_signals.authenticator_added)
def _authenticator_added(sender, request, user, authenticator, **kwargs):
    _record("mfa.activated", request=request, user=user, details={"type": authenticator.type})


@receiver(mfa_signals.authenticator_removed)
def _authenticator_removed(sender, request, user, authenticator, **kwargs):
    _record("mfa.deactivated", request=request, user=user,
            details={"type": authenticator.type})


@receiver(mfa_signals.authenticator_reset)
def _authenticator_reset(sender, request, user, authenticator, **kwargs):
    _record("mfa.reset", request=request, user=user, details={"type": authenticator.type})


@receiver(mfa_signals.authentication_failed)
def _mfa_failed(sender, request, user, authenticator=None, **kwargs):
    _record("mfa.code_rejected", request=request, user=user,
            details={"type": getattr(authenticator, "type", "")})


@receiver(social_signals.social_account_added)
def _social_added(sender, request, sociallogin, **kwargs):
    _record("account.identity_linked", request=request, user=sociallogin.user,
            details={"provider": sociallogin.account.provider})


@receiver(social_signals.social_account_removed)
def _social_removed(sender, request, socialaccount, **kwargs):
    _record("account.identity_unlinked", request=request, user=socialaccount.user,
            details={"provider": socialaccount.provider})
