"""The workflow editor in the agents' workspace (`/agent/circuits/`): administrators and
directors list, create, read and change the organisation's processing workflows, one item per
page, without JavaScript.

Thin views: who may edit is `rules.may_edit_workflows` (anyone else: 403), the workflow is read
through `queries.workflow_for_editor` (another organisation's: 404), every write is a function
of `workflows_admin` (validated, concurrency-checked, audited).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from mairie.core.web.views import agent_required

from . import queries, workflows_admin
from .forms_workflows import (
    CreateWorkflowForm,
    DeleteForm,
    DocumentForm,
    MoveForm,
    RenameForm,
    RequiredFieldFormSet,
    RoleFormSet,
    StateForm,
    TransitionForm,
    VersionForm,
)
from .models import Workflow
from .rules import may_edit_workflows
from .workflows_admin import StaleWorkflow, from_states

STALE_MESSAGE = gettext_lazy(
    "Quelqu'un a modifié ce circuit pendant que vous l'éditiez : rien n'a été enregistré. Vos "
    "saisies sont conservées ci-dessous ; vérifiez le circuit tel qu'il est maintenant (lien "
    "« Retour au circuit »), puis enregistrez à nouveau.")


def _workflow(request, pk) -> Workflow:
    if not may_edit_workflows(request.user, request.organisation):
        raise PermissionDenied
    return queries.workflow_for_editor(request.user, request.organisation, pk)


def _version(workflow: Workflow) -> dict:
    return {"version": workflow.updated_at.isoformat()}


def _fresh_data(request, stale: StaleWorkflow, prefix: str = ""):
    """The posted data with the version saved meanwhile: the next save, made knowingly, goes
    through (decision 0362)."""
    data = request.POST.copy()
    data[f"{prefix}version"] = stale.current.updated_at.isoformat()
    return data


def _refused(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


def _detail(workflow: Workflow) -> str:
    return reverse("procedures:workflow", args=[workflow.pk])


# --- Reading --------------------------------------------------------------------------------


def _who(workflow: Workflow, role: str) -> str:
    if role == "applicant":
        return _("Le demandeur")
    return workflow.role_label(role) if role else _("Personne (aucun rôle)")


def _target(workflow: Workflow, target: str) -> str:
    if target == "applicant":
        return _("le demandeur")
    if target == "assignee":
        return _("l'agent chargé du dossier")
    if target.startswith("role:"):
        return _("les agents du rôle « %(role)s »") % {
            "role": workflow.role_label(target[5:])}
    return target


def describe_action(workflow: Workflow, action) -> str:
    """One action of a transition, as a French sentence."""
    action = {"type": action} if isinstance(action, str) else action
    kind = action.get("type")
    if kind == "notify":
        return _("Prévient %(who)s") % {"who": _target(workflow, action.get("to", "applicant"))}
    if kind == "assign":
        to = action.get("to", "")
        if to == "self":
            return _("Attribue le dossier à l'agent qui fait l'étape")
        if to == "none":
            return _("Retire l'attribution du dossier")
        return _("Attribue le dossier au service du rôle « %(role)s »") % {
            "role": workflow.role_label(to[5:] if to.startswith("role:") else to)}
    if kind == "request_correction":
        return _("Demande une correction au demandeur")
    if kind == "request_opinion":
        return _("Demande l'avis d'un service")
    if kind == "document":
        template = (workflow.documents or {}).get(action.get("template"), {})
        text = _("Produit le document « %(title)s »") % {
            "title": template.get("title") or action.get("template")}
        if not action.get("visible_to_applicant", True):
            text += _(" (réservé aux agents)")
        return text
    if kind == "deadline":
        if action.get("clear"):
            return _("Supprime l'échéance")
        return _("Fixe l'échéance à %(days)s jours") % {"days": action.get("days")}
    return _("Action « %(kind)s »") % {"kind": kind}


def _describe_fields(fields) -> list[str]:
    described = []
    for field in fields or []:
        if field == "motivation":
            described.append(_("Motivation (obligatoire)"))
        elif field == "comment":
            described.append(_("Commentaire (facultatif)"))
        elif isinstance(field, str):
            described.append(_("%(label)s (obligatoire)") % {"label": field})
        else:
            described.append(_("%(label)s (%(required)s)") % {
                "label": field.get("label") or field.get("key"),
                "required": _("obligatoire") if field.get("required", True)
                else _("facultatif")})
    return described


def overview(workflow: Workflow, counts: dict[str, int] | None = None) -> list[dict]:
    """The states in order, each with its outgoing transitions described in French."""
    rows = []
    for state in workflow.states:
        key = state.get("key")
        outgoing = []
        for transition in workflow.transitions:
            if key not in from_states(transition):
                continue
            outgoing.append({
                "key": transition.get("key"), "label": transition.get("label") or
                transition.get("key"),
                "to": workflow.state_label(transition.get("to", "")),
                "who": _who(workflow, transition.get("role", "")),
                "guard": transition.get("guard", ""),
                "guard_message": transition.get("guard_message", ""),
                "fields": _describe_fields(transition.get("required_fields")),
                "validation": {"approve": _("approbation"), "reject": _("renvoi")}.get(
                    transition.get("validation", ""), ""),
                "signature": bool(transition.get("signature")),
                "actions": [describe_action(workflow, a) for a in
                            transition.get("actions") or []],
            })
        rows.append({"state": state, "kind": Workflow.Kind(state["kind"]).label
                     if state.get("kind") in Workflow.Kind.values else state.get("kind"),
                     "dossiers": (counts or {}).get(key, 0), "outgoing": outgoing})
    return rows


@agent_required
@require_http_methods(["GET", "POST"])
def workflow_list(request):
    if not may_edit_workflows(request.user, request.organisation):
        raise PermissionDenied
    workflows = list(queries.workflows_for_editor(request.user, request.organisation))
    form = CreateWorkflowForm(request.POST or None, workflows=workflows)
    if request.method == "POST" and form.is_valid():
        try:
            workflow = workflows_admin.create_workflow(
                actor=request.user, organisation=request.organisation,
                name=form.cleaned_data["name"], source=form.cleaned_data["source"],
                request=request)
        except ValidationError as error:
            _refused(form, error)
        else:
            messages.success(request, _("Le circuit « %(name)s » a été créé.")
                             % {"name": workflow.name})
            return redirect(_detail(workflow))
    used = queries.procedures_using_workflows(request.organisation, [w.pk for w in workflows])
    rows = [{"workflow": w, "procedures": used.get(w.pk, [])} for w in workflows]
    return render(request, "procedures/workflows/list.html", {"rows": rows, "form": form})


@agent_required
@require_safe
def workflow_detail(request, pk):
    workflow = _workflow(request, pk)
    counts = queries.dossiers_by_state(workflow)
    return render(request, "procedures/workflows/detail.html", {
        "workflow": workflow, "rows": overview(workflow, counts),
        "roles": [(key, workflow.role_label(key)) for key in workflow.role_keys()],
        "documents": sorted((workflow.documents or {}).items()),
        "procedures": queries.procedures_using_workflows(
            request.organisation, [workflow.pk]).get(workflow.pk, []),
        "version": workflow.updated_at.isoformat(),
    })


@agent_required
@require_http_methods(["GET", "POST"])
def workflow_rename(request, pk):
    workflow = _workflow(request, pk)
    form = RenameForm(request.POST or None, initial={"name": workflow.name, **_version(workflow)})
    if request.method == "POST" and form.is_valid():
        try:
            workflows_admin.rename_workflow(actor=request.user, workflow=workflow,
                                            name=form.cleaned_data["name"],
                                            expected_version=form.cleaned_data["version"],
                                            request=request)
        except StaleWorkflow as stale:
            form = RenameForm(_fresh_data(request, stale))
            form.is_valid()
            form.add_error(None, STALE_MESSAGE)
        except ValidationError as error:
            _refused(form, error)
        else:
            messages.success(request, _("Le circuit a été renommé."))
            return redirect(_detail(workflow))
    return render(request, "procedures/workflows/rename.html",
                  {"workflow": workflow, "form": form})


@agent_required
@require_http_methods(["GET", "POST"])
def workflow_roles(request, pk):
    workflow = _workflow(request, pk)
    initial = [{"key": key, "label": workflow.role_label(key)} for key in workflow.role_keys()]
    version = VersionForm(request.POST or None, initial=_version(workflow))
    formset = RoleFormSet(request.POST or None, initial=initial, prefix="roles")
    if request.method == "POST" and version.is_valid() and formset.is_valid():
        try:
            workflows_admin.save_roles(actor=request.user, workflow=workflow,
                                       roles=formset.to_roles(),
                                       expected_version=version.cleaned_data["version"],
                                       request=request)
        except StaleWorkflow as stale:
            version = VersionForm(_fresh_data(request, stale))
            version.is_valid()
            version.add_error(None, STALE_MESSAGE)
        except ValidationError as error:
            version.add_error(None, error.messages)
        else:
            messages.success(request, _("Les rôles ont été enregistrés."))
            return redirect(_detail(workflow))
    errors = list(version.non_field_errors()) + list(formset.non_form_errors())
    return render(request, "procedures/workflows/roles.html", {
        "workflow": workflow, "version_form": version, "formset": formset,
        "errors": errors})


def _find(items: list, key: str) -> dict:
    for item in items:
        if item.get("key") == key:
            return item
    raise Http404


@agent_required
@require_http_methods(["GET", "POST"])
def state_edit(request, pk, key=None):
    workflow = _workflow(request, pk)
    state = _find(workflow.states, key) if key else None
    taken = {s.get("key") for s in workflow.states} - {key}
    initial = {**(StateForm.initial_from(state) if state else {}), **_version(workflow)}
    form = StateForm(request.POST or None, initial=initial, taken_keys=taken)
    if request.method == "POST" and form.is_valid():
        try:
            workflows_admin.save_state(actor=request.user, workflow=workflow, old_key=key,
                                       state=form.to_state(),
                                       expected_version=form.cleaned_data["version"],
                                       request=request)
        except StaleWorkflow as stale:
            taken = {s.get("key") for s in stale.current.states} - {key}
            form = StateForm(_fresh_data(request, stale), taken_keys=taken)
            form.is_valid()
            form.add_error(None, STALE_MESSAGE)
        except ValidationError as error:
            _refused(form, error)
        else:
            messages.success(request, _("L'état « %(label)s » a été enregistré.")
                             % {"label": form.cleaned_data["label"]})
            return redirect(_detail(workflow) + "#etats")
    return render(request, "procedures/workflows/state_form.html",
                  {"workflow": workflow, "form": form, "state": state})


@agent_required
@require_POST
def state_move(request, pk, key):
    workflow = _workflow(request, pk)
    _find(workflow.states, key)
    form = MoveForm(request.POST)
    if form.is_valid():
        try:
            workflows_admin.move_state(
                actor=request.user, workflow=workflow, key=key,
                offset=-1 if form.cleaned_data["direction"] == "up" else 1,
                expected_version=form.cleaned_data["version"], request=request)
        except StaleWorkflow:
            messages.error(request, _("Quelqu'un a modifié ce circuit entre-temps : rien n'a "
                                      "été déplacé. Vérifiez l'ordre affiché et recommencez."))
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
    return redirect(_detail(workflow) + "#etats")


def _delete(request, workflow: Workflow, *, what: str, label: str, delete) -> object:
    form = DeleteForm(request.POST or None, initial=_version(workflow))
    if request.method == "POST" and form.is_valid():
        try:
            delete(expected_version=form.cleaned_data["version"])
        except StaleWorkflow as stale:
            form = DeleteForm(_fresh_data(request, stale))
            form.is_valid()
            form.add_error(None, STALE_MESSAGE)
        except ValidationError as error:
            form.add_error(None, error.messages)
        else:
            messages.success(request, _("« %(label)s » a été supprimé du circuit.")
                             % {"label": label})
            return redirect(_detail(workflow))
    return render(request, "procedures/workflows/confirm_delete.html",
                  {"workflow": workflow, "form": form, "what": what, "label": label})


@agent_required
@require_http_methods(["GET", "POST"])
def state_delete(request, pk, key):
    workflow = _workflow(request, pk)
    state = _find(workflow.states, key)
    return _delete(request, workflow, what=_("l'état"), label=state.get("label") or key,
                   delete=lambda expected_version: workflows_admin.delete_state(
                       actor=request.user, workflow=workflow, key=key,
                       expected_version=expected_version, request=request))


@agent_required
@require_http_methods(["GET", "POST"])
def transition_edit(request, pk, key=None):
    workflow = _workflow(request, pk)
    original = _find(workflow.transitions, key) if key else None
    initial, custom = TransitionForm.initial_from(original) if original else (
        {"document_visible": True, "role": (workflow.role_keys() or [""])[0]}, [])
    form = TransitionForm(request.POST or None, initial={**initial, **_version(workflow)},
                          workflow=workflow, original=original)
    fields = RequiredFieldFormSet(request.POST or None, initial=custom, prefix="champs")
    if request.method == "POST" and form.is_valid() and fields.is_valid():
        try:
            workflows_admin.save_transition(
                actor=request.user, workflow=workflow, old_key=key,
                transition=form.to_transition(fields.to_fields()),
                expected_version=form.cleaned_data["version"], request=request)
        except StaleWorkflow as stale:
            form = TransitionForm(_fresh_data(request, stale), workflow=stale.current,
                                  original=original)
            form.is_valid()
            form.add_error(None, STALE_MESSAGE)
        except ValidationError as error:
            _refused(form, error)
        else:
            messages.success(request, _("La transition « %(label)s » a été enregistrée.")
                             % {"label": form.cleaned_data["label"]})
            return redirect(_detail(workflow) + "#transitions")
    return render(request, "procedures/workflows/transition_form.html", {
        "workflow": workflow, "form": form, "fields_formset": fields, "transition": original,
        "errors": [*form.non_field_errors(), *fields.non_form_errors()]})


@agent_required
@require_http_methods(["GET", "POST"])
def transition_delete(request, pk, key):
    workflow = _workflow(request, pk)
    transition = _find(workflow.transitions, key)
    return _delete(request, workflow, what=_("la transition"),
                   label=transition.get("label") or key,
                   delete=lambda expected_version: workflows_admin.delete_transition(
                       actor=request.user, workflow=workflow, key=key,
                       expected_version=expected_version, request=request))


@agent_required
@require_http_methods(["GET", "POST"])
def document_edit(request, pk, key=None):
    workflow = _workflow(request, pk)
    documents = workflow.documents or {}
    if key and key not in documents:
        raise Http404
    initial = {"key": key, **documents[key]} if key else {}
    form = DocumentForm(request.POST or None, initial={**initial, **_version(workflow)},
                        taken_keys=set(documents) - {key})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            workflows_admin.save_document(actor=request.user, workflow=workflow, old_key=key,
                                          key=data["key"], title=data["title"],
                                          body=data["body"],
                                          expected_version=data["version"], request=request)
        except StaleWorkflow as stale:
            form = DocumentForm(_fresh_data(request, stale),
                                taken_keys=set(stale.current.documents or {}) - {key})
            form.is_valid()
            form.add_error(None, STALE_MESSAGE)
        except ValidationError as error:
            _refused(form, error)
        else:
            messages.success(request, _("Le modèle « %(title)s » a été enregistré.")
                             % {"title": data["title"]})
            return redirect(_detail(workflow) + "#documents")
    return render(request, "procedures/workflows/document_form.html", {
        "workflow": workflow, "form": form, "key": key,
        "placeholders": workflows_admin.PLACEHOLDERS})


@agent_required
@require_http_methods(["GET", "POST"])
def document_delete(request, pk, key):
    workflow = _workflow(request, pk)
    documents = workflow.documents or {}
    if key not in documents:
        raise Http404
    return _delete(request, workflow, what=_("le modèle de document"),
                   label=documents[key].get("title") or key,
                   delete=lambda expected_version: workflows_admin.delete_document(
                       actor=request.user, workflow=workflow, key=key,
                       expected_version=expected_version, request=request))


# Included by urls.py under "agent/circuits/".
urlpatterns = [
    path("", workflow_list, name="workflows"),
    path("<uuid:pk>/", workflow_detail, name="workflow"),
    path("<uuid:pk>/nom/", workflow_rename, name="workflow-rename"),
    path("<uuid:pk>/roles/", workflow_roles, name="workflow-roles"),
    path("<uuid:pk>/etats/ajouter/", state_edit, name="workflow-state-add"),
    path("<uuid:pk>/etats/<slug:key>/", state_edit, name="workflow-state"),
    path("<uuid:pk>/etats/<slug:key>/deplacer/", state_move, name="workflow-state-move"),
    path("<uuid:pk>/etats/<slug:key>/supprimer/", state_delete, name="workflow-state-delete"),
    path("<uuid:pk>/transitions/ajouter/", transition_edit, name="workflow-transition-add"),
    path("<uuid:pk>/transitions/<slug:key>/", transition_edit, name="workflow-transition"),
    path("<uuid:pk>/transitions/<slug:key>/supprimer/", transition_delete,
         name="workflow-transition-delete"),
    path("<uuid:pk>/documents/ajouter/", document_edit, name="workflow-document-add"),
    path("<uuid:pk>/documents/<slug:key>/", document_edit, name="workflow-document"),
    path("<uuid:pk>/documents/<slug:key>/supprimer/", document_delete,
         name="workflow-document-delete"),
]
