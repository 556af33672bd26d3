"""Taking a workflow transition (agents and applicants) and downloading generated documents.

Thin views over `workflow.py`: the dossier is always fetched through `queries.py` (someone
else's dossier is a 404), the transition is applied by `workflow.apply_transition`, which
checks the role, the guard, the required fields and the lock version again. A transition
without anything to type is a plain POST button on the dossier page; one that asks for
something (motivation, fields to correct, service to consult…) has its own page, where errors
keep whatever was typed. Every download of a generated document is audited.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from mairie.core.audit.services import record_event
from mairie.core.files.delivery import file_response
from mairie.core.web.views import agent_required

from . import queries, workflow
from .models import Dossier, DossierDocument
from .services import StaleDossier


def _stale_message() -> str:
    return _("Ce dossier a été modifié par un autre agent depuis l'affichage de la page : "
             "rien n'a été appliqué. Voici son état actuel ; vérifiez-le avant de "
             "recommencer.")


def _transition_or_404(dossier: Dossier, key: str) -> dict:
    transition = workflow.find_transition(dossier.version.workflow, key)
    if transition is None:
        raise Http404
    return transition


def _available(user, dossier: Dossier, key: str, *, roles=None):
    return next((a for a in workflow.transitions_for(user, dossier, roles=roles)
                 if a.key == key), None)


def _page(request, template: str, dossier: Dossier, transition: dict, form, *,
          available=None, error: str = "", status: int = 200):
    return render(request, template, {
        "dossier": dossier, "definition": dossier.version.definition,
        "transition": transition, "form": form, "available": available, "error": error,
        "public_state": workflow.public_state_label(dossier.version.workflow, dossier.state),
    }, status=status)


def _take(request, dossier: Dossier, key: str, *, template: str, back: str, stale: str,
          roles=None):
    """GET: the transition's page. POST: apply it; on success go `back` with a message."""
    transition = _transition_or_404(dossier, key)
    available = _available(request.user, dossier, key, roles=roles)
    if request.method != "POST":
        if available is None:
            messages.error(request, _("Cette étape n'est pas possible pour ce dossier "
                                      "maintenant."))
            return redirect(back)
        form = workflow.transition_form(transition, dossier)
        return _page(request, template, dossier, transition, form, available=available)
    try:
        workflow.apply_transition(actor=request.user, dossier=dossier, key=key,
                                  values=request.POST,
                                  lock_version=request.POST.get("lock_version"),
                                  request=request)
    except StaleDossier as exc:
        fresh = exc.dossier
        still = _available(request.user, fresh, key, roles=roles)
        if workflow.needs_form(transition) and still is not None:
            form = workflow.transition_form(transition, fresh, data=request.POST)
            form.is_valid()
            return _page(request, template, fresh, transition, form, available=still,
                         error=stale)
        messages.error(request, stale)
        return redirect(back)
    except workflow.TransitionRefused as exc:
        if exc.form is not None:
            return _page(request, template, dossier, transition, exc.form,
                         available=available)
        if workflow.needs_form(transition):
            form = workflow.transition_form(transition, dossier, data=request.POST)
            form.is_valid()
            return _page(request, template, dossier, transition, form, available=available,
                         error=" ".join(exc.messages))
        messages.error(request, " ".join(exc.messages))
        return redirect(back)
    messages.success(request, _("« %(label)s » : c'est fait.")
                     % {"label": transition.get("label") or key})
    return redirect(back)


@agent_required
@require_http_methods(["GET", "HEAD", "POST"])
def agent_transition(request, pk, key):
    dossier = queries.dossier_for_agent(request.user, request.organisation, pk)
    transition = _transition_or_404(dossier, key)
    if transition.get("role") == workflow.APPLICANT:
        raise Http404
    back = reverse("procedures:agent-dossier", args=[dossier.pk])
    return _take(request, dossier, key, template="procedures/agent/transition.html", back=back,
                 stale=_stale_message())


def _applicant_page(dossier: Dossier) -> str:
    try:
        return reverse("procedures:dossier", args=[dossier.pk])
    except NoReverseMatch:
        return reverse("procedures:my-dossiers")


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def applicant_transition(request, pk, key):
    dossier = queries.dossier_for_applicant(request.user, request.organisation, pk)
    if dossier.submitted_at is None or dossier.applicant_id != request.user.pk:
        raise Http404
    transition = _transition_or_404(dossier, key)
    if transition.get("role") != workflow.APPLICANT:
        raise Http404
    return _take(request, dossier, key, template="procedures/applicant_transition.html",
                 back=_applicant_page(dossier), roles={workflow.APPLICANT},
                 stale=_("Votre dossier a été modifié depuis l'affichage de la page : rien "
                         "n'a été appliqué. Vérifiez son état avant de recommencer."))


# --- Generated documents --------------------------------------------------------------------

def _deliver(request, document: DossierDocument, *, via: str):
    record_event(organisation=document.organisation, action="procedures.document_read",
                 actor=request.user if request.user.is_authenticated else None,
                 obj=document.dossier, object_label=document.dossier.number, request=request,
                 details={"document": str(document.pk), "title": document.title, "via": via})
    return file_response(document.stored_file)


@require_safe
def document(request, pk):
    """A generated document, for an agent who may open its dossier or for its signed-in
    applicant when it is visible to them; anyone else gets a 404 (anonymous visitors the login
    page), whether the document exists or not."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    found = (DossierDocument.objects.filter(organisation=request.organisation, pk=pk)
             .select_related("dossier", "stored_file").first())
    if found is None:
        raise Http404
    if found.dossier.applicant_id == request.user.pk and found.visible_to_applicant:
        return _deliver(request, found, via="applicant")
    try:
        queries.dossier_for_agent(request.user, request.organisation, found.dossier_id)
    except Http404:
        raise Http404 from None
    return _deliver(request, found, via="agent")


@require_safe
def tracked_document(request, code, pk):
    """A document visible to the applicant, through the tracking link of the dossier (the
    anonymous applicant's only key)."""
    dossier = queries.dossier_for_tracking_code(request.organisation, code)
    found = (DossierDocument.objects.filter(dossier=dossier, pk=pk, visible_to_applicant=True)
             .select_related("dossier", "stored_file").first())
    if found is None:
        raise Http404
    return _deliver(request, found, via="tracking")

