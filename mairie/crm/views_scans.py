"""Scanning a document at the counter (`/agent/usagers/<id>/numeriser/`) and the scanned
document's page (`/agent/usagers/documents/<id>/`). Works without JavaScript (a file input,
which opens the camera on phones); `crm/camera.js` adds the computer's camera."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from mairie.core.web.views import agent_required

from . import queries, rules, services_scans
from .forms import ScanForm
from .views import _form_errors, _services_of


@agent_required
@require_http_methods(["GET", "HEAD", "POST"])
def scan_new(request, pk):
    if not rules.may_scan(request.user, request.organisation):
        raise PermissionDenied
    record = queries.record_for_agent(request.user, request.organisation, pk)
    if record.merged_into_id:
        raise Http404
    form = ScanForm(request.POST or None, request.FILES or None,
                    services=_services_of(request),
                    dossiers=queries.dossiers_to_attach(request.user, request.organisation,
                                                        record),
                    initial={"dossier": request.GET.get("dossier", "")})
    if request.method == "POST" and form.is_valid():
        try:
            scan = services_scans.scan_document(
                actor=request.user, record=record, upload=form.cleaned_data["file"],
                service=form.cleaned_data["service"], title=form.cleaned_data["title"],
                dossier=form.chosen_dossier(), request=request)
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                _form_errors(form, exc)
            else:
                form.add_error("file", exc)
        else:
            messages.success(request, _("Le document est enregistré sur la fiche de "
                                        "%(name)s.") % {"name": record.full_name})
            return redirect("crm:scan", pk=scan.pk)
    return render(request, "crm/scans/new.html", {
        "record": record, "form": form, "ocr_missing": services_scans.ocr_missing()})


@agent_required
@require_http_methods(["GET", "HEAD", "POST"])
def scan_page(request, pk):
    scan = queries.scan_for_agent(request.user, request.organisation, pk)
    if request.method == "POST":
        try:
            services_scans.read_again(actor=request.user, scan=scan, request=request)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("La lecture du document est relancée."))
        return redirect("crm:scan", pk=scan.pk)
    services_scans.document_viewed(actor=request.user, scan=scan, request=request)
    return render(request, "crm/scans/detail.html", {
        "scan": scan, "record": scan.record,
        "may_read_again": scan.may_read_again and rules.may_read_scan_again(request.user,
                                                                            scan)})
