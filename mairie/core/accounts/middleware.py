"""Agents must enrol a TOTP authenticator before they reach the agent workspace."""

from django.shortcuts import redirect
from django.urls import reverse


class AgentMFAMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/agent/"):
            user = request.user
            if user.is_authenticated and user.is_agent and not _has_totp(user):
                return redirect(reverse("mfa_activate_totp") + "?next=" + request.path)
        return self.get_response(request)


def _has_totp(user) -> bool:
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
