"""The inbox's filter and sort form (GET, works without JavaScript)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Workflow
from .queries import DEFAULT_SORT

SORT_CHOICES = [
    ("-submitted", _("Date de dépôt (plus récent d'abord)")),
    ("submitted", _("Date de dépôt (plus ancien d'abord)")),
    ("deadline", _("Échéance la plus proche")),
    ("-deadline", _("Échéance la plus lointaine")),
    ("-updated", _("Dernière modification")),
    ("number", _("Numéro (croissant)")),
    ("-number", _("Numéro (décroissant)")),
]

DEADLINE_CHOICES = [
    ("", _("Toutes")),
    ("overdue", _("Dépassée")),
    ("week", _("Dans les 7 jours")),
    ("none", _("Sans échéance")),
]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class InboxFilterForm(forms.Form):
    """Free text, procedure, state, label, submission dates, deadline, assigned agent and the
    sort. The choices are what the agent may see: their procedures and the states of their
    workflows (drafts excluded: the inbox never lists them), the labels of the organisation and
    of those procedures, the organisation's agents."""

    q = forms.CharField(label=_("Numéro, nom ou courriel du demandeur, texte des réponses"),
                        required=False, max_length=200,
                        widget=forms.TextInput(attrs={"type": "search"}))
    procedure = forms.ChoiceField(label=_("Démarche"), required=False)
    state = forms.ChoiceField(label=_("État"), required=False)
    label = forms.ChoiceField(label=_("Étiquette"), required=False)
    assigned = forms.ChoiceField(label=_("Agent chargé"), required=False)
    deadline = forms.ChoiceField(label=_("Échéance"), required=False, choices=DEADLINE_CHOICES)
    submitted_from = forms.DateField(label=_("Déposé à partir du"), required=False,
                                     widget=DateInput)
    submitted_to = forms.DateField(label=_("Déposé jusqu'au"), required=False, widget=DateInput)
    sort = forms.ChoiceField(label=_("Trier par"), required=False, choices=SORT_CHOICES)

    def __init__(self, *args, procedures=(), labels=(), agents=(), **kwargs):
        super().__init__(*args, **kwargs)
        procedures = list(procedures)
        self.fields["procedure"].choices = [("", _("Toutes"))] + [
            (str(p.pk), p.title) for p in procedures]
        states: dict[str, str] = {}
        for procedure in procedures:
            for state in procedure.current_version.workflow.states:
                if state.get("kind") != Workflow.Kind.DRAFT and state.get("key"):
                    states.setdefault(state["key"], state.get("label") or state["key"])
        self.fields["state"].choices = [("", _("Tous"))] + sorted(
            states.items(), key=lambda item: item[1].lower())
        self.fields["label"].choices = [("", _("Toutes"))] + [
            (str(label.pk), label.name) for label in labels]
        self.fields["assigned"].choices = [
            ("", _("Tous")), ("me", _("Moi")), ("none", _("Personne (non attribué)"))] + [
            (str(agent.pk), agent.get_full_name() or agent.email) for agent in agents]

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("submitted_from"), cleaned.get("submitted_to")
        if start and end and start > end:
            self.add_error("submitted_to", _("Cette date doit être postérieure ou égale à la "
                                             "date de début."))
        return cleaned

    def filters(self) -> dict:
        """The valid filters (a field in error is left out, and shown with its message)."""
        if not self.is_bound:
            return {}
        self.is_valid()
        return {name: value for name, value in self.cleaned_data.items()
                if name in self.fields and name not in self.errors and value}

    @property
    def sort_key(self) -> str:
        return self.filters().get("sort") or DEFAULT_SORT
