"""Processing pages: the agents' actions on the dossier page (assignment, labels, messages,
annotations, opinions), the labels' management page, and the applicant's side — their dossier
page, the thread, the correction form — signed in or through the tracking code.

Thin views: every dossier comes from `queries.py` (someone else's is a 404), every write from
`processing.py` (permissions, audit, notifications). Agent posts redirect back to the dossier
page; a refused post keeps what was typed (in the session) and the page shows it again with
the message. Citizen pages work without JavaScript.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from mairie.core.files.delivery import file_response
from mairie.core.files.models import StoredFile
from mairie.core.files.services import record_download
from mairie.core.web.views import agent_required

from . import processing, queries, workflow
from .forms_processing import (
    AnnotationForm,
    AssignForm,
    LabelForm,
    MessageForm,
    OpinionAnswerForm,
    OpinionRequestForm,
)
from .models import DossierMessage, Label, OpinionRequest
from .rules import abilities
from .services import StaleDossier

# --- Agents: actions on the dossier page -----------------------------------------------------


def _agent_dossier(request, pk, ability: str):
    dossier = queries.dossier_for_agent(request.user, request.organisation, pk)
    if not abilities(request.user, dossier).get(ability):
        raise PermissionDenied
    return dossier


def _back(dossier, anchor: str):
    """Back to the tab of the dossier page where the form of `anchor` lives, at the form."""
    from .views_agent import SECTION_TABS, tab_url

    return redirect(tab_url(dossier, SECTION_TABS[anchor]) + f"#{anchor}")


def _text_input(request) -> dict:
    return {name: value for name, value in request.POST.items()
            if name != "csrfmiddlewaretoken"}


def _refused(request, dossier, form_name: str, anchor: str, errors=()):
    processing.remember_failed_post(request, dossier, form_name, _text_input(request), errors)
    return _back(dossier, anchor)


@agent_required
@require_POST
def agent_assign(request, pk):
    dossier = _agent_dossier(request, pk, "assign")
    action = request.POST.get("action")
    to = None
    if action == "take":
        to = request.user
    elif action == "assign":
        form = AssignForm(request.POST, processors=processing.processors_of(dossier))
        chosen = form.cleaned_data.get("agent") if form.is_valid() else ""
        to = next((u for u in processing.processors_of(dossier) if str(u.pk) == chosen), None)
        if to is None:
            return _refused(request, dossier, "assign", "attribution",
                            [_("Choisissez un agent dans la liste.")])
    elif action != "release":
        raise Http404
    try:
        processing.assign(actor=request.user, dossier=dossier, to=to, request=request)
    except ValidationError as exc:
        return _refused(request, dossier, "assign", "attribution", exc.messages)
    messages.success(request, _("Attribution enregistrée."))
    return _back(dossier, "attribution")


@agent_required
@require_POST
def agent_labels(request, pk):
    dossier = _agent_dossier(request, pk, "label")
    try:
        processing.set_labels(actor=request.user, dossier=dossier,
                              labels=request.POST.getlist("labels-labels"), request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Étiquettes enregistrées."))
    return _back(dossier, "etiquettes")


@agent_required
@require_POST
def agent_message(request, pk):
    dossier = _agent_dossier(request, pk, "message")
    form = MessageForm(request.POST, request.FILES)
    if not form.is_valid():
        return _refused(request, dossier, "message", "messages")
    try:
        processing.send_agent_message(actor=request.user, dossier=dossier,
                                      body=form.cleaned_data["body"],
                                      attachment=form.cleaned_data.get("attachment"),
                                      request=request)
    except ValidationError as exc:
        return _refused(request, dossier, "message", "messages", exc.messages)
    messages.success(request, _("Message envoyé au demandeur."))
    return _back(dossier, "messages")


@agent_required
@require_POST
def agent_annotation(request, pk):
    dossier = _agent_dossier(request, pk, "process")
    form = AnnotationForm(request.POST)
    if not form.is_valid():
        return _refused(request, dossier, "annotation", "annotations")
    try:
        processing.annotate(actor=request.user, dossier=dossier,
                            body=form.cleaned_data["body"], request=request)
    except ValidationError as exc:
        return _refused(request, dossier, "annotation", "annotations", exc.messages)
    messages.success(request, _("Annotation enregistrée."))
    return _back(dossier, "annotations")


@agent_required
@require_POST
def agent_opinion_request(request, pk):
    dossier = _agent_dossier(request, pk, "request_opinion")
    form = OpinionRequestForm(request.POST, services=processing.opinion_services(dossier))
    if not form.is_valid():
        return _refused(request, dossier, "opinion", "avis")
    try:
        processing.request_opinion(actor=request.user, dossier=dossier,
                                   service=form.services[form.cleaned_data["service"]],
                                   question=form.cleaned_data["question"], request=request)
    except ValidationError as exc:
        return _refused(request, dossier, "opinion", "avis", exc.messages)
    messages.success(request, _("Demande d'avis envoyée."))
    return _back(dossier, "avis")


@agent_required
@require_POST
def agent_opinion_answer(request, pk, opinion_pk):
    dossier = _agent_dossier(request, pk, "answer_opinion")
    opinion = get_object_or_404(OpinionRequest.objects.select_related("service", "dossier"),
                                pk=opinion_pk, dossier=dossier,
                                organisation=request.organisation)
    name = f"opinion-{opinion.pk}"
    form = OpinionAnswerForm(request.POST, request.FILES, prefix=name)
    if not form.is_valid():
        return _refused(request, dossier, name, "avis")
    upload = form.cleaned_data.get("attachment")
    try:
        processing.answer_opinion(actor=request.user, opinion=opinion,
                                  answer=form.cleaned_data["answer"],
                                  files=[upload] if upload else [], request=request)
    except ValidationError as exc:
        return _refused(request, dossier, name, "avis", exc.messages)
    messages.success(request, _("Votre avis est enregistré."))
    return _back(dossier, "avis")


# --- Agents: labels ------------------------------------------------------------------------


def _label_forms(request, *, bound=None, bound_pk=None):
    procedures = list(queries.procedures_for_agent(request.user, request.organisation))
    labels = list(Label.objects.filter(organisation=request.organisation)
                  .select_related("definition").order_by("name"))
    for label in labels:
        if bound is not None and str(label.pk) == bound_pk:
            label.form = bound
        else:
            label.form = LabelForm(procedures=procedures, prefix=f"label-{label.pk}", initial={
                "name": label.name, "colour": label.colour,
                "definition": str(label.definition_id or "")})
    new = bound if bound is not None and bound_pk is None else LabelForm(
        procedures=procedures, prefix="new")
    return labels, new, procedures


@agent_required
@require_http_methods(["GET", "HEAD", "POST"])
def labels_page(request):
    """The organisation's labels: create, rename, recolour, delete."""
    if request.method == "POST":
        procedures = list(queries.procedures_for_agent(request.user, request.organisation))
        label_pk = request.POST.get("label") or None
        label = None
        if label_pk:
            label = get_object_or_404(Label, pk=label_pk, organisation=request.organisation)
        if label is not None and request.POST.get("action") == "delete":
            processing.delete_label(actor=request.user, label=label, request=request)
            messages.success(request, _("Étiquette supprimée."))
            return redirect("procedures:labels")
        prefix = f"label-{label.pk}" if label else "new"
        form = LabelForm(request.POST, procedures=procedures, prefix=prefix)
        if form.is_valid():
            try:
                processing.save_label(
                    actor=request.user, organisation=request.organisation, label=label,
                    name=form.cleaned_data["name"], colour=form.cleaned_data["colour"],
                    definition=form.procedures.get(form.cleaned_data["definition"] or ""),
                    request=request)
            except ValidationError as exc:
                form.add_error("name", exc.messages[0])
            else:
                messages.success(request, _("Étiquette enregistrée."))
                return redirect("procedures:labels")
        labels, new, _procedures = _label_forms(request, bound=form, bound_pk=label_pk)
        return render(request, "procedures/processing/labels.html",
                      {"labels": labels, "new_form": new})
    labels, new, _procedures = _label_forms(request)
    return render(request, "procedures/processing/labels.html",
                  {"labels": labels, "new_form": new})


# --- Applicant: their dossier page -------------------------------------------------------------


def _applicant_dossier(request, pk):
    dossier = queries.dossier_for_applicant(request.user, request.organisation, pk)
    if dossier.submitted_at is None:
        raise Http404
    return dossier


def _dossier_context(request, dossier, *, message_form=None) -> dict:
    return {
        "dossier": dossier, "definition": dossier.version.definition,
        "public_state": processing.public_state_label(dossier),
        "message_form": message_form or MessageForm(),
        **processing.applicant_context(request, dossier),
        **workflow.applicant_context(request, dossier),
    }


@login_required
@require_safe
def dossier_page(request, pk):
    dossier = _applicant_dossier(request, pk)
    return render(request, "procedures/dossier.html", _dossier_context(request, dossier))


@login_required
@require_POST
def dossier_message(request, pk):
    dossier = _applicant_dossier(request, pk)
    form = MessageForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            processing.send_applicant_message(
                actor=request.user, dossier=dossier, body=form.cleaned_data["body"],
                attachment=form.cleaned_data.get("attachment"), request=request)
        except ValidationError as exc:
            form.add_error("attachment" if form.cleaned_data.get("attachment") else "body",
                           exc.messages[0])
        else:
            messages.success(request, _("Votre message est envoyé."))
            return redirect(reverse("procedures:dossier", args=[dossier.pk]) + "#messages")
    return render(request, "procedures/dossier.html",
                  _dossier_context(request, dossier, message_form=form))


# --- Applicant: answering a correction request ------------------------------------------------


def _correction_view(request, dossier, *, back_url: str, action_url: str,
                     show_answers: bool = True):
    correction = processing.open_correction(dossier)
    if correction is None:
        messages.info(request, _("Aucune correction n'est demandée sur ce dossier."))
        return redirect(back_url)
    correction.dossier = dossier
    status = 200
    if request.method == "POST":
        form = processing.correction_form(correction, data=request.POST, files=request.FILES,
                                          user=request.user, show_answers=show_answers)
        action = request.POST.get("action", "send")
        try:
            if action == "draft":
                form.is_valid()
                processing.save_correction_draft(
                    actor=request.user, correction=correction, form=form,
                    lock_version=request.POST.get("lock_version"), request=request)
                messages.success(request, _("Votre brouillon de corrections est enregistré."))
                return redirect(action_url)
            processing.answer_correction(actor=request.user, correction=correction, form=form,
                                         lock_version=request.POST.get("lock_version"),
                                         request=request)
        except StaleDossier as exc:
            form.add_error(None, str(exc))
            dossier = exc.dossier
            status = 409
        except processing.ProcessingRefused as exc:
            if exc.code != "invalid":
                form.add_error(None, " ".join(exc.messages))
        except ValidationError as exc:  # a refused file
            for message in exc.messages:
                form.add_error(None, message)
        else:
            messages.success(request, _("Vos corrections sont envoyées au service. Merci."))
            return redirect(back_url)
    else:
        form = processing.correction_form(correction, user=request.user,
                                          show_answers=show_answers)
    return render(request, "procedures/correction.html", {
        "dossier": dossier, "definition": dossier.version.definition,
        "correction": correction, "form": form, "back_url": back_url,
        "action_url": action_url,
        "locked_answers": processing.locked_answers(correction) if show_answers else [],
        "multipart": any(f.get("type") == "file" for f in
                         processing.correction_page(correction)["fields"]),
    }, status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def correction(request, pk):
    dossier = _applicant_dossier(request, pk)
    return _correction_view(request, dossier,
                            back_url=reverse("procedures:dossier", args=[dossier.pk]),
                            action_url=reverse("procedures:correction", args=[dossier.pk]))


# --- Anonymous applicant: through the tracking code -----------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
def tracking_correction(request, code):
    dossier = queries.dossier_for_tracking_code(request.organisation, code)
    if dossier.applicant_id:
        # The account holder answers from their account, where they are identified.
        return redirect("procedures:correction", pk=dossier.pk)
    return _correction_view(request, dossier,
                            back_url=reverse("procedures:tracking", args=[code]),
                            action_url=reverse("procedures:tracking-correction", args=[code]),
                            show_answers=False)


@require_POST
def tracking_message(request, code):
    from .views import tracking_context

    dossier = queries.dossier_for_tracking_code(request.organisation, code)
    if dossier.applicant_id:
        return redirect("procedures:dossier", pk=dossier.pk)
    form = MessageForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            processing.send_applicant_message(
                actor=None, dossier=dossier, body=form.cleaned_data["body"],
                attachment=form.cleaned_data.get("attachment"), request=request)
        except ValidationError as exc:
            form.add_error("attachment" if form.cleaned_data.get("attachment") else "body",
                           exc.messages[0])
        else:
            messages.success(request, _("Votre message est envoyé."))
            return redirect(reverse("procedures:tracking", args=[code]) + "#messages")
    return render(request, "procedures/tracking.html",
                  tracking_context(request, dossier, message_form=form))


@require_safe
def tracking_file(request, code, file_pk):
    """A file of the message thread for whoever holds the tracking code (the code is the
    secret, as for the tracking page); never the files filed with the answers (0313)."""
    dossier = queries.dossier_for_tracking_code(request.organisation, code)
    if not DossierMessage.objects.filter(dossier=dossier, attachment_id=file_pk).exists():
        raise Http404
    stored = get_object_or_404(StoredFile, pk=file_pk, organisation=request.organisation)
    record_download(actor=request.user if request.user.is_authenticated else None,
                    stored_file=stored, request=request)
    return file_response(stored, inline=request.GET.get("apercu") == "1")
