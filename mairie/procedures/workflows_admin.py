"""Writes of the workflow editor (agents' workspace, `views_workflows.py`): creating, renaming
and changing a processing workflow, one item (state, transition, role list, document template)
at a time.

Every change goes through `_apply`: it locks the row, refuses a stale edit (the editor saw an
older `updated_at`, decision 0362), validates the whole workflow with the engine's
`workflow.validate_workflow`, refuses to remove what dossiers or procedures still use
(decision 0361), saves, and appends one audit event. Nothing here trusts the form: a view may
pass any dict, the checks below run anyway.
"""

from __future__ import annotations

import copy
import datetime
import re
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from mairie.core.audit.services import record_event

from .models import Dossier, Workflow, WorkflowRoleMapping
from .rules import may_edit_workflows

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
# The placeholders of document templates (design: restricted substitution, not Django's
# template language), with what they become; shown next to the body's textarea.
PLACEHOLDERS: list[tuple[str, Any]] = [
    ("dossier.number", gettext_lazy("Numéro du dossier")),
    ("dossier.submitted_at", gettext_lazy("Date de dépôt")),
    ("procedure.title", gettext_lazy("Titre de la démarche")),
    ("applicant.name", gettext_lazy("Nom du demandeur")),
    ("organisation.name", gettext_lazy("Nom de la collectivité")),
    ("today", gettext_lazy("Date du jour")),
    ("state", gettext_lazy("État du dossier")),
    ("data.<clé du champ>", gettext_lazy("Réponse du demandeur à ce champ")),
    ("decision.<clé>", gettext_lazy("Ce que l'agent a saisi à une étape (motivation…)")),
]


class StaleWorkflow(Exception):
    """Someone saved the workflow after the editor loaded it: nothing was written."""

    def __init__(self, current: Workflow) -> None:
        super().__init__("stale workflow")
        self.current = current


# --- Pure helpers (no database) ------------------------------------------------------------


def role_keys(roles: list) -> list[str]:
    return [role.get("key", "") if isinstance(role, dict) else role for role in roles]


def from_states(transition: dict) -> list[str]:
    value = transition.get("from")
    if isinstance(value, list):
        return [str(v) for v in value]
    return [value] if value else []


def validation_messages(*, states: list, transitions: list, roles: list,
                        documents: dict) -> list[str]:
    """French messages on the whole workflow (the engine's check); empty when it may be
    saved."""
    from .workflow import validate_workflow

    return [str(message) for message in validate_workflow(
        states=states, transitions=transitions, roles=roles, documents=documents)]


def blank_parts() -> dict[str, Any]:
    """A new workflow: a draft and a submitted state, one role, nothing else."""
    return {
        "states": [{"key": "brouillon", "label": str(_("Brouillon")), "kind": "draft"},
                   {"key": "depose", "label": str(_("Déposé")), "kind": "submitted",
                    "public_label": str(_("Déposé, en attente de traitement"))}],
        "roles": [{"key": "instructeur", "label": str(_("Instructeur"))}],
        "transitions": [],
        "documents": {},
    }


# --- Database ------------------------------------------------------------------------------


def _check_actor(actor, organisation) -> None:
    if not may_edit_workflows(actor, organisation):
        raise PermissionDenied(_("Seuls les administrateurs et la direction modifient les "
                                 "circuits de traitement."))


def _locked(workflow: Workflow, expected_version: datetime.datetime | None) -> Workflow:
    current = Workflow.objects.select_for_update().get(pk=workflow.pk,
                                                       organisation=workflow.organisation_id)
    if expected_version is not None and current.updated_at != expected_version:
        raise StaleWorkflow(current)
    return current


def _usage_messages(current: Workflow, *, states: list, roles: list,
                    renamed_states: dict[str, str]) -> list[str]:
    """Refusals for removing (or renaming) a state dossiers are in, or a role some procedure
    maps to a service."""
    messages: list[str] = []
    kept = {state.get("key") for state in states} - set(renamed_states)
    gone = [state.get("key") for state in current.states if state.get("key") not in kept]
    if gone:
        counts = _state_counts(current, gone)
        for key in gone:
            count = counts.get(key, 0)
            if count:
                messages.append(ngettext(
                    "L'état « %(label)s » ne peut pas être supprimé ni changer de clé : "
                    "%(count)s dossier s'y trouve. Faites-le d'abord passer dans un autre état.",
                    "L'état « %(label)s » ne peut pas être supprimé ni changer de clé : "
                    "%(count)s dossiers s'y trouvent. Faites-les d'abord passer dans un autre "
                    "état.", count) % {"label": current.state_label(key), "count": count})
    gone_roles = set(current.role_keys()) - set(role_keys(roles))
    if gone_roles:
        mapped = (WorkflowRoleMapping.objects
                  .filter(organisation=current.organisation_id, role__in=gone_roles,
                          definition__versions__workflow=current)
                  .values_list("role", "definition__title").order_by("role").distinct())
        for role, title in mapped:
            messages.append(_("Le rôle « %(role)s » est attribué à un service dans la démarche "
                              "« %(title)s » : retirez d'abord cette attribution.")
                            % {"role": current.role_label(role), "title": title})
    return messages


def _state_counts(workflow: Workflow, keys: list[str]) -> dict[str, int]:
    from django.db.models import Count

    return dict(Dossier.objects.filter(organisation=workflow.organisation_id,
                                       version__workflow=workflow, state__in=keys)
                .order_by().values("state").annotate(n=Count("pk")).values_list("state", "n"))


@transaction.atomic
def _apply(*, actor, workflow: Workflow, expected_version: datetime.datetime | None,
           change: str, key: str = "", states: list | None = None,
           transitions: list | None = None, roles: list | None = None,
           documents: dict | None = None, renamed_states: dict[str, str] | None = None,
           details: dict | None = None, request: HttpRequest | None = None) -> Workflow:
    _check_actor(actor, workflow.organisation)
    current = _locked(workflow, expected_version)
    new = {
        "states": copy.deepcopy(current.states if states is None else states),
        "transitions": copy.deepcopy(current.transitions if transitions is None else transitions),
        "roles": copy.deepcopy(current.roles if roles is None else roles),
        "documents": copy.deepcopy(current.documents if documents is None else documents),
    }
    messages = validation_messages(**new)
    messages += _usage_messages(current, states=new["states"], roles=new["roles"],
                                renamed_states=renamed_states or {})
    if messages:
        raise ValidationError(messages)
    changed = [name for name, value in new.items() if getattr(current, name) != value]
    if not changed:
        return current
    for name in changed:
        setattr(current, name, new[name])
    current.save(update_fields=[*changed, "updated_at"])
    record_event(organisation=current.organisation, action="procedures.workflow_changed",
                 actor=actor, obj=current, request=request,
                 details={"change": change, "key": key, "parts": changed, **(details or {})})
    return current


@transaction.atomic
def create_workflow(*, actor, organisation, name: str, source: Workflow | None = None,
                    request: HttpRequest | None = None) -> Workflow:
    """A new workflow named `name`: a copy of `source` (same organisation) or a blank one."""
    _check_actor(actor, organisation)
    if source is not None and source.organisation_id != organisation.pk:
        raise PermissionDenied
    parts = blank_parts() if source is None else {
        "states": copy.deepcopy(source.states), "roles": copy.deepcopy(source.roles),
        "transitions": copy.deepcopy(source.transitions),
        "documents": copy.deepcopy(source.documents)}
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Donnez un nom au circuit.")})
    workflow = Workflow.objects.create(organisation=organisation, name=name, **parts)
    record_event(organisation=organisation, action="procedures.workflow_created", actor=actor,
                 obj=workflow, request=request,
                 details={"source": str(source.pk) if source else ""})
    return workflow


@transaction.atomic
def rename_workflow(*, actor, workflow: Workflow, name: str,
                    expected_version: datetime.datetime | None,
                    request: HttpRequest | None = None) -> Workflow:
    _check_actor(actor, workflow.organisation)
    current = _locked(workflow, expected_version)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Donnez un nom au circuit.")})
    if name == current.name:
        return current
    before = current.name
    current.name = name
    current.save(update_fields=["name", "updated_at"])
    record_event(organisation=current.organisation, action="procedures.workflow_renamed",
                 actor=actor, obj=current, request=request,
                 details={"before": before, "after": name})
    return current


def save_state(*, actor, workflow: Workflow, old_key: str | None, state: dict,
               expected_version, request: HttpRequest | None = None) -> Workflow:
    """Add a state (`old_key` None) or change one; a new key is carried into transitions."""
    states = copy.deepcopy(workflow.states)
    transitions = copy.deepcopy(workflow.transitions)
    renamed: dict[str, str] = {}
    if old_key is None:
        states.append(state)
    else:
        index = _index(states, old_key)
        states[index] = {**states[index], **state}
        for name in ("public_label", "deadline_days"):
            if not state.get(name):
                states[index].pop(name, None)
        if state["key"] != old_key:
            renamed[old_key] = state["key"]
            transitions = [_rename_state(t, old_key, state["key"]) for t in transitions]
    return _apply(actor=actor, workflow=workflow, expected_version=expected_version,
                  change="state_added" if old_key is None else "state_changed",
                  key=state["key"], states=states, transitions=transitions,
                  renamed_states=renamed, details={"state": state}, request=request)


def delete_state(*, actor, workflow: Workflow, key: str, expected_version,
                 request: HttpRequest | None = None) -> Workflow:
    states = [state for state in workflow.states if state.get("key") != key]
    return _apply(actor=actor, workflow=workflow, expected_version=expected_version,
                  change="state_deleted", key=key, states=states, request=request)


def move_state(*, actor, workflow: Workflow, key: str, offset: int, expected_version,
               request: HttpRequest | None = None) -> Workflow:
    """Move a state up (-1) or down (+1) in the order the readable view shows."""
    states = copy.deepcopy(workflow.states)
    index = _index(states, key)
    target = max(0, min(len(states) - 1, index + offset))
    states.insert(target, states.pop(index))
    return _apply(actor=actor, workflow=workflow, expected_version=expected_version,
                  change="state_moved", key=key, states=states, request=request)


def save_transition(*, actor, workflow: Workflow, old_key: str | None, transition: dict,
                    expected_version, request: HttpRequest | None = None) -> Workflow:
    transitions = copy.deepcopy(workflow.transitions)
    if old_key is None:
        transitions.append(transition)
    else:
        transitions[_index(transitions, old_key)] = transition
    return _apply(actor=actor, workflow=workflow, expected_version=expected_version,
                  change="transition_added" if old_key is None else "transition_changed",
                  key=transition["key"], transitions=transitions,
                  details={"transition": transition}, request=request)


def delete_transition(*, actor, workflow: Workflow, key: str, expected_version,
                      request: HttpRequest | None = None) -> Workflow:
    transitions = [t for t in workflow.transitions if t.get("key") != key]
    return _apply(actor=actor, workflow=workflow, expected_version=expected_version,
                  change="transition_deleted", key=key, transitions=transitions,
                  request=request)


def save_roles(*, actor, workflow: Workflow, roles: list, expected_version,
               request: HttpRequest | None = None) -> Workflow:
    """Replace the role list (entries {"key", "label"}, decision 0360)."""
    return _apply(actor=actor, workflow=workflow, expected_version=expected_version,
                  change="roles_changed", roles=roles, details={"roles": roles},
                  request=request)


def save_document(*, actor, workflow: Workflow, old_key: str | None, key: str, title: str,
                  body: str, expected_version, request: HttpRequest | None = None) -> Workflow:
    documents: dict = {}
    for existing, template in (workflow.documents or {}).items():
        documents[key if existing == old_key else existing] = template
    documents[key] = {"title": title, "body": body}
    transitions = copy.deepcopy(workflow.transitions)
    if old_key is not None and key != old_key:
        for transition in transitions:
            for action in transition.get("actions") or []:
                if isinstance(action, dict) and action.get("template") == old_key:
                    action["template"] = key
    return _apply(actor=actor, workflow=workflow, expected_version=expected_version,
                  change="document_added" if old_key is None else "document_changed",
                  key=key, documents=documents, transitions=transitions, request=request)


def delete_document(*, actor, workflow: Workflow, key: str, expected_version,
                    request: HttpRequest | None = None) -> Workflow:
    users = [t.get("label") or t.get("key") for t in workflow.transitions
             if any(isinstance(a, dict) and a.get("type") == "document"
                    and a.get("template") == key for a in t.get("actions") or [])]
    if users:
        raise ValidationError(_("Ce modèle est produit par les transitions %(names)s : "
                                "retirez-le d'abord de ces transitions.")
                              % {"names": ", ".join(f"« {name} »" for name in users)})
    documents = {k: v for k, v in (workflow.documents or {}).items() if k != key}
    return _apply(actor=actor, workflow=workflow, expected_version=expected_version,
                  change="document_deleted", key=key, documents=documents, request=request)


def _index(items: list, key: str) -> int:
    for index, item in enumerate(items):
        if item.get("key") == key:
            return index
    raise ValidationError(_("« %(key)s » n'existe plus dans ce circuit.") % {"key": key})


def _rename_state(transition: dict, old: str, new: str) -> dict:
    transition = copy.deepcopy(transition)
    value = transition.get("from")
    if isinstance(value, list):
        transition["from"] = [new if v == old else v for v in value]
    elif value == old:
        transition["from"] = new
    for name in ("to", "return_to"):
        if transition.get(name) == old:
            transition[name] = new
    return transition
