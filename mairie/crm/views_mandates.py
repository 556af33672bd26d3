"""Mandates in the workspace (`/agent/usagers/<id>/mandats/`, `/agent/mandats/<id>/`) and in
the resident's account (`/mon-compte/mandats/`)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mairie.core.files.forms import save_upload
from mairie.core.web.views import agent_required

from . import queries, services_mandates
from .forms import MandateCodeForm, MandateForm, MandatePaperForm
from .models_mandates import Mandate
from .views import _form_errors


def _mediator(request):
    if not services_mandates.may_hold_mandates(request.user, request.organisation):
        raise PermissionDenied


def _mandate(request, pk) -> Mandate:
    _mediator(request)
    return queries.mandate_for_mediator(request.user, request.organisation, pk)


@agent_required
@require_http_methods(["GET", "HEAD", "POST"])
def mandates(request, pk):
    _mediator(request)
    record = queries.record_for_agent(request.user, request.organisation, pk)
    form = MandateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            mandate = services_mandates.create_mandate(
                actor=request.user, record=record, domains=form.cleaned_data["domains"],
                duration=form.cleaned_data["duration"],
                consent_method=form.cleaned_data["consent_method"], request=request)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Le mandat est créé. Il ne peut servir qu'une fois "
                                        "l'accord de la personne recueilli."))
            return redirect("crm:mandate", pk=mandate.pk)
    return render(request, "crm/mandates/list.html", {
        "record": record, "form": form,
        "mandates": queries.mandates_for_mediator(request.user, request.organisation)
        .filter(record=record)})


@agent_required
@require_http_methods(["GET", "HEAD", "POST"])
def mandate(request, pk):
    current = _mandate(request, pk)
    code_form = MandateCodeForm(request.POST if request.POST.get("action") == "code" else None)
    paper_form = MandatePaperForm(request.POST if request.POST.get("action") == "paper"
                                  else None, request.FILES or None)
    action = request.POST.get("action")
    if request.method == "POST":
        try:
            if action == "code" and code_form.is_valid():
                services_mandates.confirm_code(actor=request.user, mandate=current,
                                               code=code_form.cleaned_data["code"],
                                               request=request)
                messages.success(request, _("L'accord de la personne est recueilli : le "
                                            "mandat est actif."))
                return redirect("crm:mandate", pk=current.pk)
            if action == "resend":
                services_mandates.send_code(actor=request.user, mandate=current,
                                            request=request)
                messages.success(request, _("Un nouveau code est envoyé à la personne."))
                return redirect("crm:mandate", pk=current.pk)
            if action == "paper" and paper_form.is_valid():
                stored = save_upload(paper_form, "scan", actor=request.user,
                                     organisation=request.organisation,
                                     purpose=services_mandates.PAPER_PURPOSE, request=request)
                if stored is not None:
                    services_mandates.attach_paper(actor=request.user, mandate=current,
                                                   stored_file=stored, request=request)
                    messages.success(request, _("Le mandat signé est enregistré : le mandat "
                                                "est actif."))
                    return redirect("crm:mandate", pk=current.pk)
            if action == "revoke":
                services_mandates.revoke(actor=request.user, mandate=current, request=request)
                messages.success(request, _("Le mandat est révoqué."))
                return redirect("crm:mandate", pk=current.pk)
            if action == "renew":
                renewed = services_mandates.renew(actor=request.user, mandate=current,
                                                  request=request)
                messages.success(request, _("Un nouveau mandat est créé ; recueillez l'accord "
                                            "de la personne."))
                return redirect("crm:mandate", pk=renewed.pk)
        except ValidationError as exc:
            form = {"code": code_form, "paper": paper_form}.get(action or "")
            if form is None:  # a resend or a renewal: no field to point at
                messages.error(request, " ".join(exc.messages))
            else:
                _form_errors(form, exc)
    current.refresh_from_db()
    return render(request, "crm/mandates/detail.html", {
        "mandate": current, "code_form": code_form, "paper_form": paper_form,
        "uses": current.uses.all(), "intact": services_mandates.verify_journal(current) is None,
        "mine": current.mediator_id == request.user.pk})


@agent_required
@require_GET
def mandate_pdf(request, pk):
    """The paper mandate to print and sign at the counter."""
    import weasyprint

    current = _mandate(request, pk)
    html = render_to_string("crm/mandates/paper.html", {"mandate": current,
                                                        "today": timezone.now()})
    pdf = weasyprint.HTML(string=html, url_fetcher=services_mandates.no_fetch).write_pdf(
        pdf_variant="pdf/ua-1")
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="mandat-{current.pk}.pdf"'
    return response


@login_required
@require_GET
def my_mandates(request):
    """The resident's mandates (their records'), each with its journal."""
    return render(request, "crm/mandates/mine.html", {
        "mandates": queries.mandates_of_resident(request.user, request.organisation)})


@login_required
@require_POST
def revoke_mine(request, pk):
    current = queries.mandates_of_resident(request.user, request.organisation).filter(
        pk=pk).first()
    if current is None:
        raise Http404
    services_mandates.revoke(actor=request.user, mandate=current, request=request)
    messages.success(request, _("Le mandat est révoqué : l'aidant ne peut plus agir pour "
                                "vous."))
    return redirect("crm:my-mandates")


@agent_required
@require_GET
def record_dossier(request, pk, dossier_pk):
    """A dossier of the resident opened from their record: the processing page for those who
    process it, the applicant's page for the agent who filed it, and otherwise — a mediator
    following it under the person's mandate — what the person sees of it, the opening written
    to the mandate's journal."""
    from mairie.procedures import processing

    record = queries.record_for_agent(request.user, request.organisation, pk)
    dossier, reach = queries.dossier_of_record(request.user, request.organisation, record,
                                               dossier_pk)
    if reach == "process":
        return redirect("procedures:agent-dossier", pk=dossier.pk)
    if reach == "filed":
        return redirect("procedures:dossier", pk=dossier.pk)
    mandate = services_mandates.use_mandate(
        actor=request.user, record=record, domain=dossier.version.definition.mandate_domain,
        label=_("Dossier n° %(number)s consulté (%(title)s)") % {
            "number": dossier.number, "title": dossier.version.definition.title},
        request=request)
    context = processing.applicant_context(request, dossier)
    return render(request, "crm/mandates/dossier.html", {
        "record": record, "dossier": dossier, "mandate": mandate,
        "definition": dossier.version.definition,
        "public_state": processing.public_state_label(dossier),
        "events": context["public_events"], "thread": context["thread"],
        "open_correction": context["open_correction"]})
