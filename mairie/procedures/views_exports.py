"""Agents' exports of the inbox: asking for one (the inbox's box and filters kept), the list of
my exports with their progress, and the audited download of a finished one.

Thin views: the work is in `exports.py` (services and reads), run by `tasks_exports.py`.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_safe

from mairie.core.files.delivery import file_response
from mairie.core.web.views import agent_required

from . import exports, queries
from .forms_agent import InboxFilterForm
from .models import Export
from .views_agent import BOX_LABELS

EXPORTS_PAGE_SIZE = 25


class ExportForm(forms.Form):
    procedure = forms.ChoiceField(
        label=gettext_lazy("Démarche"),
        help_text=gettext_lazy("Un export porte sur une seule démarche : il a une colonne "
                               "par question de son formulaire."),
        error_messages={"required": gettext_lazy("Choisissez la démarche à exporter.")})
    format = forms.ChoiceField(
        label=gettext_lazy("Format du fichier"), choices=Export.Format.choices,
        widget=forms.RadioSelect, initial=Export.Format.CSV,
        error_messages={"required": gettext_lazy("Choisissez un format.")})

    def __init__(self, *args, procedures=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.procedures = {str(procedure.pk): procedure for procedure in procedures}
        self.fields["procedure"].choices = [("", _("Choisissez une démarche"))] + [
            (key, procedure.title) for key, procedure in self.procedures.items()]

    def clean_procedure(self):
        return self.procedures[self.cleaned_data["procedure"]]


def _filters_summary(filters: dict, form: InboxFilterForm) -> list[tuple[str, str]]:
    """(label, value as shown) of the inbox filters kept, for the request page."""
    summary = []
    form.is_valid()
    for name, value in filters.items():
        if name in ("box", "procedure", "sort") or name not in form.fields:
            continue
        field = form.fields[name]
        shown = dict(getattr(field, "choices", ())).get(value, value)
        summary.append((str(field.label), str(shown)))
    return summary


@agent_required
@require_http_methods(["GET", "HEAD", "POST"])
def export_new(request):
    scope = queries.AgentScope(request.user, request.organisation)
    procedures = list(queries.procedures_for_agent(request.user, request.organisation,
                                                   scope=scope)
                      .select_related("current_version__workflow"))
    source = request.POST if request.method == "POST" else request.GET
    filters = exports.clean_filters(source)
    box = filters.get("box") or queries.DEFAULT_BOX
    if box not in scope.boxes:
        box = queries.DEFAULT_BOX
    filters["box"] = box
    inbox_form = InboxFilterForm(filters, procedures=procedures,
                                 labels=queries.labels_for_agent(request.organisation,
                                                                 procedures),
                                 agents=queries.agents_of(request.organisation))
    if request.method == "POST":
        form = ExportForm(request.POST, procedures=procedures)
        if form.is_valid():
            exports.request_export(
                actor=request.user, organisation=request.organisation,
                definition=form.cleaned_data["procedure"],
                format=form.cleaned_data["format"], filters=filters,
                base_url=request.build_absolute_uri("/").rstrip("/"), request=request)
            messages.success(request, _("Votre export est demandé : il se prépare ci-dessous "
                                        "et vous pourrez le télécharger dès qu'il est prêt."))
            return redirect("procedures:exports")
    else:
        form = ExportForm(initial={"procedure": filters.get("procedure", ""),
                                   "format": Export.Format.CSV}, procedures=procedures)
    return render(request, "procedures/agent/export_new.html", {
        "form": form, "filters": filters, "box_label": BOX_LABELS[box],
        "summary": _filters_summary(filters, inbox_form),
        "hidden": {name: value for name, value in filters.items() if name != "procedure"},
        "inbox_query": urlencode(filters),
    })


@agent_required
@require_safe
def export_list(request):
    page = Paginator(exports.exports_of(request.user, request.organisation),
                     EXPORTS_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "procedures/agent/exports.html", {
        "page_obj": page,
        "running": any(export.is_running for export in page.object_list),
    })


@agent_required
@require_safe
def export_download(request, pk):
    export = (exports.exports_of(request.user, request.organisation)
              .filter(pk=pk, status=Export.Status.DONE, stored_file__isnull=False).first())
    if export is None:
        raise Http404
    exports.record_export_download(actor=request.user, export=export, request=request)
    response = file_response(export.stored_file)
    if "Content-Disposition" in response:
        response["Content-Disposition"] = f'attachment; filename="{exports.file_name(export)}"'
    return response


urlpatterns = [
    path("agent/exports/", export_list, name="exports"),
    path("agent/exports/nouveau/", export_new, name="export-new"),
    path("agent/exports/<uuid:pk>/telecharger/", export_download, name="export-download"),
]
