"""The citizen records in the agent workspace (`/agent/usagers/…`): find a resident, create
their record, read everything about them, log a contact, correct the record, merge a duplicate.
Thin views: reads in `queries.py`, writes in `services.py`, permissions in `rules.py`."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mairie.core.organisation.models import Service
from mairie.core.web.views import agent_required
from mairie.procedures.queries import procedures_to_file_for_someone

from . import queries, rules, services, services_mandates
from .forms import InteractionForm, MergeForm, RecordForm, SearchForm


def _form_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _services_of(request):
    return Service.objects.filter(organisation=request.organisation,
                                  pk__in=rules.services_of(request.user, request.organisation))


@agent_required
@require_GET
def search(request):
    form = SearchForm(request.GET or None)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    results = queries.search_records(request.user, request.organisation, query)
    return render(request, "crm/search.html", {"form": form, "query": query,
                                               "results": results})


@agent_required
@require_http_methods(["GET", "HEAD", "POST"])
def create(request):
    initial = {}
    query = request.GET.get("q", "").strip()
    if query and "@" in query:
        initial["email"] = query
    elif query:
        *first, last = query.split()
        initial.update(first_name=" ".join(first), last_name=last)
    form = RecordForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            record = services.create_record(actor=request.user,
                                            organisation=request.organisation,
                                            values=form.values(), request=request)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("La fiche de %(name)s est créée.")
                             % {"name": record.full_name})
            return redirect("crm:record", pk=record.pk)
    return render(request, "crm/record_form.html", {"form": form, "record": None})


def _record_page(request, record, interaction_form, status=200):
    services.record_viewed(actor=request.user, record=record, request=request)
    return render(request, "crm/record.html", {
        "record": record, "interaction_form": interaction_form,
        "timeline": queries.timeline_of(request.user, request.organisation, record),
        "may_merge": rules.may_merge(request.user, request.organisation),
        "has_services": bool(rules.services_of(request.user, request.organisation)),
        "can_help": rules.handles_help_requests(request.user, request.organisation),
        "can_mandate": services_mandates.may_hold_mandates(request.user, request.organisation),
        "procedures": procedures_to_file_for_someone(request.user, request.organisation),
    }, status=status)


@agent_required
@require_GET
def record(request, pk):
    current = queries.record_for_agent(request.user, request.organisation, pk)
    if current.merged_into_id:
        messages.info(request, _("Cette fiche a été fusionnée dans celle-ci."))
        return redirect("crm:record", pk=current.merged_into_id)
    form = InteractionForm(services=_services_of(request))
    return _record_page(request, current, form)


@agent_required
@require_POST
def log_interaction(request, pk):
    current = queries.record_for_agent(request.user, request.organisation, pk)
    form = InteractionForm(request.POST, services=_services_of(request))
    if form.is_valid():
        try:
            services.log_interaction(actor=request.user, record=current,
                                     service=form.cleaned_data["service"],
                                     values=form.values(), request=request)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Le contact est noté sur la fiche."))
            return redirect("crm:record", pk=current.pk)
    return _record_page(request, current, form)


@agent_required
@require_POST
def file_for(request, pk):
    """Open a procedure for the resident: the agent then fills its pages with them."""
    from mairie.procedures.services import SubmissionRefused

    current = queries.record_for_agent(request.user, request.organisation, pk)
    chosen = next((d for d in procedures_to_file_for_someone(request.user, request.organisation)
                   if str(d.pk) == request.POST.get("procedure")), None)
    service = _services_of(request).first()
    if chosen is None or service is None:
        messages.error(request, _("Choisissez une démarche que vous pouvez déposer pour "
                                  "un usager."))
        return redirect("crm:record", pk=current.pk)
    try:
        dossier = services.open_dossier_for(actor=request.user, record=current,
                                            definition=chosen, service=service,
                                            request=request)
    except (ValidationError, SubmissionRefused) as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("crm:record", pk=current.pk)
    messages.success(request, _("Remplissez la démarche avec %(name)s, puis envoyez-la : elle "
                                "sera déposée à son nom.") % {"name": current.full_name})
    return redirect("procedures:page", pk=dossier.pk, page_key=dossier.current_page) \
        if dossier.current_page else redirect("procedures:review", pk=dossier.pk)


@agent_required
@require_http_methods(["GET", "HEAD", "POST"])
def edit(request, pk):
    current = queries.record_for_agent(request.user, request.organisation, pk)
    if current.merged_into_id:
        raise Http404
    form = RecordForm(request.POST or None, instance=current,
                      initial={"lock_version": current.lock_version})
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            services.update_record(actor=request.user, record=current, values=form.values(),
                                   lock_version=form.cleaned_data["lock_version"],
                                   request=request)
        except services.StaleRecord as exc:
            status = 409
            posted = request.POST.copy()
            posted["lock_version"] = str(exc.current.lock_version)
            form = RecordForm(posted, instance=exc.current)
            form.is_valid()
            form.add_error(None, str(exc))
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("La fiche est enregistrée."))
            return redirect("crm:record", pk=current.pk)
    return render(request, "crm/record_form.html", {"form": form, "record": current},
                  status=status)


@agent_required
@require_http_methods(["GET", "HEAD", "POST"])
def merge(request, pk):
    """Find the duplicate (search), compare both (`?absorbed=<id>`), confirm (POST)."""
    if not rules.may_merge(request.user, request.organisation):
        raise PermissionDenied
    kept = queries.record_for_agent(request.user, request.organisation, pk)
    if kept.merged_into_id:
        raise Http404
    search_form = SearchForm(request.GET or None)
    query = search_form.cleaned_data["q"] if search_form.is_valid() else ""
    candidates = [r for r in queries.search_records(request.user, request.organisation, query)
                  if r.pk != kept.pk]
    form = MergeForm(request.POST or None,
                     initial={"absorbed": request.GET.get("absorbed", "")})
    chosen = _chosen(request, kept, request.POST.get("absorbed") or request.GET.get("absorbed"))
    if request.method == "POST" and form.is_valid():
        if chosen is None:
            raise Http404
        try:
            services.merge_records(actor=request.user, kept=kept, absorbed=chosen,
                                   request=request)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Les deux fiches n'en font plus qu'une."))
            return redirect("crm:record", pk=kept.pk)
    return render(request, "crm/merge.html", {
        "record": kept, "search_form": search_form, "query": query, "candidates": candidates,
        "chosen": chosen, "form": form, "merges": queries.merges_of(kept),
    })


def _chosen(request, kept, value):
    """The record picked as the duplicate (`kept` itself when picked: the merge says no)."""
    try:
        pk = uuid.UUID(str(value)) if value else None
    except ValueError:
        return None
    if pk is None:
        return None
    if pk == kept.pk:
        return kept
    return queries.records_for_agent(request.user, request.organisation).filter(pk=pk).first()
