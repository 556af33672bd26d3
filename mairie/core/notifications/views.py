"""The notifications pages: the inbox and the e-mail preferences, for agents and residents."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from mairie.core.organisation.queries import roles_of

from . import services
from .forms import preference_formset
from .queries import frequencies_for, notifications_for, preference_kinds_for

PAGE_SIZE = 20


def _base_template(request) -> str:
    """Agents see their inbox inside the workspace, residents inside the portal."""
    return "agent/base.html" if roles_of(request.user, request.organisation) else "web/base.html"


def _back(request):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return redirect(target)
    return redirect("notifications:list")


@login_required
@require_http_methods(["GET", "HEAD"])
def notification_list(request):
    notifications = notifications_for(request.user, request.organisation)
    page = Paginator(notifications, PAGE_SIZE).get_page(request.GET.get("page"))
    unread = notifications.filter(read_at__isnull=True).count()
    return render(request, "notifications/list.html", {
        "base_template": _base_template(request),
        "page": page,
        "unread_count": unread,
    })


@login_required
@require_POST
def mark_read(request, pk):
    notification = get_object_or_404(notifications_for(request.user, request.organisation),
                                     pk=pk)
    services.mark_read(actor=request.user, notification=notification)
    messages.success(request, _("Notification marquée comme lue."))
    return _back(request)


@login_required
@require_POST
def mark_all_read(request):
    count = services.mark_all_read(actor=request.user, organisation=request.organisation)
    messages.success(request, ngettext("%(count)d notification marquée comme lue.",
                                       "%(count)d notifications marquées comme lues.",
                                       count) % {"count": count})
    return _back(request)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def preferences(request):
    kinds = preference_kinds_for(request.user, request.organisation)
    current = frequencies_for(request.user, kinds)
    if request.method == "POST":
        formset = preference_formset(kinds, data=request.POST, initial_frequencies=current)
        if formset.is_valid():
            changes = services.update_preferences(actor=request.user,
                                                  organisation=request.organisation,
                                                  frequencies=formset.frequencies(),
                                                  request=request)
            messages.success(request, _("Vos préférences ont été enregistrées.") if changes
                             else _("Aucune modification."))
            return redirect("notifications:preferences")
    else:
        formset = preference_formset(kinds, initial_frequencies=current)
    return render(request, "notifications/preferences.html", {
        "base_template": _base_template(request),
        "formset": formset,
    })
