"""The batch action form under the inbox's table (POST; works without JavaScript).

Which dossiers: the boxes ticked on the page (`dossiers`) or every dossier of the current
filter (`selection` = "filter": the inbox's box and filters come back as hidden inputs). Which
action: a transition the agent may take, an assignment, a label added or removed, a message.
"""

from __future__ import annotations

import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from . import batches
from .models_batch import Batch

SELECTION_CHOICES = [
    ("checked", _("les dossiers cochés dans le tableau")),
    ("filter", _("tous les dossiers de ce filtre")),
]


class BatchForm(forms.Form):
    selection = forms.ChoiceField(label=_("Appliquer l'action à"), choices=SELECTION_CHOICES,
                                  initial="checked", widget=forms.RadioSelect)
    dossiers = forms.MultipleChoiceField(label=_("Dossiers cochés"), required=False)
    action = forms.ChoiceField(
        label=_("Action à appliquer"), choices=[("", "—"), *Batch.Action.choices],
        error_messages={"required": _("Choisissez l'action à appliquer."),
                        "invalid_choice": _("Choisissez une action de la liste.")})
    transition = forms.ChoiceField(
        label=_("Étape à franchir"), required=False,
        error_messages={"invalid_choice": _(
            "« %(value)s » n'est pas une étape que vous pouvez faire franchir par lot : "
            "choisissez-en une de la liste.")})
    comment = forms.CharField(
        label=_("Motivation ou commentaire de l'étape"), required=False, max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Le même texte pour chaque dossier ; obligatoire pour les étapes qui "
                    "demandent une motivation."))
    assign_to = forms.ChoiceField(
        label=_("Attribuer à"), required=False,
        error_messages={"invalid_choice": _("Choisissez un agent de la liste.")})
    label = forms.ChoiceField(
        label=_("Étiquette"), required=False,
        error_messages={"invalid_choice": _("Choisissez une étiquette de la liste.")})
    body = forms.CharField(label=_("Message aux demandeurs"), required=False, max_length=10_000,
                           widget=forms.Textarea(attrs={"rows": 4}),
                           help_text=_("Chaque demandeur reçoit ce message sur son dossier."))

    # Which fields say what the action needs, by action (the second step's fields).
    ACTION_FIELDS = {
        Batch.Action.TRANSITION: ("transition", "comment"),
        Batch.Action.ASSIGN: ("assign_to",),
        Batch.Action.LABEL_ADD: ("label",),
        Batch.Action.LABEL_REMOVE: ("label",),
        Batch.Action.MESSAGE: ("body",),
    }

    def __init__(self, *args, procedures=(), scope=None, labels=(), agents=(),
                 confirm: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        # First step (under the inbox): which dossiers and which action. Second step
        # (`confirm`): what the action needs, with the number of dossiers, then it starts.
        self.confirm = confirm
        self.procedures = list(procedures)
        self.fields["transition"].choices = [("", "—")] + (
            batches.batch_transitions(self.procedures, scope) if scope is not None else [])
        self.fields["assign_to"].choices = [
            ("", "—"), ("self", _("Moi")), ("none", _("Personne (retirer l'attribution)"))] + [
            (str(agent.pk), agent.get_full_name() or agent.email) for agent in agents]
        self.fields["label"].choices = [("", "—")] + [
            (str(label.pk), label.name) for label in labels]
        # The ids are checked in SQL against what the agent sees (`views_batch.create`).
        required = {"transition": _("Choisissez l'étape à faire franchir."),
                    "assign_to": _("Choisissez à qui attribuer les dossiers."),
                    "label": _("Choisissez l'étiquette."),
                    "body": _("Écrivez le message aux demandeurs.")}
        for name in self.ACTION_FIELDS.get(self.data.get(self.add_prefix("action")), ()):
            if name in required:
                self.fields[name].required = True
                self.fields[name].error_messages["required"] = required[name]
        self.fields["dossiers"].choices = [(value, value) for value in (
            self.data.getlist(self.add_prefix("dossiers")) if hasattr(self.data, "getlist")
            else [])]

    @property
    def action_label(self) -> str:
        action = self.cleaned_data.get("action") if hasattr(self, "cleaned_data") else None
        return str(dict(Batch.Action.choices).get(action, ""))

    def action_fields(self) -> list:
        """The bound fields the chosen action needs (the second step shows only those)."""
        action = self.cleaned_data.get("action") if hasattr(self, "cleaned_data") else None
        return [self[name] for name in self.ACTION_FIELDS.get(action, ())]

    def clean_dossiers(self) -> list[str]:
        """The ticked ids that are ids at all (anything else cannot be a dossier)."""
        found = []
        for value in self.cleaned_data.get("dossiers") or []:
            try:
                found.append(str(uuid.UUID(str(value))))
            except ValueError:
                continue
        return found

    def clean(self):
        cleaned = super().clean()
        action = cleaned.get("action")
        if cleaned.get("selection") == "checked" and not cleaned.get("dossiers"):
            self.add_error("dossiers", _("Cochez au moins un dossier dans le tableau, ou "
                                         "choisissez « tous les dossiers de ce filtre »."))
        if not self.confirm:
            for name in ("transition", "comment", "assign_to", "label", "body"):
                self.errors.pop(name, None)
            return cleaned
        if action == Batch.Action.TRANSITION:
            key = cleaned.get("transition")
            if not key and "transition" not in self.errors:
                self.add_error("transition", _("Choisissez l'étape à faire franchir."))
            elif key and not (cleaned.get("comment") or "").strip() and (
                    batches.transitions_needing_motivation(self.procedures, key)):
                self.add_error("comment", _("Cette étape demande une motivation : écrivez-la "
                                            "(elle sera la même pour chaque dossier)."))
        elif action == Batch.Action.ASSIGN and not cleaned.get("assign_to") and (
                "assign_to" not in self.errors):
            self.add_error("assign_to", _("Choisissez à qui attribuer les dossiers."))
        elif action in (Batch.Action.LABEL_ADD, Batch.Action.LABEL_REMOVE) and not (
                cleaned.get("label")) and "label" not in self.errors:
            self.add_error("label", _("Choisissez l'étiquette."))
        elif action == Batch.Action.MESSAGE and not (cleaned.get("body") or "").strip():
            self.add_error("body", _("Écrivez le message aux demandeurs."))
        return cleaned

    def parameters(self) -> dict:
        """What the batch keeps of the form for its action (`Batch.parameters`)."""
        data, action = self.cleaned_data, self.cleaned_data["action"]
        if action == Batch.Action.TRANSITION:
            label = dict(self.fields["transition"].choices).get(data["transition"], "")
            return {"transition": data["transition"], "transition_label": str(label),
                    "comment": data.get("comment", "").strip()}
        if action == Batch.Action.ASSIGN:
            name = dict(self.fields["assign_to"].choices).get(data["assign_to"], "")
            return {"to": data["assign_to"], "to_name": str(name)}
        if action in (Batch.Action.LABEL_ADD, Batch.Action.LABEL_REMOVE):
            name = dict(self.fields["label"].choices).get(data["label"], "")
            return {"label": data["label"], "label_name": str(name)}
        return {"body": data["body"].strip()}
