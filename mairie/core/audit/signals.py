"""Audit of authentication events (logins, failures, logouts)."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from .services import record_event


def _org(request, user=None):
    return getattr(request, "organisation", None) or getattr(user, "organisation", None)


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs):
    org = _org(request, user)
    if org is not None:
        record_event(organisation=org, action="auth.login", actor=user, obj=user,
                     request=request)


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs):
    org = _org(request, user)
    if org is not None and user is not None:
        record_event(organisation=org, action="auth.logout", actor=user, obj=user,
                     request=request)


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs):
    org = _org(request)
    if org is not None:
        record_event(organisation=org, action="auth.login_failed", request=request,
                     details={"email": str(credentials.get("email") or
                                           credentials.get("username") or "")[:200]})
