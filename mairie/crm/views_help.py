"""Help with online procedures: the public page `/aide/` (no account, no script needed) and
the mediators' queue `/agent/aide/`."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from mairie.core.web.views import agent_required

from . import queries, rules, services_help
from .forms import CloseHelpForm, HelpRequestForm
from .models import HelpRequest
from .views import _form_errors

SENT = "crm_help_sent"


@require_http_methods(["GET", "HEAD", "POST"])
def help_page(request):
    user = request.user if request.user.is_authenticated else None
    initial = {"name": user.get_full_name(), "email": user.email} if user else {}
    form = HelpRequestForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            help_request = services_help.request_help(
                organisation=request.organisation, values=form.values(), account=user,
                request=request)
        except services_help.TooManyRequests:
            form.add_error(None, _("Vous avez déjà envoyé plusieurs demandes : un médiateur "
                                   "va vous rappeler. En cas d'urgence, appelez la mairie."))
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            request.session[SENT] = help_request.reference
            return redirect("crm:help-sent")
    return render(request, "crm/help/ask.html", {"form": form})


@require_GET
def help_sent(request):
    reference = request.session.get(SENT)
    if not reference:
        return redirect("crm:help")
    return render(request, "crm/help/sent.html", {"reference": reference})


def _require_helper(request):
    if not rules.handles_help_requests(request.user, request.organisation):
        raise PermissionDenied


@agent_required
@require_GET
def help_queue(request):
    _require_helper(request)
    status = request.GET.get("etat", HelpRequest.Status.NEW)
    if status not in HelpRequest.Status.values:
        status = HelpRequest.Status.NEW
    requests_ = queries.help_requests_for(request.user, request.organisation)
    counts = dict(requests_.order_by().values_list("status").annotate(n=Count("id")))
    listed = requests_.filter(status=status)
    listed = listed.order_by("-closed_at") if status == HelpRequest.Status.DONE else listed
    return render(request, "crm/help/queue.html", {
        "status": status, "items": listed[:100],
        "tabs": [(value, label, counts.get(value, 0))
                 for value, label in HelpRequest.Status.choices]})


@agent_required
@require_http_methods(["GET", "HEAD", "POST"])
def help_by_phone(request):
    _require_helper(request)
    form = HelpRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            help_request = services_help.request_help(
                organisation=request.organisation, values=form.values(), actor=request.user,
                request=request)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("La demande %(reference)s est notée.")
                             % {"reference": help_request.reference})
            return redirect("crm:help-request", pk=help_request.pk)
    return render(request, "crm/help/by_phone.html", {"form": form})


@agent_required
@require_http_methods(["GET", "HEAD", "POST"])
def help_request(request, pk):
    _require_helper(request)
    current = queries.help_request_for(request.user, request.organisation, pk)
    records = ([current.record] if current.record_id
               else services_help.matching_records(request.user, current))
    form = CloseHelpForm(request.POST if request.POST.get("action") == "close" else None,
                         records=records, initial={"lock_version": current.lock_version})
    if request.method == "POST":
        try:
            if request.POST.get("action") == "take":
                services_help.take(actor=request.user, help_request=current,
                                   lock_version=request.POST.get("lock_version"),
                                   request=request)
                messages.success(request, _("Vous vous occupez de cette demande."))
                return redirect("crm:help-request", pk=current.pk)
            if form.is_valid():
                closed = services_help.close(
                    actor=request.user, help_request=current,
                    outcome=form.cleaned_data["outcome"], notes=form.cleaned_data["notes"],
                    record=form.chosen_record(), lock_version=form.cleaned_data["lock_version"],
                    request=request)
                messages.success(request, _("La demande est terminée ; le contact est noté "
                                            "sur la fiche de la personne."))
                return redirect("crm:record", pk=closed.record_id)
        except services_help.StaleHelpRequest:
            messages.error(request, _("Un collègue vient de modifier cette demande : voici "
                                      "ce qu'elle est devenue."))
            return redirect("crm:help-request", pk=current.pk)
        except ValidationError as exc:
            _form_errors(form, exc)
    return render(request, "crm/help/detail.html", {"item": current, "form": form})
