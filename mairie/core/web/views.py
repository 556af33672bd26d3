"""The shell's pages: citizen portal home, agent workspace home, legal pages, theme."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from mairie.core.organisation.queries import memberships_of_user, roles_of


@require_GET
def portal_home(request):
    return render(request, "portal/home.html")


@login_required
def after_login(request):
    """Agents land in their workspace, residents on the portal."""
    if roles_of(request.user, request.organisation):
        return redirect("web:agent-home")
    return redirect("web:my-account")


def agent_required(view):
    """The view is for agents of the request's organisation (holders of at least one role)."""

    @login_required
    def wrapped(request, *args, **kwargs):
        if not roles_of(request.user, request.organisation):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


@agent_required
def agent_home(request):
    memberships = list(memberships_of_user(request.user))
    notifications = list(request.user.notifications.filter(organisation=request.organisation)
                         .order_by("-created_at")[:5])
    return render(request, "agent/home.html",
                  {"memberships": memberships, "notifications": notifications})


@login_required
def my_account(request):
    return render(request, "portal/my_account.html",
                  {"memberships": list(memberships_of_user(request.user))})


@require_GET
@cache_control(max_age=300, public=True)
def theme_css(request):
    """Design tokens of the request's organisation (colours), as a stylesheet (CSP-friendly)."""
    org = request.organisation
    css = (":root {"
           f" --colour-primary: {org.primary_colour};"
           f" --colour-secondary: {org.secondary_colour};"
           " }\n")
    return HttpResponse(css, content_type="text/css; charset=utf-8")


def accessibility(request):
    return render(request, "legal/accessibility.html")


def privacy(request):
    return render(request, "legal/privacy.html")


def legal_notice(request):
    return render(request, "legal/legal_notice.html")
