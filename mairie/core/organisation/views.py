"""Pages of the organisation chart in the agent workspace.

Every agent of the organisation reads the chart; administrators change it. Objects are always
fetched within `request.organisation`, so an id of another organisation answers 404.
"""

from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from mairie.core.web.views import agent_required

from . import services
from .forms import AddMemberForm, RoleForm, ServiceForm
from .queries import (
    chart_for,
    membership_of_organisation,
    memberships_of_service,
    service_of_organisation,
    service_with_counts,
)
from .rules import can_manage_chart


def administrator_required(view):
    """For administrators of the request's organisation only (after `agent_required`)."""

    @agent_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not can_manage_chart(request.user, request.organisation):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


def _apply(form, call):
    """Run a service call; report its refusal on the form (per field when it names one)."""
    try:
        return call()
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            for field, errors in exc.error_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            form.add_error(None, exc)
        return None


@agent_required
@require_http_methods(["GET"])
def chart(request):
    org = request.organisation
    return render(request, "organisation/chart.html", {
        "nodes": chart_for(request.user, org),
        "can_manage": can_manage_chart(request.user, org),
    })


@agent_required
@require_http_methods(["GET"])
def service_detail(request, pk):
    org = request.organisation
    service = service_with_counts(org, pk)
    can_manage = can_manage_chart(request.user, org)
    memberships = list(memberships_of_service(service))
    role_forms = [(m, RoleForm(initial={"role": m.role}, prefix=f"m-{m.pk}"))
                  for m in memberships] if can_manage else [(m, None) for m in memberships]
    return render(request, "organisation/service_detail.html", {
        "service": service, "role_forms": role_forms, "can_manage": can_manage,
        "ancestors": list(reversed(service.ancestors())),
    })


@administrator_required
@require_http_methods(["GET", "POST"])
def service_create(request):
    org = request.organisation
    form = ServiceForm(request.POST or None, organisation=org,
                       initial={"parent": request.GET.get("parent")})
    if request.method == "POST" and form.is_valid():
        service = _apply(form, lambda: services.create_service(
            actor=request.user, organisation=org, request=request, **form.cleaned_data))
        if service is not None:
            messages.success(request, _("Le service « %(name)s » a été créé.")
                             % {"name": service.name})
            return redirect("organisation:service-detail", pk=service.pk)
    return render(request, "organisation/service_form.html", {"form": form, "service": None})


@administrator_required
@require_http_methods(["GET", "POST"])
def service_edit(request, pk):
    org = request.organisation
    service = service_of_organisation(org, pk)
    form = ServiceForm(request.POST or None, instance=service_of_organisation(org, pk),
                       organisation=org)
    if request.method == "POST" and form.is_valid():
        updated = _apply(form, lambda: services.update_service(
            actor=request.user, service=service, changes=form.cleaned_data, request=request))
        if updated is not None:
            messages.success(request, _("Le service « %(name)s » a été modifié.")
                             % {"name": updated.name})
            return redirect("organisation:service-detail", pk=updated.pk)
    return render(request, "organisation/service_form.html", {"form": form, "service": service})


@administrator_required
@require_http_methods(["GET", "POST"])
def service_delete(request, pk):
    org = request.organisation
    service = service_with_counts(org, pk)
    if request.method == "POST":
        try:
            services.delete_service(actor=request.user, service=service, request=request)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("organisation:service-detail", pk=service.pk)
        messages.success(request, _("Le service « %(name)s » a été supprimé.")
                         % {"name": service.name})
        return redirect("organisation:chart")
    return render(request, "organisation/service_confirm_delete.html", {"service": service})


@administrator_required
@require_http_methods(["GET", "POST"])
def member_add(request, pk):
    org = request.organisation
    service = service_of_organisation(org, pk)
    form = AddMemberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        result = _apply(form, lambda: services.add_member(
            actor=request.user, organisation=org, service=service, request=request,
            **form.cleaned_data))
        if result is not None:
            membership, invited = result
            if invited:
                messages.success(request, _("Compte créé pour %(email)s : une invitation lui a "
                                            "été envoyée pour choisir son mot de passe.")
                                 % {"email": membership.user.email})
            else:
                messages.success(request, _("%(who)s a été ajouté·e au service.")
                                 % {"who": membership.user})
            return redirect("organisation:service-detail", pk=service.pk)
    return render(request, "organisation/member_add.html", {"form": form, "service": service})


@administrator_required
@require_http_methods(["GET", "POST"])
def membership_role(request, pk):
    org = request.organisation
    membership = membership_of_organisation(org, pk)
    form = RoleForm(request.POST or None, prefix=f"m-{membership.pk}",
                    initial={"role": membership.role})
    if request.method == "POST" and form.is_valid():
        updated = _apply(form, lambda: services.change_role(
            actor=request.user, membership=membership, role=form.cleaned_data["role"],
            request=request))
        if updated is not None:
            messages.success(request, _("Rôle de %(who)s : %(role)s.")
                             % {"who": updated.user, "role": updated.get_role_display()})
            return redirect("organisation:service-detail", pk=membership.service_id)
    return render(request, "organisation/membership_role.html",
                  {"form": form, "membership": membership})


@administrator_required
@require_http_methods(["GET", "POST"])
def membership_remove(request, pk):
    org = request.organisation
    membership = membership_of_organisation(org, pk)
    if request.method == "POST":
        try:
            services.remove_member(actor=request.user, membership=membership, request=request)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("%(who)s n'a plus le rôle %(role)s dans ce service.")
                             % {"who": membership.user, "role": membership.get_role_display()})
        return redirect("organisation:service-detail", pk=membership.service_id)
    return render(request, "organisation/membership_confirm_remove.html",
                  {"membership": membership})
