"""« Mes données » (the resident's copy of their data) and the register of processing
activities (administrators)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from mairie.core.organisation.queries import is_org_administrator
from mairie.core.web.views import agent_required

from . import services
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
