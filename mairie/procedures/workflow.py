"""The workflow engine: which transitions an agent (or the applicant) may take on a dossier,
and taking one (guards, required fields, actions, validations, generated documents).

A workflow is JSON on `Workflow` (states, transitions, roles, documents; see
docs/procedures-workflows.md for the agents' guide). This module checks it when it is saved
(`validate_workflow`), lists the buttons a user may press (`transitions_for`), and applies
one (`apply_transition`) in one transaction: row lock, optimistic-lock check, role, guard,
required fields, state change, validation row, timeline, actions in order, audit. Anything
that leaves the server (e-mails, search index) waits for the commit.
"""

from __future__ import annotations

import datetime
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import models, transaction
from django.db.models import F, Func, Value
from django.http import HttpRequest
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from mairie.core.audit.services import record_events
from mairie.core.bulk import insert_all
from mairie.core.notifications.kinds import register_kind

from . import documents as documents_module
from . import expressions, queries
from . import schema as schema_helpers
from .models import Dossier, DossierEvent, DossierValidation, Workflow

NOTIFICATION_KIND = "procedures.dossier_update"
AGENT_NOTIFICATION_KIND = "procedures.dossier_to_process"

TRANSITION_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")
FIELD_TYPES = ("text", "textarea", "date", "number", "choice")
ACTION_TYPES = ("notify", "assign", "request_correction", "request_opinion", "document",
                "deadline")
STYLES = ("primary", "secondary", "danger")
APPLICANT = "applicant"
# Names of the inputs the engine adds for correction and opinion actions.
CORRECTION_FIELDS, CORRECTION_MESSAGE = "correction_fields", "correction_message"
OPINION_SERVICE, OPINION_QUESTION = "opinion_service", "opinion_question"


def register_notification_kinds() -> None:
    register_kind(NOTIFICATION_KIND, gettext_lazy("Avancement de vos démarches"),
                  description=gettext_lazy("Quand un de vos dossiers change d'état."),
                  for_agents=False)
    register_kind(AGENT_NOTIFICATION_KIND, gettext_lazy("Dossiers à traiter"),
                  description=gettext_lazy("Quand un dossier arrive à une étape de votre "
                                           "rôle dans un circuit de traitement."),
                  for_residents=False)


class TransitionRefused(ValidationError):
    """The transition cannot be taken now; `.form` (when the required fields are at fault)
    carries the bound form with its errors, to show again with what was typed."""

    def __init__(self, message, *, form=None) -> None:
        self.form = form
        super().__init__(message)


@dataclass
class Available:
    """A transition as a button: `allowed` False shows it disabled with `reason`."""

    transition: dict
    allowed: bool
    reason: str = ""

    @property
    def key(self) -> str:
        return self.transition["key"]

    @property
    def label(self) -> str:
        return self.transition.get("label") or self.key

    @property
    def style(self) -> str:
        return self.transition.get("style") or "primary"

    @property
    def needs_page(self) -> bool:
        """Taken on its own page: it asks for something before going on."""
        return needs_form(self.transition)


# --- Reading the JSON -----------------------------------------------------------------------

def from_states(transition: Mapping) -> list:
    origin = transition.get("from")
    return list(origin) if isinstance(origin, list) else [origin]


def action_specs(transition: Mapping) -> list[dict]:
    """The transition's actions with the shorthands expanded ("notify" → to the applicant)."""
    specs = []
    for action in transition.get("actions") or []:
        if isinstance(action, str):
            action = {"type": action}
        if isinstance(action, Mapping):
            spec = dict(action)
            if spec.get("type") == "notify":
                spec.setdefault("to", APPLICANT)
            specs.append(spec)
    return specs


def field_specs(transition: Mapping) -> list[dict]:
    """The transition's required fields as full specs ("motivation" → required textarea)."""
    specs = []
    for item in transition.get("required_fields") or []:
        if item == "motivation":
            specs.append({"key": "motivation", "label": _("Motivation"), "type": "textarea",
                          "required": True})
        elif item == "comment":
            specs.append({"key": "comment", "label": _("Commentaire"), "type": "textarea",
                          "required": False})
        elif isinstance(item, str):
            specs.append({"key": item, "label": item, "type": "text", "required": True})
        elif isinstance(item, Mapping):
            spec = {"type": "text", "required": True, **item}
            spec.setdefault("label", spec.get("key"))
            specs.append(spec)
    return specs


def action_types(transition: Mapping) -> set[str]:
    return {str(spec.get("type")) for spec in action_specs(transition)}


def needs_form(transition: Mapping) -> bool:
    return bool(field_specs(transition)) or bool(
        action_types(transition) & {"request_correction", "request_opinion"})


def find_transition(workflow: Workflow, key: str) -> dict | None:
    return next((t for t in workflow.transitions
                 if isinstance(t, dict) and t.get("key") == key), None)


def _state(workflow: Workflow, key: str) -> dict:
    return next((s for s in workflow.states if s.get("key") == key), {})


def public_state_label(workflow: Workflow, key: str) -> str:
    state = _state(workflow, key)
    return state.get("public_label") or state.get("label") or key


# --- Checking a workflow when it is saved ---------------------------------------------------

def validate_workflow(*, states: Any, transitions: Any, roles: Any,
                      documents: Any) -> list[str]:
    """Everything wrong with a workflow, as French sentences for the agent who edits it."""
    errors: list[str] = []
    if not isinstance(states, list) or not all(isinstance(s, Mapping) for s in states):
        return [_("Les états doivent être une liste d'objets {\"key\", \"label\", \"kind\"}.")]
    if not isinstance(transitions, list):
        return [_("Les transitions doivent être une liste.")]
    # A role is a name ("instructor") or {"key", "label"} (see Workflow.role_keys).
    if not isinstance(roles, list) or not all(
            (isinstance(r, str) and r) or (isinstance(r, Mapping) and r.get("key"))
            for r in roles):
        return [_("Les rôles doivent être une liste de noms.")]
    roles = [r["key"] if isinstance(r, Mapping) else r for r in roles]
    if documents is None:
        documents = {}
    if not isinstance(documents, Mapping):
        return [_("Les modèles de documents doivent être un objet {clé: {\"title\", "
                  "\"body\"}}.")]

    keys = [s.get("key") for s in states]
    kinds = {s.get("key"): s.get("kind") for s in states}
    if len(keys) != len(set(keys)) or not all(isinstance(k, str) and k for k in keys):
        errors.append(_("Chaque état doit avoir une clé unique."))
    for state in states:
        if state.get("kind") not in Workflow.Kind.values:
            errors.append(_("L'état « %(key)s » a un type inconnu « %(kind)s » (types "
                            "possibles : %(kinds)s).")
                          % {"key": state.get("key"), "kind": state.get("kind"),
                             "kinds": ", ".join(Workflow.Kind.values)})
        if not state.get("label"):
            errors.append(_("L'état « %(key)s » n'a pas de libellé.") % {"key": state.get("key")})
        days = state.get("deadline_days")
        if days is not None and (not isinstance(days, int) or isinstance(days, bool)
                                 or days <= 0):
            errors.append(_("L'état « %(key)s » : le délai (deadline_days) doit être un nombre "
                            "entier de jours positif.") % {"key": state.get("key")})
    for needed in (Workflow.Kind.DRAFT, Workflow.Kind.SUBMITTED):
        if needed not in kinds.values():
            errors.append(_("Il faut un état de type « %(kind)s ».") % {"kind": needed.label})
    if APPLICANT in roles:
        errors.append(_("« applicant » n'est pas un rôle à déclarer : il désigne toujours le "
                        "demandeur du dossier."))
    if len(roles) != len(set(roles)):
        errors.append(_("Un rôle est déclaré deux fois."))

    seen: set[str] = set()
    for index, transition in enumerate(transitions, start=1):
        if not isinstance(transition, Mapping):
            errors.append(_("La transition n° %(n)s doit être un objet.") % {"n": index})
            continue
        errors.extend(_transition_errors(transition, index, kinds, roles, documents, seen))

    for key, spec in documents.items():
        if not isinstance(spec, Mapping) or not spec.get("title"):
            errors.append(_("Le modèle de document « %(key)s » doit avoir un titre.")
                          % {"key": key})
            continue
        errors.extend(documents_module.placeholder_errors(key, spec.get("body")))
        errors.extend(e for e in documents_module.placeholder_errors(key, spec.get("title"))
                      if e not in errors)
    return errors


def _transition_errors(transition: Mapping, index: int, kinds: Mapping, roles: list,
                       documents: Mapping, seen: set[str]) -> list[str]:
    errors: list[str] = []
    key = transition.get("key")
    name = key if isinstance(key, str) and key else _("n° %(n)s") % {"n": index}

    def error(message: str, **values: Any) -> None:
        errors.append(_("La transition « %(name)s » : ") % {"name": name}
                      + message % values)

    if not isinstance(key, str) or not TRANSITION_KEY.match(key):
        error(_("la clé doit être en minuscules, chiffres, « - » ou « _ » (50 caractères au "
                "plus)."))
    elif key in seen:
        error(_("la clé est déjà utilisée par une autre transition."))
    else:
        seen.add(key)
    if not transition.get("label"):
        error(_("le libellé (texte du bouton) est obligatoire."))
    origins = from_states(transition)
    for origin in origins:
        if origin not in kinds:
            error(_("l'état de départ « %(state)s » n'existe pas."), state=origin)
        elif kinds[origin] == Workflow.Kind.FINAL and not transition.get("reopen"):
            error(_("elle part de l'état final « %(state)s » : si c'est voulu (rouvrir un "
                    "dossier décidé), ajoutez \"reopen\": true."), state=origin)
        elif kinds[origin] == Workflow.Kind.DRAFT:
            error(_("elle part d'un brouillon : seul le dépôt fait sortir un dossier de "
                    "l'état brouillon."))
    if transition.get("to") not in kinds:
        error(_("l'état d'arrivée « %(state)s » n'existe pas."), state=transition.get("to"))
    role = transition.get("role")
    if not role:
        error(_("elle doit indiquer le rôle qui peut la franchir."))
    elif role != APPLICANT and role not in roles:
        error(_("le rôle « %(role)s » n'est pas déclaré (rôles : %(roles)s, ou « applicant » "
                "pour le demandeur)."), role=role, roles=", ".join(roles) or "—")
    guard = transition.get("guard")
    if guard:
        try:
            expressions.compile_expression(guard)
        except expressions.ExpressionError as exc:
            error(_("garde incorrecte : %(error)s"), error=str(exc))
    if transition.get("validation") not in (None, "", "approve", "reject"):
        error(_("« validation » vaut « approve » ou « reject »."))
    if transition.get("signature") and transition.get("validation") != "approve":
        error(_("une signature est une validation : ajoutez \"validation\": \"approve\"."))
    if transition.get("style") not in (None, "", *STYLES):
        error(_("le style doit être %(styles)s."), styles=", ".join(STYLES))
    if transition.get("return_to") and transition["return_to"] not in kinds:
        error(_("l'état de retour « %(state)s » n'existe pas."), state=transition["return_to"])
    _field_errors(transition, error)
    _action_errors(transition, error, roles, documents)
    return errors


def _field_errors(transition: Mapping, error) -> None:
    fields = transition.get("required_fields") or []
    if not isinstance(fields, list):
        error(_("« required_fields » doit être une liste."))
        return
    keys: set[str] = set()
    for item in fields:
        if isinstance(item, Mapping):
            key, kind = item.get("key"), item.get("type", "text")
            if kind not in FIELD_TYPES:
                error(_("le champ « %(key)s » a un type inconnu « %(kind)s » (types possibles : "
                        "%(kinds)s)."), key=key, kind=kind, kinds=", ".join(FIELD_TYPES))
            if kind == "choice" and not (isinstance(item.get("choices"), list)
                                         and item["choices"]):
                error(_("le champ « %(key)s » est un choix : donnez ses « choices »."), key=key)
        elif isinstance(item, str):
            key = item
        else:
            error(_("un champ à saisir doit être un nom ou un objet {\"key\", \"label\", "
                    "\"type\"}."))
            continue
        if not isinstance(key, str) or not documents_module.KEY.match(key):
            error(_("la clé de champ « %(key)s » doit commencer par une minuscule et ne "
                    "contenir que minuscules, chiffres et « _ »."), key=key)
        elif key in keys or key in (CORRECTION_FIELDS, CORRECTION_MESSAGE, OPINION_SERVICE,
                                    OPINION_QUESTION):
            error(_("le champ « %(key)s » est en double ou réservé."), key=key)
        else:
            keys.add(key)


def _action_errors(transition: Mapping, error, roles: list, documents: Mapping) -> None:
    actions = transition.get("actions") or []
    if not isinstance(actions, list):
        error(_("« actions » doit être une liste."))
        return
    for action in actions:
        spec = {"type": action} if isinstance(action, str) else action
        if not isinstance(spec, Mapping) or spec.get("type") not in ACTION_TYPES:
            kind = spec.get("type") if isinstance(spec, Mapping) else action
            error(_("action inconnue « %(kind)s » (actions possibles : %(kinds)s)."),
                  kind=kind, kinds=", ".join(ACTION_TYPES))
            continue
        kind = spec["type"]
        target = spec.get("to")
        if kind == "notify":
            target = target or APPLICANT
            if not _target_ok(target, ("applicant", "assignee"), roles):
                error(_("notification à « %(to)s » : écrivez applicant, assignee ou "
                        "role:<un rôle déclaré>."), to=target)
        elif kind == "assign":
            if not _target_ok(target, ("self", "none"), roles):
                error(_("affectation à « %(to)s » : écrivez self, none ou role:<un rôle "
                        "déclaré>."), to=target)
        elif kind == "document":
            if spec.get("template") not in documents:
                error(_("le document « %(template)s » n'est pas un modèle du circuit (modèles : "
                        "%(known)s)."), template=spec.get("template"),
                      known=", ".join(documents) or "—")
        elif kind == "deadline":
            days = spec.get("days")
            if not spec.get("clear") and (not isinstance(days, int) or isinstance(days, bool)
                                          or days <= 0):
                error(_("un délai demande « days » (nombre entier de jours positif) ou "
                        "« clear »: true."))


def _target_ok(target: Any, plain: tuple[str, ...], roles: list) -> bool:
    if target in plain:
        return True
    return isinstance(target, str) and target.startswith("role:") and \
        target.removeprefix("role:") in roles


def check_guards_against_schema(workflow: Workflow, schema: Mapping) -> list[str]:
    """Names read by the guards and by `{{ data.<key> }}` must be fields of the form."""
    names = schema_helpers.answer_names(schema)
    errors: list[str] = []
    for transition in workflow.transitions:
        guard = transition.get("guard") if isinstance(transition, Mapping) else None
        if not guard:
            continue
        try:
            expressions.compile_expression(guard, names=names)
        except expressions.ExpressionError as exc:
            errors.append(_("Circuit « %(workflow)s », transition « %(key)s » : la garde ne "
                            "correspond pas au formulaire : %(error)s")
                          % {"workflow": workflow.name, "key": transition.get("key"),
                             "error": str(exc)})
    for name in sorted(documents_module.data_names(workflow.documents) - names):
        errors.append(_("Circuit « %(workflow)s » : un modèle de document utilise « {{ data."
                        "%(name)s }} », mais le formulaire n'a pas de champ « %(name)s ».")
                      % {"workflow": workflow.name, "name": name})
    return errors


# --- Which transitions a user may take ------------------------------------------------------

def _guard_context(dossier: Dossier) -> dict:
    return schema_helpers.effective_answers(dossier.version.schema, dossier.data or {})


def _guard_refusal(transition: Mapping, dossier: Dossier) -> str:
    guard = transition.get("guard")
    if not guard or expressions.is_true(guard, _guard_context(dossier)):
        return ""
    return transition.get("guard_message") or _(
        "Étape impossible pour ce dossier : la condition « %(guard)s » n'est pas remplie par "
        "ses réponses.") % {"guard": guard}


def transitions_for(user, dossier: Dossier, *, roles: set[str] | None = None
                    ) -> list[Available]:
    """The transitions `user` may see as buttons on `dossier` now: those leaving its state
    whose role the user plays (`queries.workflow_roles_of`; "applicant" for its applicant).
    A transition whose guard fails is listed with `allowed` False and the reason."""
    if dossier.submitted_at is None:
        return []
    if roles is None:
        roles = queries.workflow_roles_of(user, dossier)
    found = []
    for transition in dossier.version.workflow.transitions:
        if not isinstance(transition, Mapping) or dossier.state not in from_states(transition):
            continue
        if transition.get("role") not in roles:
            continue
        reason = _guard_refusal(transition, dossier)
        found.append(Available(dict(transition), allowed=not reason, reason=reason))
    return found


# --- The form of a transition ---------------------------------------------------------------

class TransitionForm(forms.Form):
    """What a transition asks before it is taken: its required fields, plus the fields to
    unlock and the message of a correction request, or the service and question of an opinion
    request."""

    def __init__(self, *args, transition: Mapping, dossier: Dossier, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.transition, self.dossier = transition, dossier
        self.specs = field_specs(transition)
        for spec in self.specs:
            self.fields[spec["key"]] = _form_field(spec)
        types = action_types(transition)
        if "request_correction" in types:
            schema = dossier.version.schema
            names = schema_helpers.answer_names(schema)
            choices = [(field["key"], field.get("label") or field["key"])
                       for _page, field in schema_helpers.iter_fields(schema)
                       if field.get("key") in names]
            self.fields[CORRECTION_FIELDS] = forms.MultipleChoiceField(
                label=_("Réponses que le demandeur pourra modifier"), choices=choices,
                widget=forms.CheckboxSelectMultiple,
                error_messages={"required": _("Cochez au moins une réponse à corriger.")})
            self.fields[CORRECTION_MESSAGE] = forms.CharField(
                label=_("Message au demandeur"), widget=forms.Textarea(attrs={"rows": 4}),
                help_text=_("Dites ce qui manque ou ce qui est à corriger."),
                error_messages={"required": _("Écrivez le message au demandeur.")})
        if "request_opinion" in types:
            from mairie.core.organisation.models import Service

            self.fields[OPINION_SERVICE] = forms.ModelChoiceField(
                label=_("Service consulté"),
                queryset=Service.objects.filter(organisation=dossier.organisation)
                .order_by("name"),
                error_messages={"required": _("Choisissez le service à consulter.")})
            self.fields[OPINION_QUESTION] = forms.CharField(
                label=_("Question posée"), widget=forms.Textarea(attrs={"rows": 4}),
                error_messages={"required": _("Écrivez la question posée au service.")})

    def processing_values(self) -> dict[str, Any]:
        """The required fields' answers, ready for JSON (`Dossier.processing_data`)."""
        values = {}
        for spec in self.specs:
            value = self.cleaned_data.get(spec["key"])
            if isinstance(value, datetime.date):
                value = value.isoformat()
            elif value is not None and not isinstance(value, str):
                value = str(value)
            values[spec["key"]] = value if value is not None else ""
        return values


def _form_field(spec: Mapping) -> forms.Field:
    kind = spec.get("type", "text")
    required = bool(spec.get("required", True))
    options: dict[str, Any] = {
        "label": spec.get("label") or spec.get("key"), "required": required,
        "help_text": spec.get("help", ""),
        "error_messages": {"required": _("« %(label)s » est obligatoire pour franchir cette "
                                         "étape.") % {"label": spec.get("label")
                                                       or spec.get("key")}},
    }
    if kind == "textarea":
        return forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), max_length=10_000,
                               **options)
    if kind == "date":
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"},
                                                      format="%Y-%m-%d"), **options)
    if kind == "number":
        return forms.DecimalField(max_digits=18, decimal_places=4, localize=True, **options)
    if kind == "choice":
        choices = [(c.get("value"), c.get("label") or c.get("value"))
                   for c in spec.get("choices") or [] if isinstance(c, Mapping)]
        return forms.ChoiceField(choices=[("", "—"), *choices], **options)
    return forms.CharField(max_length=1000, **options)


def transition_form(transition: Mapping, dossier: Dossier, data=None) -> TransitionForm:
    return TransitionForm(data, transition=transition, dossier=dossier)


# --- Taking a transition --------------------------------------------------------------------

def _authenticated(user) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def _actor_title(actor, dossier: Dossier, transition: Mapping) -> str:
    """The signatory's quality: the transition's own wording ("actor_title", e.g. « Le
    maire »), else the actor's role label in the service that plays the workflow role."""
    if transition.get("actor_title"):
        return str(transition["actor_title"])
    role = transition.get("role", "")
    label = dossier.version.workflow.role_label(role)
    if label and label != role:
        return label
    from mairie.core.organisation.models import Membership, Role

    from .models import WorkflowRoleMapping

    mapping = WorkflowRoleMapping.objects.filter(
        definition_id=dossier.version.definition_id, role=transition.get("role")).first()
    service_id = mapping.service_id if mapping else dossier.version.definition.service_id
    membership = (Membership.objects.filter(user=actor, service_id=service_id)
                  .select_related("service").first())
    if membership is None:
        return ""
    return f"{Role(membership.role).label}, {membership.service.name}"


def _state_fields(workflow: Workflow, state: str, now) -> dict[str, Any]:
    spec = _state(workflow, state)
    days = spec.get("deadline_days")
    return {
        "state": state, "state_entered_at": now,
        "deadline_at": now + datetime.timedelta(days=days) if days else None,
        "decided_at": now if spec.get("kind") == Workflow.Kind.FINAL else None,
    }


def _after_commit(dossier: Dossier) -> None:
    """Refresh what others read outside the transaction (the inbox's search text)."""
    from . import services

    update = getattr(services, "update_search_text", None)
    if update is not None:
        transaction.on_commit(lambda: update(dossier), robust=True)


@transaction.atomic
def enter_state(*, actor, dossier: Dossier, state: str, reason: str,
                request: HttpRequest | None = None,
                details: Mapping | None = None) -> Dossier:
    """Move `dossier` to `state` without a transition (e.g. reason "correction_answered" when
    the applicant answers a correction): sets the state's dates and deadline, bumps the lock
    version, writes the timeline and the audit trail."""
    if not _state(dossier.version.workflow, state):
        raise ValidationError(_("L'état « %(state)s » n'existe pas dans le circuit.")
                              % {"state": state})
    enter_states([(dossier, state)], actor=actor, reason=reason, request=request,
                 details=lambda _dossier: details or {})
    dossier.refresh_from_db()
    _after_commit(dossier)
    return dossier


class _JSONMerge(Func):
    """`column` with the keys of a JSON object set (PostgreSQL `||`, SQLite `json_patch`)."""

    output_field = models.JSONField()

    def as_sql(self, compiler, connection, **extra_context):
        column, value = self.source_expressions
        column_sql, column_params = compiler.compile(column)
        value_sql, value_params = compiler.compile(value)
        if connection.vendor == "postgresql":
            sql = f"(COALESCE({column_sql}, '{{}}'::jsonb) || ({value_sql})::jsonb)"
        else:
            sql = f"json_patch(COALESCE({column_sql}, '{{}}'), {value_sql})"
        return sql, (*column_params, *value_params)


def enter_states(entries: list[tuple[Dossier, str]], *, actor, reason: str,
                 request: HttpRequest | None = None, details=None,
                 processing=None) -> None:
    """`enter_state` for many (dossier, state) at once, in the caller's transaction: the
    states in one update per state, the timeline in one insert (webhooks with it), the audit
    in one append; `details(dossier)` adds to each event (e.g. the rule that decided), and
    `processing(dossier)` returns keys to set in its `processing_data` (one update per
    distinct value, e.g. a motivation). The states must exist in the dossiers' workflows."""
    from . import webhooks

    if not entries:
        return
    now = timezone.now()
    groups: dict[tuple, list] = {}
    events, audits = [], []
    for dossier, state in entries:
        workflow = dossier.version.workflow
        previous = dossier.state
        fields = _state_fields(workflow, state, now)
        for name, value in fields.items():
            setattr(dossier, name, value)
        dossier.lock_version += 1
        groups.setdefault(tuple(fields.items()), []).append(dossier.pk)
        extra = dict(details(dossier) if details else {})  # {"system": true, "rule": …}
        events.append(_event(dossier, "state_entered", actor, at=now, state=state,
                             reason=reason, from_state=previous,
                             label=workflow.state_label(state), **extra))
        audits.append({"action": "procedures.state_entered",
                       "actor": actor if _authenticated(actor) else None, "obj": dossier,
                       "object_label": dossier.number,
                       "details": {"from": previous, "to": state, "reason": reason, **extra}})
    # One update per new state and motivation: the state's fields and the keys merged into
    # `processing_data` together.
    merged: dict = {}
    for dossier, _target in entries:
        keys = processing(dossier) if processing is not None else {}
        if keys:
            dossier.processing_data = {**(dossier.processing_data or {}), **keys}
        merged[dossier.pk] = json.dumps(keys, sort_keys=True) if keys else ""
    for state_fields, pks in groups.items():
        by_value: dict[str, list] = {}
        for pk in pks:
            by_value.setdefault(merged[pk], []).append(pk)
        for value, value_pks in by_value.items():
            extra = {"processing_data": _JSONMerge(F("processing_data"), Value(value))
                     } if value else {}
            Dossier.objects.filter(pk__in=value_pks).update(
                **dict(state_fields), **extra, updated_at=now,
                lock_version=F("lock_version") + 1)
    insert_all(events)
    webhooks.enqueue_for_events(events)
    by_organisation: dict = {}
    for (dossier, _target), entry in zip(entries, audits, strict=True):
        by_organisation.setdefault(dossier.organisation, []).append(entry)
    for organisation, organisation_entries in by_organisation.items():
        record_events(organisation=organisation, entries=organisation_entries,
                      request=request)


@dataclass
class Move:
    """One transition about to be taken on one locked dossier (`checked_move`), written with
    others by `write_moves`."""

    dossier: Dossier
    transition: Mapping
    typed: dict
    form: Any = None
    from_state: str = ""
    actions: list = None  # type: ignore[assignment]


def _locked_for_transition(pk) -> Dossier:
    return (Dossier.objects.select_for_update(of=("self",))
            .select_related("version__definition__service", "version__workflow",
                            "organisation", "applicant", "assigned_to")
            .get(pk=pk))


def checked_move(*, actor, current: Dossier, key: str, values: Mapping | None,
                 lock_version: int) -> Move:
    """What `apply_transition` checks before writing anything, on `current` (read and locked
    by the caller, with its version, workflow and organisation). Raises
    `services.StaleDossier`, `PermissionDenied` or `TransitionRefused`."""
    from .services import StaleDossier

    if not _authenticated(actor):
        raise PermissionDenied
    if not actor.is_superuser and actor.organisation_id != current.organisation_id:
        raise PermissionDenied
    try:
        stale = current.lock_version != int(lock_version)
    except (TypeError, ValueError):
        stale = True
    if stale:
        raise StaleDossier(current)
    workflow = current.version.workflow
    transition = find_transition(workflow, key)
    if transition is None or current.submitted_at is None:
        raise TransitionRefused(_("Cette étape n'existe pas dans le circuit de ce dossier."))
    if transition.get("role") not in queries.workflow_roles_of(actor, current):
        raise PermissionDenied
    if current.state not in from_states(transition):
        raise TransitionRefused(_("« %(label)s » n'est pas possible depuis l'état « %(state)s ».")
                                % {"label": transition.get("label"),
                                   "state": workflow.state_label(current.state)})
    refusal = _guard_refusal(transition, current)
    if refusal:
        raise TransitionRefused(refusal)
    form = transition_form(transition, current, data=values or {})
    if not form.is_valid():
        raise TransitionRefused(_("Complétez les champs indiqués pour franchir cette étape."),
                                form=form)
    return Move(dossier=current, transition=transition, typed=form.processing_values(),
                form=form)


_STATE_FIELDS = ("state", "state_entered_at", "deadline_at", "decided_at")


def write_moves(moves: list[Move], *, actor, request: HttpRequest | None = None,
                system: Mapping | None = None,
                audit_extra=None) -> list[Dossier]:
    """Take every move, in the caller's transaction: the new states in one update, validation
    rows and timeline events in one insert each (their webhooks with them), then each
    transition's actions dossier by dossier, then the audit trail in one append.

    The one writer of transitions: `apply_transition` (one move), `apply_transition_as_system`
    (`system`: the rule, no actor) and batch work (`batches.py`, hundreds of moves at once;
    `audit_extra(dossier)` returns one more audit entry per dossier)."""
    from . import webhooks

    if not moves:
        return []
    now = timezone.now()
    # The transition's event comes just after its validation's in the timeline (same `at`
    # otherwise, and the timeline is ordered by it).
    after = now + datetime.timedelta(microseconds=1)
    events: list[DossierEvent] = []
    validations: list[DossierValidation] = []
    titles: dict = {}
    for move in moves:
        current, transition = move.dossier, move.transition
        workflow = current.version.workflow
        key = transition["key"]
        move.from_state, to_state = current.state, transition["to"]
        for name, value in _state_fields(workflow, to_state, now).items():
            setattr(current, name, value)
        if system is None:
            current.processing_data = {**(current.processing_data or {}), **move.typed}
        current.lock_version += 1
        current.updated_at = now
        if system is None and transition.get("validation") in ("approve", "reject"):
            comment = move.typed.get("comment") or move.typed.get("motivation") or ""
            title_key = (current.version_id, key)
            if title_key not in titles:
                titles[title_key] = _actor_title(actor, current, transition)
            validations.append(DossierValidation(
                organisation=current.organisation, dossier=current, transition=key,
                step_label=workflow.state_label(move.from_state),
                role=transition.get("role", ""), actor=actor,
                actor_name=actor.get_full_name() or actor.email, actor_title=titles[title_key],
                decision=(DossierValidation.Decision.APPROVED
                          if transition["validation"] == "approve"
                          else DossierValidation.Decision.REJECTED),
                signature=bool(transition.get("signature")), comment=comment, at=now))
            events.append(_event(current, "validation", actor, at=now, key=key,
                                 label=transition.get("label", key),
                                 decision=transition["validation"],
                                 signature=bool(transition.get("signature")),
                                 step=workflow.state_label(move.from_state)))
        values = {} if system is not None else move.typed
        events.append(_event(
            current, "transition", actor, at=after,
            public=transition.get("public", True) is not False, key=key,
            label=transition.get("label", key), values=values, **(system or {}),
            **{"from": move.from_state, "to": to_state,
               "from_label": workflow.state_label(move.from_state),
               "to_label": workflow.state_label(to_state),
               "public_label": public_state_label(workflow, to_state)}))
    # The new state's fields are the same for every dossier going to it: one update each.
    groups: dict[tuple, list] = {}
    for move in moves:
        current = move.dossier
        fields = tuple((name, getattr(current, name)) for name in _STATE_FIELDS)
        groups.setdefault(fields, []).append(current.pk)
    for fields, pks in groups.items():
        Dossier.objects.filter(pk__in=pks).update(**dict(fields), updated_at=now,
                                                  lock_version=F("lock_version") + 1)
    typed = [move.dossier for move in moves if system is None and move.typed]
    if typed:  # the values typed with the transition, merged into each dossier's own
        Dossier.objects.bulk_update(typed, ["processing_data"], batch_size=500)
    insert_all(validations)
    insert_all(events)
    webhooks.enqueue_for_events(events)  # no post_save for rows inserted together

    for move in moves:
        move.actions = []
        current, transition = move.dossier, move.transition
        for spec in action_specs(transition):
            if system is not None and spec["type"] == "assign" and spec.get("to") == "self":
                continue  # nobody to assign to
            try:
                ACTIONS[spec["type"]](actor=actor if system is None else None,
                                      dossier=current, spec=spec, transition=transition,
                                      form=move.form, from_state=move.from_state,
                                      request=request, system=system)
            except TransitionRefused:
                raise
            except ValidationError as exc:  # refused by processing (an open correction…)
                if move.form is not None:
                    move.form.add_error(None, exc.messages)
                raise TransitionRefused(" ".join(exc.messages), form=move.form) from exc
            move.actions.append(spec["type"])
            current.refresh_from_db()  # what the action changed, for the next one

    entries = []
    for move in moves:
        current, transition = move.dossier, move.transition
        details = {"transition": transition["key"], "from": move.from_state,
                   "to": transition["to"]}
        if system is None:
            details["fields"] = sorted(move.typed)
        details.update(actions=move.actions, lock_version=current.lock_version, **(system or {}))
        entries.append({"action": "procedures.transition_applied",
                        "actor": actor if system is None else None, "obj": current,
                        "object_label": current.number, "details": details})
        if audit_extra is not None:
            entries.append(audit_extra(current))
    organisation = moves[0].dossier.organisation
    record_events(organisation=organisation, entries=entries, request=request)
    if len(moves) == 1:
        _after_commit(moves[0].dossier)
    return [move.dossier for move in moves]


def _event(dossier: Dossier, kind: str, actor, *, at, public: bool = True,
           **details) -> DossierEvent:
    return DossierEvent(organisation=dossier.organisation, dossier=dossier, kind=kind,
                        actor=actor if _authenticated(actor) else None, at=at,
                        public=public, details=details)


@transaction.atomic
def apply_transition(*, actor, dossier: Dossier, key: str, values: Mapping | None,
                     lock_version: int, request: HttpRequest | None = None) -> Dossier:
    """Take the transition `key` on `dossier` as `actor`, with `values` (the posted form).

    Raises `services.StaleDossier` (another agent moved the dossier since the page was shown:
    nothing is applied), `PermissionDenied` (the actor does not play the transition's role),
    `TransitionRefused` (not possible from this state, guard false, or required fields
    missing: `.form` has the errors)."""
    if not _authenticated(actor):
        raise PermissionDenied
    move = checked_move(actor=actor, current=_locked_for_transition(dossier.pk), key=key,
                        values=values, lock_version=lock_version)
    return write_moves([move], actor=actor, request=request)[0]


# --- Taking a transition as the system (automation.py, issue 4) ----------------------------
# No actor and no role check: an automatic rule decided. Guards still apply, and so do the
# actions except those that need a person (typed fields, correction or opinion requests,
# "assign to self"), which automation refuses when the rule is saved (`system_refusal`).

def system_refusal(transition: Mapping) -> str:
    """Why the system cannot take `transition` by itself ("" when it can)."""
    if any(spec.get("required") for spec in field_specs(transition)):
        return _("elle demande une saisie à l'agent (champ obligatoire).")
    if action_types(transition) & {"request_correction", "request_opinion"}:
        return _("elle demande une correction ou un avis, que seul un agent peut rédiger.")
    if transition.get("validation") or transition.get("signature"):
        return _("c'est une validation ou une signature, qui revient à une personne.")
    return ""


@transaction.atomic
def apply_transition_as_system(*, dossier: Dossier, key: str, rule_label: str,
                               request: HttpRequest | None = None) -> Dossier:
    """Take the transition `key` on `dossier` for the automatic rule `rule_label`: timeline and
    audit by "the system" (actor None, details {"system": true, "rule": …}). Raises
    `TransitionRefused` when the dossier is not in a state the transition leaves, its guard is
    false, or the transition needs a person."""
    current = _locked_for_transition(dossier.pk)
    workflow = current.version.workflow
    transition = find_transition(workflow, key)
    if transition is None or current.submitted_at is None:
        raise TransitionRefused(_("Cette étape n'existe pas dans le circuit de ce dossier."))
    if current.state not in from_states(transition):
        raise TransitionRefused(_("« %(label)s » n'est pas possible depuis l'état « %(state)s ».")
                                % {"label": transition.get("label"),
                                   "state": workflow.state_label(current.state)})
    refusal = _guard_refusal(transition, current) or system_refusal(transition)
    if refusal:
        raise TransitionRefused(refusal)
    move = Move(dossier=current, transition=transition, typed={})
    return write_moves([move], actor=None, request=request,
                       system={"system": True, "rule": rule_label})[0]


def notify_applicant_as_system(dossier: Dossier, request: HttpRequest | None = None) -> None:
    """Tell the applicant the dossier's new state, exactly as the "notify" action does."""
    tell_applicants([dossier], request=request)


# --- Actions --------------------------------------------------------------------------------

def _applicant_link(dossier: Dossier, request: HttpRequest | None) -> str:
    """Where the applicant reads the dossier: their account's page, or the tracking link."""
    if dossier.applicant_id:
        try:
            path = _dossier_path(dossier.pk)
        except NoReverseMatch:
            path = reverse("procedures:my-dossiers")
    else:
        path = reverse("procedures:tracking", args=[dossier.tracking_code])
    return request.build_absolute_uri(path) if request is not None else path


_SAMPLE_PK = uuid.UUID(int=0)


def _dossier_path(pk) -> str:
    """`reverse("procedures:dossier", args=[pk])`, reversed once per language (thousands of
    applicants are told at once by the hourly pass): the sample id replaced by `pk`."""
    key = (get_language(), get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)
    path = _DOSSIER_PATHS.get(key)
    if path is None:
        path = _DOSSIER_PATHS[key] = reverse("procedures:dossier", args=[_SAMPLE_PK])
    return path.replace(str(_SAMPLE_PK), str(pk))


_DOSSIER_PATHS: dict = {}


def role_holders(dossier: Dossier, role: str):
    """The active agents who play `role` on the dossier (its mapping, else the owning
    service's members)."""
    from django.contrib.auth import get_user_model

    from mairie.core.organisation.models import Membership

    from .models import WorkflowRoleMapping

    mapping = WorkflowRoleMapping.objects.filter(
        definition_id=dossier.version.definition_id, role=role).first()
    memberships = Membership.objects.filter(organisation=dossier.organisation)
    if mapping is None:
        memberships = memberships.filter(service_id=dossier.version.definition.service_id)
    else:
        memberships = memberships.filter(service_id=mapping.service_id)
        if mapping.membership_role:
            memberships = memberships.filter(role=mapping.membership_role)
    return get_user_model().objects.filter(pk__in=memberships.values("user_id"),
                                           is_active=True)


def _notify(*, actor, dossier: Dossier, spec: Mapping, transition: Mapping, form,
            from_state, request, system=None):
    from mairie.core.notifications.services import notify

    workflow = dossier.version.workflow
    target = spec.get("to") or APPLICANT
    if target == APPLICANT:
        tell_applicants([dossier], actor=actor, request=request)
        return
    if target == "assignee":
        recipients = [dossier.assigned_to] if dossier.assigned_to_id else []
    else:
        recipients = list(role_holders(dossier, target.removeprefix("role:")))
    recipients = [user for user in recipients if not _authenticated(actor) or user != actor]
    if recipients:
        notify(organisation=dossier.organisation, recipients=recipients,
               kind=AGENT_NOTIFICATION_KIND, about=dossier,
               title=_("Dossier n° %(number)s : %(state)s") % {
                   "number": dossier.number, "state": workflow.state_label(dossier.state)},
               body=dossier.version.definition.title,
               url=reverse("procedures:agent-dossier", args=[dossier.pk]), actor=actor)


def tell_applicants(dossiers, *, actor=None, request: HttpRequest | None = None) -> None:
    """Tell each dossier's applicant its new state (and the motivation): a notification to an
    account, an e-mail with the tracking link to an anonymous applicant. One insert for all
    the notifications (`notify_many`), whatever their number."""
    from mairie.core.notifications.services import notify_many

    items: dict = {}  # organisation → its notifications
    for dossier in dossiers:
        workflow = dossier.version.workflow
        motivation = (dossier.processing_data or {}).get("motivation") or ""
        state = public_state_label(workflow, dossier.state)
        title = _("Votre dossier n° %(number)s : %(state)s") % {"number": dossier.number,
                                                               "state": state}
        if dossier.applicant is not None and dossier.applicant.is_active:
            items.setdefault(dossier.organisation, []).append({
                "recipient": dossier.applicant, "kind": NOTIFICATION_KIND, "title": title,
                "body": motivation, "url": _applicant_link(dossier, None), "about": dossier})
        elif dossier.applicant_email:
            body = "\n\n".join(part for part in [
                _("Bonjour,"),
                _("Votre dossier n° %(number)s (%(procedure)s) est maintenant : %(state)s.")
                % {"number": dossier.number, "procedure": dossier.version.definition.title,
                   "state": state},
                motivation and _("Motif : %(motivation)s") % {"motivation": motivation},
                _("Suivez votre dossier : %(link)s") % {
                    "link": _applicant_link(dossier, request)},
                dossier.organisation.name] if part)
            transaction.on_commit(partial(send_mail, title, body, settings.DEFAULT_FROM_EMAIL,
                                          [dossier.applicant_email]), robust=True)
    for organisation, notifications in items.items():
        notify_many(organisation=organisation, items=notifications, actor=actor)


def _assign(*, actor, dossier: Dossier, spec: Mapping, transition: Mapping, form,
            from_state, request, system=None):
    target = spec.get("to")
    if target == "self":
        update = {"assigned_to": actor}
    elif target == "none":
        update = {"assigned_to": None, "assigned_service": None}
    else:
        from .models import WorkflowRoleMapping

        mapping = WorkflowRoleMapping.objects.filter(
            definition_id=dossier.version.definition_id,
            role=str(target).removeprefix("role:")).first()
        update = {"assigned_to": None,
                  "assigned_service_id": (mapping.service_id if mapping
                                          else dossier.version.definition.service_id)}
    Dossier.objects.filter(pk=dossier.pk).update(**update)


def _request_correction(*, actor, dossier: Dossier, spec: Mapping, transition: Mapping, form,
                        from_state, request, system=None):
    from . import processing

    processing.request_correction(
        actor=actor, dossier=dossier, fields=list(form.cleaned_data[CORRECTION_FIELDS]),
        message=form.cleaned_data[CORRECTION_MESSAGE],
        return_state=transition.get("return_to") or from_state,
        request=request)


def _request_opinion(*, actor, dossier: Dossier, spec: Mapping, transition: Mapping, form,
                     from_state, request, system=None):
    from . import processing

    processing.request_opinion(actor=actor, dossier=dossier,
                               service=form.cleaned_data[OPINION_SERVICE],
                               question=form.cleaned_data[OPINION_QUESTION], request=request)


def _document(*, actor, dossier: Dossier, spec: Mapping, transition: Mapping, form,
            from_state, request, system=None):
    documents_module.generate_document(
        actor=actor, dossier=dossier, template_key=spec["template"],
        visible_to_applicant=spec.get("visible_to_applicant", True) is not False,
        request=request, system=system)


def _deadline(*, actor, dossier: Dossier, spec: Mapping, transition: Mapping, form,
            from_state, request, system=None):
    deadline = None if spec.get("clear") else (
        timezone.now() + datetime.timedelta(days=int(spec["days"])))
    Dossier.objects.filter(pk=dossier.pk).update(deadline_at=deadline)


ACTIONS = {"notify": _notify, "assign": _assign, "request_correction": _request_correction,
           "request_opinion": _request_opinion, "document": _document, "deadline": _deadline}


# --- Pages ----------------------------------------------------------------------------------

def documents_visible_to_applicant(dossier: Dossier):
    return (dossier.documents.filter(visible_to_applicant=True)
            .select_related("stored_file").order_by("created_at"))


def documents_of(dossier: Dossier):
    return dossier.documents.select_related("stored_file").order_by("created_at")


def agent_context(request, dossier) -> dict:
    """Context of `procedures/agent/_workflow.html` on the agent's dossier page."""
    workflow = dossier.version.workflow
    return {
        "workflow_state": _state(workflow, dossier.state),
        # An agent who also filed the dossier (internal procedures) acts as applicant from
        # their own dossier page, never from the workspace.
        "transitions": transitions_for(request.user, dossier, roles=queries.workflow_roles_of(
            request.user, dossier) - {APPLICANT}),
        # Read only when there are some (the dossier page annotates `has_validations` and
        # `has_documents`: a dossier just filed has neither).
        "validations": (list(dossier.validations.select_related("actor").order_by("at"))
                        if getattr(dossier, "has_validations", True) else []),
        "generated_documents": (list(documents_of(dossier))
                                if getattr(dossier, "has_documents", True) else []),
    }


def applicant_context(request, dossier, *, tracking_code: str = "") -> dict:
    """Context of `procedures/_applicant_workflow.html` on the applicant's dossier page (and,
    with `tracking_code`, on the tracking page of an anonymous applicant)."""
    user = request.user
    is_applicant = _authenticated(user) and dossier.applicant_id == user.pk
    return {
        "applicant_transitions": (transitions_for(user, dossier, roles={APPLICANT})
                                  if is_applicant else []),
        "applicant_documents": list(documents_visible_to_applicant(dossier)),
        "public_state": public_state_label(dossier.version.workflow, dossier.state),
        "tracking_code": tracking_code,
    }
