"""Forms of the workflow editor: one form per item (state, transition, document template, role
list), each carrying the workflow's version for optimistic concurrency (decision 0362).

The forms translate between what a non-technical agent fills in (check boxes, lists) and the
workflow JSON described in docs/procedures-workflows.md; `TransitionForm.to_transition` keeps
whatever the form does not know (other actions, other keys) untouched.
"""

from __future__ import annotations

import copy
import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from . import expressions
from .documents import placeholder_errors
from .models import Workflow
from .workflows_admin import KEY_PATTERN, from_states

KEY_HELP = _("Lettres minuscules sans accent, chiffres et « _ », en commençant par une lettre "
             "(par exemple « en_instruction »).")


def _clean_key(value: str, taken: set[str]) -> str:
    value = (value or "").strip()
    if not KEY_PATTERN.match(value):
        raise ValidationError(_("Clé invalide : %(help)s") % {"help": KEY_HELP})
    if value == "ajouter":  # the editor's URL for a new item
        raise ValidationError(_("« ajouter » est réservé : choisissez une autre clé."))
    if value in taken:
        raise ValidationError(_("La clé « %(key)s » est déjà utilisée dans ce circuit.")
                              % {"key": value})
    return value


class VersionForm(forms.Form):
    """The workflow's `updated_at` the editor saw, sent back with every change."""

    version = forms.CharField(widget=forms.HiddenInput)

    def clean_version(self) -> datetime.datetime:
        try:
            return datetime.datetime.fromisoformat(self.cleaned_data["version"])
        except ValueError:
            raise ValidationError(_("Version du circuit illisible : rechargez la page.")) \
                from None


class CreateWorkflowForm(forms.Form):
    name = forms.CharField(label=_("Nom du nouveau circuit"), max_length=200)
    source = forms.ChoiceField(
        label=_("Point de départ"), required=False,
        help_text=_("Un circuit vierge (brouillon puis déposé) ou la copie d'un circuit "
                    "existant, à adapter ensuite."))

    def __init__(self, *args, workflows=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.workflows = {str(w.pk): w for w in workflows}
        self.fields["source"].choices = [("", _("Circuit vierge"))] + [
            (pk, _("Copie de « %(name)s »") % {"name": w.name})
            for pk, w in self.workflows.items()]

    def clean_source(self) -> Workflow | None:
        return self.workflows.get(self.cleaned_data.get("source") or "")


class RenameForm(VersionForm):
    name = forms.CharField(label=_("Nom du circuit"), max_length=200)


class StateForm(VersionForm):
    key = forms.CharField(label=_("Clé"), max_length=50, help_text=KEY_HELP)
    label = forms.CharField(label=_("Libellé pour les agents"), max_length=200)
    public_label = forms.CharField(
        label=_("Libellé pour le demandeur"), max_length=200, required=False,
        help_text=_("Ce que voit le demandeur sur le suivi de son dossier ; par défaut le "
                    "libellé pour les agents."))
    kind = forms.ChoiceField(label=_("Type d'état"), choices=Workflow.Kind.choices)
    deadline_days = forms.IntegerField(
        label=_("Délai de traitement (jours)"), required=False, min_value=1, max_value=3650,
        help_text=_("En entrant dans cet état, le dossier reçoit une échéance à ce nombre de "
                    "jours. Laissez vide pour aucune échéance."))

    def __init__(self, *args, taken_keys: set[str] = frozenset(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.taken_keys = set(taken_keys)

    def clean_key(self) -> str:
        return _clean_key(self.cleaned_data.get("key", ""), self.taken_keys)

    def to_state(self) -> dict:
        data = self.cleaned_data
        state = {"key": data["key"], "label": data["label"], "kind": data["kind"]}
        if data.get("public_label"):
            state["public_label"] = data["public_label"]
        if data.get("deadline_days"):
            state["deadline_days"] = data["deadline_days"]
        return state

    @staticmethod
    def initial_from(state: dict) -> dict:
        return {"key": state.get("key"), "label": state.get("label"),
                "public_label": state.get("public_label", ""), "kind": state.get("kind"),
                "deadline_days": state.get("deadline_days")}


class RoleForm(forms.Form):
    key = forms.CharField(label=_("Clé du rôle"), max_length=50, required=False,
                          help_text=KEY_HELP)
    label = forms.CharField(label=_("Libellé"), max_length=200, required=False,
                            help_text=_("Par exemple « Instructeur », « Directeur général des "
                                        "services »."))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.initial.get("key"):
            # A role's key is what procedures map to services: it never changes once created.
            self.fields["key"].disabled = True
            self.fields["key"].help_text = ""

    def clean(self):
        data = super().clean()
        if data.get("DELETE"):
            return data
        key = (data.get("key") or "").strip()
        if not key and not data.get("label"):
            return data
        if not KEY_PATTERN.match(key):
            self.add_error("key", _("Clé invalide : %(help)s") % {"help": KEY_HELP})
        elif key == "applicant":
            self.add_error("key", _("« applicant » désigne déjà le demandeur : choisissez une "
                                    "autre clé."))
        return data


class UniqueKeysFormSet(forms.BaseFormSet):
    """A formset whose kept rows must have distinct `key`s; `duplicate_message` says so."""

    duplicate_message = ""

    def clean(self) -> None:
        if any(self.errors):
            return
        keys = [f.cleaned_data.get("key") for f in self.forms
                if f.cleaned_data.get("key") and not self._should_delete_form(f)]
        duplicates = {key for key in keys if keys.count(key) > 1}
        if duplicates:
            raise ValidationError(self.duplicate_message
                                  % {"keys": ", ".join(sorted(duplicates))})


class BaseRoleFormSet(UniqueKeysFormSet):
    duplicate_message = _("Deux rôles ont la même clé : %(keys)s.")

    def to_roles(self) -> list[dict]:
        roles = []
        for form in self.forms:
            data = form.cleaned_data
            if not data.get("key") or self._should_delete_form(form):
                continue
            roles.append({"key": data["key"], "label": data.get("label") or data["key"]})
        return roles


RoleFormSet = forms.formset_factory(RoleForm, formset=BaseRoleFormSet, extra=2,
                                    can_delete=True)


class DocumentForm(VersionForm):
    key = forms.CharField(label=_("Clé"), max_length=50, help_text=KEY_HELP)
    title = forms.CharField(label=_("Titre du document"), max_length=200)
    body = forms.CharField(
        label=_("Texte du document"), widget=forms.Textarea(attrs={"rows": 14}),
        help_text=_("Écrivez le texte du courrier ; les repères entre doubles accolades, par "
                    "exemple {{ dossier.number }}, sont remplacés à la génération. La liste "
                    "des repères figure à côté."))

    def __init__(self, *args, taken_keys: set[str] = frozenset(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.taken_keys = set(taken_keys)

    def clean_key(self) -> str:
        return _clean_key(self.cleaned_data.get("key", ""), self.taken_keys)

    def clean_body(self) -> str:
        body = self.cleaned_data.get("body", "")
        errors = placeholder_errors(self.cleaned_data.get("key") or "", body)
        if errors:
            raise ValidationError(errors)
        return body


FIELD_TYPES = [("text", _("Texte court")), ("textarea", _("Texte long")), ("date", _("Date")),
               ("number", _("Nombre")), ("choice", _("Liste de choix"))]


class RequiredFieldForm(forms.Form):
    """One custom field the agent fills in when taking the transition."""

    key = forms.CharField(label=_("Clé"), max_length=50, required=False, help_text=KEY_HELP)
    label = forms.CharField(label=_("Libellé"), max_length=200, required=False)
    type = forms.ChoiceField(label=_("Type"), choices=FIELD_TYPES, initial="text")
    required = forms.BooleanField(label=_("Obligatoire"), required=False, initial=True)
    choices = forms.CharField(
        label=_("Choix (liste de choix)"), required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Un choix par ligne, « valeur | libellé » ou juste la valeur."))
    help = forms.CharField(label=_("Aide"), max_length=300, required=False)

    def clean(self):
        data = super().clean()
        if data.get("DELETE") or not (data.get("key") or data.get("label")):
            return data
        if not KEY_PATTERN.match(data.get("key") or ""):
            self.add_error("key", _("Clé invalide : %(help)s") % {"help": KEY_HELP})
        elif data["key"] in {"motivation", "comment"}:
            self.add_error("key", _("« motivation » et « comment » sont déjà proposés par les "
                                    "cases ci-dessus : choisissez une autre clé."))
        if not data.get("label"):
            self.add_error("label", _("Donnez un libellé au champ."))
        if data.get("type") == "choice" and not self.parsed_choices():
            self.add_error("choices", _("Indiquez au moins un choix."))
        return data

    def parsed_choices(self) -> list[dict]:
        choices = []
        for line in (self.cleaned_data.get("choices") or "").splitlines():
            value, _bar, label = (part.strip() for part in line.partition("|"))
            if value:
                choices.append({"value": value, "label": label or value})
        return choices

    def to_field(self) -> dict:
        data = self.cleaned_data
        field = {"key": data["key"], "label": data["label"], "type": data["type"],
                 "required": bool(data.get("required"))}
        if data["type"] == "choice":
            field["choices"] = self.parsed_choices()
        if data.get("help"):
            field["help"] = data["help"]
        return field

    @staticmethod
    def initial_from(field: dict | str) -> dict:
        if isinstance(field, str):
            return {"key": field, "label": field, "type": "text", "required": True}
        return {"key": field.get("key"), "label": field.get("label"),
                "type": field.get("type", "text"), "required": field.get("required", True),
                "help": field.get("help", ""),
                "choices": "\n".join(f"{c.get('value')} | {c.get('label')}"
                                     for c in field.get("choices") or [])}


class BaseRequiredFieldFormSet(UniqueKeysFormSet):
    duplicate_message = _("Deux champs à remplir ont la même clé : %(keys)s.")

    def to_fields(self) -> list[dict]:
        return [form.to_field() for form in self.forms
                if form.cleaned_data.get("key") and not self._should_delete_form(form)]


RequiredFieldFormSet = forms.formset_factory(RequiredFieldForm,
                                             formset=BaseRequiredFieldFormSet, extra=1,
                                             can_delete=True)

KNOWN_ACTIONS = {"notify", "assign", "request_correction", "request_opinion", "document",
                 "deadline"}


class TransitionForm(VersionForm):
    key = forms.CharField(label=_("Clé"), max_length=50, help_text=KEY_HELP)
    label = forms.CharField(label=_("Libellé du bouton"), max_length=200,
                            help_text=_("Par exemple « Accepter la demande »."))
    from_states = forms.MultipleChoiceField(
        label=_("Depuis les états"), widget=forms.CheckboxSelectMultiple,
        help_text=_("Le bouton est proposé quand le dossier est dans l'un de ces états."))
    to = forms.ChoiceField(label=_("Vers l'état"))
    role = forms.ChoiceField(label=_("Qui peut la faire"))
    guard = forms.CharField(
        label=_("Condition (facultative)"), required=False, max_length=500,
        help_text=_("Une condition sur les réponses du dossier, par exemple « montant < 5000 » "
                    "(voir le guide des conditions). Sans condition, l'étape est toujours "
                    "possible."))
    guard_message = forms.CharField(
        label=_("Explication quand la condition n'est pas remplie"), required=False,
        max_length=300)
    ask_motivation = forms.BooleanField(label=_("Demander une motivation (obligatoire)"),
                                        required=False)
    ask_comment = forms.BooleanField(label=_("Proposer un commentaire (facultatif)"),
                                     required=False)
    validation = forms.ChoiceField(
        label=_("Validation"), required=False,
        choices=[("", _("Aucune")), ("approve", _("Enregistre une approbation")),
                 ("reject", _("Enregistre un renvoi"))],
        help_text=_("Les approbations figurent dans le bloc des signataires des documents."))
    signature = forms.BooleanField(label=_("Cette approbation vaut signature"), required=False)
    style = forms.ChoiceField(
        label=_("Apparence du bouton"), required=False,
        choices=[("", _("Normale")), ("primary", _("Principale")),
                 ("secondary", _("Secondaire")), ("danger", _("Danger (refus, retrait)"))])
    notify = forms.MultipleChoiceField(label=_("Prévenir"), required=False,
                                       widget=forms.CheckboxSelectMultiple)
    assign = forms.ChoiceField(label=_("Attribution du dossier"), required=False)
    request_correction = forms.BooleanField(
        label=_("Demander une correction au demandeur"), required=False,
        help_text=_("L'agent choisit les champs à corriger et écrit un message."))
    return_to = forms.ChoiceField(
        label=_("État après la correction"), required=False,
        help_text=_("Par défaut, l'état de départ de la transition."))
    request_opinion = forms.BooleanField(
        label=_("Demander l'avis d'un service"), required=False,
        help_text=_("L'agent choisit le service et écrit sa question."))
    document = forms.ChoiceField(label=_("Produire un document"), required=False)
    document_visible = forms.BooleanField(label=_("Document visible par le demandeur"),
                                          required=False, initial=True)
    deadline = forms.ChoiceField(
        label=_("Échéance"), required=False,
        choices=[("", _("Inchangée")), ("set", _("Fixer une échéance")),
                 ("clear", _("Supprimer l'échéance"))])
    deadline_days = forms.IntegerField(label=_("Échéance dans (jours)"), required=False,
                                       min_value=1, max_value=3650)

    GROUPS = [
        (_("La transition"), ["key", "label", "from_states", "to", "role", "style"]),
        (_("Condition"), ["guard", "guard_message"]),
        (_("Ce que l'agent saisit"), ["ask_motivation", "ask_comment"]),
        (_("Validation et signature"), ["validation", "signature"]),
        (_("Actions"), ["notify", "assign", "request_correction", "return_to",
                        "request_opinion", "document", "document_visible", "deadline",
                        "deadline_days"]),
    ]

    def __init__(self, *args, workflow: Workflow, original: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.workflow = workflow
        self.original = copy.deepcopy(original or {})
        states = [(s["key"], s.get("label") or s["key"]) for s in workflow.states]
        roles = [(key, workflow.role_label(key)) for key in workflow.role_keys()]
        self.fields["from_states"].choices = states
        self.fields["to"].choices = states
        self.fields["return_to"].choices = [("", _("L'état de départ"))] + states
        self.fields["role"].choices = roles + [("applicant", _("Le demandeur (depuis son "
                                                               "dossier)"))]
        self.fields["notify"].choices = [
            ("applicant", _("Le demandeur (courriel)")),
            ("assignee", _("L'agent chargé du dossier"))] + [
            (f"role:{key}", _("Les agents du rôle « %(role)s »") % {"role": label})
            for key, label in roles]
        self.fields["assign"].choices = [
            ("", _("Inchangée")), ("self", _("À l'agent qui fait l'étape")),
            ("none", _("Retirer l'attribution"))] + [
            (f"role:{key}", _("Au service du rôle « %(role)s »") % {"role": label})
            for key, label in roles]
        self.fields["document"].choices = [("", _("Aucun"))] + [
            (key, doc.get("title") or key) for key, doc in (workflow.documents or {}).items()]
        self.taken_keys = {t.get("key") for t in workflow.transitions} - {
            self.original.get("key")}

    def groups(self):
        return [(legend, [self[name] for name in names]) for legend, names in self.GROUPS]

    def clean_key(self) -> str:
        return _clean_key(self.cleaned_data.get("key", ""), self.taken_keys)

    def clean_guard(self) -> str:
        guard = (self.cleaned_data.get("guard") or "").strip()
        if guard:
            try:
                expressions.compile_expression(guard)
            except expressions.ExpressionError as error:
                raise ValidationError(str(error)) from None
        return guard

    def clean(self):
        data = super().clean()
        if data.get("signature") and data.get("validation") != "approve":
            self.add_error("signature", _("Une signature est une approbation : choisissez "
                                          "« Enregistre une approbation » comme validation."))
        if data.get("deadline") == "set" and not data.get("deadline_days"):
            self.add_error("deadline_days", _("Indiquez le nombre de jours de l'échéance."))
        if data.get("return_to") and not data.get("request_correction"):
            self.add_error("return_to", _("L'état après correction ne sert que si la "
                                          "transition demande une correction."))
        return data

    @classmethod
    def initial_from(cls, transition: dict) -> tuple[dict, list[dict]]:
        """The form's initial values and the custom required fields' rows."""
        initial = {
            "key": transition.get("key"), "label": transition.get("label"),
            "from_states": from_states(transition), "to": transition.get("to"),
            "role": transition.get("role"), "guard": transition.get("guard", ""),
            "guard_message": transition.get("guard_message", ""),
            "validation": transition.get("validation", ""),
            "signature": bool(transition.get("signature")), "style": transition.get("style", ""),
            "return_to": transition.get("return_to", ""), "notify": [],
            "document_visible": True,
        }
        custom = []
        for field in transition.get("required_fields") or []:
            if field == "motivation":
                initial["ask_motivation"] = True
            elif field == "comment":
                initial["ask_comment"] = True
            else:
                custom.append(RequiredFieldForm.initial_from(field))
        for action in transition.get("actions") or []:
            action = {"type": action} if isinstance(action, str) else action
            kind = action.get("type")
            if kind == "notify":
                initial["notify"].append(action.get("to", "applicant"))
            elif kind == "assign":
                initial["assign"] = action.get("to", "")
            elif kind in {"request_correction", "request_opinion"}:
                initial[kind] = True
            elif kind == "document":
                initial["document"] = action.get("template", "")
                initial["document_visible"] = action.get("visible_to_applicant", True)
            elif kind == "deadline":
                initial["deadline"] = "clear" if action.get("clear") else "set"
                initial["deadline_days"] = action.get("days")
        return initial, custom

    def to_transition(self, custom_fields: list[dict]) -> dict:
        data = self.cleaned_data
        transition = copy.deepcopy(self.original)
        chosen = data["from_states"]
        transition.update({"key": data["key"], "label": data["label"],
                           "from": chosen[0] if len(chosen) == 1 else list(chosen),
                           "to": data["to"], "role": data["role"]})
        optional = {"guard": data.get("guard"), "guard_message": data.get("guard_message"),
                    "validation": data.get("validation"),
                    "signature": bool(data.get("signature")), "style": data.get("style"),
                    "return_to": data.get("return_to") if data.get("request_correction")
                    else ""}
        for name, value in optional.items():
            if value:
                transition[name] = value
            else:
                transition.pop(name, None)
        required: list = []
        if data.get("ask_motivation"):
            required.append("motivation")
        if data.get("ask_comment"):
            required.append("comment")
        transition["required_fields"] = required + custom_fields
        transition["actions"] = self._actions()
        return transition

    def _actions(self) -> list:
        data = self.cleaned_data
        actions: list = []
        if data.get("assign"):
            actions.append({"type": "assign", "to": data["assign"]})
        if data.get("request_correction"):
            actions.append({"type": "request_correction"})
        if data.get("request_opinion"):
            actions.append({"type": "request_opinion"})
        if data.get("deadline") == "set":
            actions.append({"type": "deadline", "days": data["deadline_days"]})
        elif data.get("deadline") == "clear":
            actions.append({"type": "deadline", "clear": True})
        if data.get("document"):
            actions.append({"type": "document", "template": data["document"],
                            "visible_to_applicant": bool(data.get("document_visible"))})
        for target in data.get("notify") or []:
            actions.append({"type": "notify", "to": target})
        # Actions the form does not offer (a webhook…) are kept as they were.
        for action in self.original.get("actions") or []:
            kind = action if isinstance(action, str) else action.get("type")
            if kind not in KNOWN_ACTIONS:
                actions.append(action)
        return actions


class DeleteForm(VersionForm):
    """Confirms a deletion; only carries the version."""


class MoveForm(VersionForm):
    direction = forms.ChoiceField(choices=[("up", "up"), ("down", "down")])
