"""Agents and platform staff must enrol a TOTP authenticator before they reach the agent
workspace or the technical administration."""

from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from .queries import has_totp

ENROLMENT_NEXT_SESSION_KEY = "mairie_mfa_enrolment_next"


class AgentMFAMiddleware:
    """Sends an agent without TOTP to allauth's activation page, remembering where they were
    going: the recovery-codes page shown after activation offers a link back there."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(("/agent/", "/admin/")):
            user = request.user
            needs_totp = user.is_authenticated and (
                user.is_staff if request.path.startswith("/admin/") else user.is_agent)
            if needs_totp:
                if not has_totp(user):
                    request.session[ENROLMENT_NEXT_SESSION_KEY] = request.get_full_path()
                    return redirect(reverse("mfa_activate_totp") + "?"
                                    + urlencode({"next": request.get_full_path()}))
                request.session.pop(ENROLMENT_NEXT_SESSION_KEY, None)
        return self.get_response(request)


def enrolment_next_url(request) -> str:
    """The agent-workspace URL an agent was heading to when asked to enrol, if any."""
    session = getattr(request, "session", None)
    url = session.get(ENROLMENT_NEXT_SESSION_KEY, "") if session is not None else ""
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return url
    return ""

