"""Batch work pages: the batch form posted from the inbox, a batch's progress page (refreshes
itself without JavaScript while it runs), its JSON status, and the list of my batches.

Thin views: the selection is read in SQL through `queries` (what the agent sees, scoped to the
request's organisation); `batches.create_batch` freezes it and starts the Celery task.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from mairie.core.web.views import agent_required

from . import batches, queries
from .forms_agent import InboxFilterForm
from .forms_batch import BatchForm

# The inbox's box and filters come back with the batch form under these names.
FILTER_PREFIX = "filter-"
REFRESH_SECONDS = 3


def batch_form_choices(request, scope) -> dict:
    """What the inbox's filter form and the batch form offer: the agent's procedures (with
    their workflows), their labels and the organisation's agents — one query each."""
    procedures = list(queries.procedures_for_agent(request.user, request.organisation,
                                                   scope=scope)
                      .select_related("current_version__workflow"))
    return {"procedures": procedures,
            "labels": list(queries.labels_for_agent(request.organisation, procedures)),
            "agents": list(queries.agents_of(request.organisation))}


def _filtered_dossiers(request, scope, choices: dict):
    """The dossiers of the inbox's box and filters posted with the batch form (the same call
    as the inbox's list, so "all the dossiers of this filter" is what the agent saw)."""
    data = {name[len(FILTER_PREFIX):]: value for name, value in request.POST.items()
            if name.startswith(FILTER_PREFIX)}
    box = data.pop("box", "") or queries.DEFAULT_BOX
    if box not in scope.boxes:
        box = queries.DEFAULT_BOX
    form = InboxFilterForm(data or None, **choices)
    filters = form.filters()
    assigned = filters.get("assigned")
    return queries.dossiers_for_agent(
        request.user, request.organisation, box=box, scope=scope,
        procedure=filters.get("procedure"), state=filters.get("state"),
        search=filters.get("q", ""), label=filters.get("label"),
        submitted_from=filters.get("submitted_from"), submitted_to=filters.get("submitted_to"),
        deadline=filters.get("deadline", ""),
        assigned=request.user.pk if assigned == "me" else assigned,
        sort=filters.get("sort") or queries.DEFAULT_SORT)


def _selected(request, scope, choices: dict, form: BatchForm):
    """The dossiers the batch form designates, read in SQL among those the agent sees: every
    dossier of the posted box and filters, or the ticked ones the agent may open (an id of a
    dossier they may not see is simply not found)."""
    if form.cleaned_data["selection"] == "filter":
        return _filtered_dossiers(request, scope, choices), _("tous les dossiers du filtre")
    return (queries.dossiers_readable_by_agent(request.user, request.organisation, scope=scope)
            .filter(pk__in=form.cleaned_data["dossiers"])
            .order_by("-submitted_at", "-pk")), _("dossiers cochés")


@agent_required
@require_POST
def create(request):
    """Two steps, both POSTed: from the inbox, which dossiers and which action (the page then
    asks what the action needs and shows how many dossiers it will touch); with `confirm`,
    the batch is created and its progress page shown."""
    scope = queries.AgentScope(request.user, request.organisation)
    choices = batch_form_choices(request, scope)
    confirm = request.POST.get("confirm") == "1"
    form = BatchForm(request.POST, scope=scope, confirm=confirm, **choices)
    count = None
    if form.is_valid():
        dossiers, summary = _selected(request, scope, choices, form)
        if not confirm:
            count = dossiers.count()
            if not count:
                form.add_error(None, _("Aucun dossier ne correspond à votre sélection : "
                                       "cochez des dossiers ou changez de filtre."))
            else:
                return _render_new(request, form, count=count, status=200)
        else:
            try:
                batch = batches.create_batch(
                    actor=request.user, organisation=request.organisation,
                    action=form.cleaned_data["action"], parameters=form.parameters(),
                    dossiers=dossiers, summary=summary, token=_token(request),
                    request=request)
            except batches.BatchRefused as exc:
                form.add_error(None, exc.messages)
            else:
                messages.success(request, _("Le traitement par lot est lancé."))
                return redirect("procedures:batch", pk=batch.pk)
    return _render_new(request, form, count=count, status=400)


def _token(request):
    """The confirmation form's one-time token (see `batches.create_batch`), if well formed."""
    try:
        return uuid.UUID(request.POST.get("token", ""))
    except ValueError:
        return None


def _render_new(request, form: BatchForm, *, count, status: int):
    kept = [(name, value) for name, value in request.POST.items()
            if name.startswith(FILTER_PREFIX)]
    checked = (form.cleaned_data.get("dossiers", []) if hasattr(form, "cleaned_data")
               else [])
    # Second step: the first step's answers are valid; only the action's fields are asked.
    second = "selection" not in form.errors and "action" not in form.errors and (
        "dossiers" not in form.errors) and (form.confirm or count)
    return render(request, "procedures/batch/new.html", {
        "form": form, "kept": kept, "checked": checked, "count": count,
        "second_step": bool(second), "token": _token(request) or uuid.uuid4(),
        "inbox_query": urlencode([(name[len(FILTER_PREFIX):], value) for name, value in kept]),
    }, status=status)


@agent_required
@require_safe
def detail(request, pk):
    batch = queries.batch_for_agent(request.user, request.organisation, pk)
    refresh = batch.running and request.GET.get("auto") != "0"
    return render(request, "procedures/batch/detail.html", {
        "batch": batch, "problems": list(queries.batch_problems(batch)),
        "refresh": REFRESH_SECONDS if refresh else 0,
        "auto_stopped": batch.running and not refresh,
    })


@agent_required
@require_safe
def status(request, pk):
    batch = queries.batch_for_agent(request.user, request.organisation, pk)
    return JsonResponse({
        "status": batch.status, "finished": not batch.running, "total": batch.total,
        "done": batch.done, "failed": batch.failed, "skipped": batch.skipped,
        "processed": batch.processed,
    })


@agent_required
@require_safe
def batch_list(request):
    page = Paginator(queries.batches_for_agent(request.user, request.organisation)
                     .select_related("created_by"), 25).get_page(request.GET.get("page"))
    return render(request, "procedures/batch/list.html", {"page_obj": page})


urlpatterns = [
    path("agent/lots/", batch_list, name="batches"),
    path("agent/lots/nouveau/", create, name="batch-create"),
    path("agent/lots/<uuid:pk>/", detail, name="batch"),
    path("agent/lots/<uuid:pk>/etat.json", status, name="batch-status"),
]
