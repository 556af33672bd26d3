"""Agents' processing pages: the inbox of submitted dossiers and the dossier page.

Thin views: who sees what is decided in `queries.dossiers_for_agent` / `dossier_for_agent`
(SQL, scoped to the request's organisation); a dossier an agent may not process is a 404.
Opening a dossier is audited (`services.record_dossier_read`).
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils.http import urlencode
from django.views.decorators.http import require_safe

from mairie.core.organisation.models import Role
from mairie.core.organisation.queries import roles_of
from mairie.core.web.views import agent_required

from . import processing, queries, workflow
from . import schema as schema_helpers
from .forms_agent import InboxFilterForm
from .services import record_dossier_read

INBOX_PAGE_SIZE = 25


def _may_see_all(request) -> bool:
    return bool(roles_of(request.user, request.organisation)
                & {Role.DIRECTOR, Role.ADMINISTRATOR})


@agent_required
@require_safe
def inbox(request):
    box = request.GET.get("box", "services")
    if box not in queries.INBOX_BOXES or (box == "all" and not _may_see_all(request)):
        box = "services"
    procedures = list(queries.procedures_for_agent(request.user, request.organisation)
                      .select_related("current_version__workflow"))
    form = InboxFilterForm(request.GET or None, procedures=procedures)
    filters = form.cleaned_data if form.is_valid() else {}
    dossiers = queries.dossiers_for_agent(
        request.user, request.organisation, box=box,
        procedure=filters.get("procedure") or None, state=filters.get("state") or None,
        search=filters.get("q", ""))
    page = Paginator(dossiers, INBOX_PAGE_SIZE).get_page(request.GET.get("page"))
    kept = {key: value for key, value in [("box", box), *filters.items()] if value}
    return render(request, "procedures/agent/inbox.html", {
        "page_obj": page, "form": form, "box": box, "may_see_all": _may_see_all(request),
        "query": urlencode(kept), "filtered": any(filters.values()) if filters else False,
    })


@agent_required
@require_safe
def dossier_page(request, pk):
    dossier = queries.dossier_for_agent(request.user, request.organisation, pk)
    record_dossier_read(actor=request.user, dossier=dossier, request=request)
    return render(request, "procedures/agent/dossier.html", {
        "dossier": dossier, "definition": dossier.version.definition,
        "answers": schema_helpers.answers_summary(dossier.version.schema, dossier.data),
        "files": list(queries.files_of(dossier)),
        "events": list(queries.timeline_of(dossier)),
        **workflow.agent_context(request, dossier),
        **processing.agent_context(request, dossier),
    })
