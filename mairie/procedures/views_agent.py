"""Agents' processing pages: the inbox of submitted dossiers and the dossier page.

Thin views: who sees what is decided in `queries.dossiers_for_agent` / `dossier_for_agent`
(SQL, scoped to the request's organisation); a dossier an agent may not process is a 404.
Opening a dossier is audited (`services.record_dossier_read`).
"""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from mairie.core.web.pagination import CappedPaginator
from mairie.core.web.views import agent_required

from . import processing, queries, workflow
from . import schema as schema_helpers
from .forms_agent import SORT_CHOICES, InboxFilterForm
from .forms_batch import BatchForm
from .services import record_dossier_read
from .views_batch import batch_form_choices

INBOX_PAGE_SIZE = 25


BOX_LABELS = {
    "mine": _("À moi"),
    "services": _("Mes services"),
    "validation": _("À valider"),
    "opinions": _("Avis demandés"),
    "all": _("Tous les dossiers"),
}

# Sortable columns: (first key when clicked, the ascending key, the descending key).
SORTABLE_COLUMNS = {
    "number": ("number", "number", "-number"),
    "deadline": ("deadline", "deadline", "-deadline"),
    "submitted": ("-submitted", "submitted", "-submitted"),
}


def _sort_columns(kept: dict, sort: str) -> dict:
    """For each sortable column header: its link (the filters kept) and its `aria-sort`."""
    columns = {}
    for name, (first, ascending, descending) in SORTABLE_COLUMNS.items():
        if sort == ascending:
            state, target = "ascending", descending
        elif sort == descending:
            state, target = "descending", ascending
        else:
            state, target = "", first
        columns[name] = {
            "aria_sort": state,
            "href": "?" + urlencode({**kept, "sort": target}),
            "next": (_("trier par ordre croissant") if target == ascending
                     else _("trier par ordre décroissant")),
        }
    return columns


@agent_required
@require_safe
def inbox(request):
    scope = queries.AgentScope(request.user, request.organisation)
    box = request.GET.get("box") or queries.DEFAULT_BOX
    if box not in scope.boxes:
        box = queries.DEFAULT_BOX  # e.g. "all" asked by a plain agent: never widened
    # Batch work: the same choices serve the filter form and the batch form (one query each).
    choices = batch_form_choices(request, scope)
    form = InboxFilterForm(request.GET or None, **choices)
    filters = form.filters()
    sort = form.sort_key
    assigned = filters.get("assigned")
    dossiers = queries.dossiers_for_agent(
        request.user, request.organisation, box=box, scope=scope,
        procedure=filters.get("procedure"), state=filters.get("state"),
        search=filters.get("q", ""), label=filters.get("label"),
        submitted_from=filters.get("submitted_from"), submitted_to=filters.get("submitted_to"),
        deadline=filters.get("deadline", ""),
        assigned=request.user.pk if assigned == "me" else assigned, sort=sort)
    page = CappedPaginator(dossiers, INBOX_PAGE_SIZE, cap=queries.INBOX_COUNT_CAP).get_page(
        request.GET.get("page"))
    # What the links of the page keep: the box and the valid filters, as typed.
    kept = {"box": box, **{name: form.data.get(name) for name in filters}}
    unsorted = {name: value for name, value in kept.items() if name != "sort"}
    counts = scope.counts()
    return render(request, "procedures/agent/inbox.html", {
        "page_obj": page, "form": form, "box": box, "box_label": BOX_LABELS[box],
        "boxes": [{"key": key, "label": BOX_LABELS[key],
                   "count": min(counts.get(key, 0), queries.BOX_COUNT_CAP),
                   "more": counts.get(key, 0) > queries.BOX_COUNT_CAP}
                  for key in scope.boxes],
        "may_see_all": scope.may_see_all, "query": urlencode(kept),
        "filtered": any(name != "sort" for name in filters),
        "sort": sort, "sort_label": dict(SORT_CHOICES)[sort],
        "columns": _sort_columns(unsorted, sort),
        # Batch work (views_batch.py): the action form under the table keeps the filters.
        "batch_form": BatchForm(scope=scope, **choices), "batch_kept": list(kept.items()),
    })


# The dossier page's tabs (as in démarches-simplifiées): the request and its processing, the
# thread with the applicant, private notes and opinions, the history. Each is its own page
# (no JavaScript needed) that reads only what it shows.
TABS = {
    "": _("Demande"),
    "messagerie": _("Messagerie"),
    "notes-et-avis": _("Annotations et avis"),
    "historique": _("Historique"),
}
# Where each processing form lives (views_processing redirects there after a post).
SECTION_TABS = {"attribution": "", "etiquettes": "", "messages": "messagerie",
                "annotations": "notes-et-avis", "avis": "notes-et-avis"}


def tab_url(dossier, tab: str = "") -> str:
    if not tab:
        return reverse("procedures:agent-dossier", args=[dossier.pk])
    return reverse("procedures:agent-dossier-tab", args=[dossier.pk, tab])


def _has_tab(tab: str, can: dict) -> bool:
    if tab == "messagerie":
        return bool(can.get("process"))
    if tab == "notes-et-avis":
        return bool(can.get("process") or can.get("answer_opinion"))
    return True


def _tabs(dossier, current: str, can: dict) -> list[dict]:
    """The tabs the agent has: a consulted expert neither writes to the applicant nor reads
    the private annotations."""
    tabs = []
    for key, label in TABS.items():
        if not _has_tab(key, can):
            continue
        if key == "notes-et-avis" and not can.get("process"):
            label = _("Avis")
        tabs.append({"key": key, "label": label, "url": tab_url(dossier, key),
                     "current": key == current})
    return tabs


def _appointments_context(request, dossier) -> dict:
    """The « Rendez-vous » section: the dossier's appointments at the counters whose desk
    the agent works, read through the appointments' own query (one query, none when
    `dossier_for_agent` found no appointment linked)."""
    from mairie.appointments.queries import DOSSIER_APPOINTMENT_LIMIT, appointments_of_dossier

    if not getattr(dossier, "has_appointments", True):
        return {"dossier_appointments": [], "dossier_appointments_truncated": False}
    found = appointments_of_dossier(request.user, request.organisation, dossier)
    return {"dossier_appointments": found[:DOSSIER_APPOINTMENT_LIMIT],
            "dossier_appointments_truncated": len(found) > DOSSIER_APPOINTMENT_LIMIT}


@agent_required
@require_safe
def dossier_page(request, pk, tab=""):
    if tab not in TABS:
        raise Http404
    dossier = queries.dossier_for_agent(request.user, request.organisation, pk)
    record_dossier_read(actor=request.user, dossier=dossier, request=request)
    processing_context = processing.agent_context(request, dossier, tab=tab)
    if not _has_tab(tab, processing_context["processing_can"]):
        raise Http404  # e.g. a consulted expert does not write to the applicant
    context = {"dossier": dossier, "definition": dossier.version.definition, "tab": tab,
               "tab_label": TABS[tab],
               "tabs": _tabs(dossier, tab, processing_context["processing_can"]),
               **processing_context}
    if tab == "":
        files = list(queries.files_of(dossier))
        context.update({
            "answers": schema_helpers.answers_summary(
                dossier.version.schema, dossier.data,
                known_files={str(f.stored_file_id): f.stored_file.original_name for f in files}),
            "files": files,
            **workflow.agent_context(request, dossier),
            **_appointments_context(request, dossier),
        })
    elif tab == "historique":
        context["events"] = list(queries.timeline_of(dossier))
    return render(request, "procedures/agent/dossier.html", context)
