"""« Mes données » (the resident's copy of their data) and the register of processing
activities (administrators)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from mairie.core.organisation.queries import is_org_administrator
from mairie.core.web.views import agent_required

from . import queries, services
from .forms import CloseRequestForm, PrivacyRequestForm
from .registry import activities


@login_required
@require_GET
def my_data(request):
    if request.user.organisation_id != getattr(request.organisation, "pk", None):
        raise PermissionDenied
    declared = [a for a in activities() if a.export is not None]
    return render(request, "privacy/my_data.html", {"activities": declared})


def _download(content: bytes, content_type: str, extension: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="mes-donnees-{stamp}.{extension}"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def my_data_json(request):
    content = services.export_json(request.user, request.organisation, request=request)
    return _download(content, "application/json; charset=utf-8", "json")


@login_required
@require_GET
def my_data_pdf(request):
    content = services.export_pdf(request.user, request.organisation, request=request)
    return _download(content, "application/pdf", "pdf")


@agent_required
@require_GET
def register_of_activities(request):
    if not is_org_administrator(request.user, request.organisation):
        raise PermissionDenied
    return render(request, "privacy/register.html", {"activities": activities()})


# --- The DPO's register of requests -----------------------------------------------------------

def _handler(request):
    if not services.may_handle_requests(request.user, request.organisation):
        raise PermissionDenied


@agent_required
@require_http_methods(["GET", "HEAD", "POST"])
def requests(request):
    _handler(request)
    form = PrivacyRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        created = services.record_request(actor=request.user, organisation=request.organisation,
                                          values=form.cleaned_data, request=request)
        messages.success(request, _("La demande est inscrite au registre : à traiter avant le "
                                    "%(date)s.") % {"date": created.due_on.strftime("%d/%m/%Y")})
        return redirect("privacy:request", pk=created.pk)
    items = queries.requests_for(request.user, request.organisation)
    return render(request, "privacy/requests.html", {"form": form, "items": items,
                                                     "today": timezone.localdate()})


@agent_required
@require_http_methods(["GET", "HEAD", "POST"])
def privacy_request(request, pk):
    _handler(request)
    current = queries.request_for(request.user, request.organisation, pk)
    form = CloseRequestForm(request.POST if request.POST.get("action") == "close" else None,
                            initial={"lock_version": current.lock_version})
    if request.method == "POST":
        try:
            if request.POST.get("action") == "erase":
                services.erase(actor=request.user, privacy_request=current, request=request)
                messages.success(request, _("L'effacement est appliqué : vérifiez ce qui a été "
                                            "effacé et conservé, puis répondez à la personne."))
                return redirect("privacy:request", pk=current.pk)
            if form.is_valid():
                services.close_request(actor=request.user, privacy_request=current,
                                       status=form.cleaned_data["status"],
                                       answer=form.cleaned_data["answer"],
                                       lock_version=form.cleaned_data["lock_version"],
                                       request=request)
                messages.success(request, _("La demande est close."))
                return redirect("privacy:requests")
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for name, errors in exc.message_dict.items():
                    form.add_error(name if name in form.fields else None, errors)
            else:
                form.add_error(None, exc.messages)
    return render(request, "privacy/request.html", {"item": current, "form": form,
                                                    "today": timezone.localdate()})
