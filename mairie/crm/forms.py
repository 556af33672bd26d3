"""Forms of the citizen records (agent workspace)."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import Interaction, ResidentRecord
from .services import IDENTITY_FIELDS


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Nom, courriel, téléphone ou numéro de dossier"),
                        max_length=200, required=False,
                        widget=forms.TextInput(attrs={"type": "search",
                                                      "autocomplete": "off"}))


class RecordForm(forms.ModelForm):
    lock_version = forms.CharField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = ResidentRecord
        fields = IDENTITY_FIELDS
        widgets = {
            "birth_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "notes": forms.Textarea(attrs={"rows": 3}),
            "email": forms.EmailInput(attrs={"autocomplete": "off"}),
            "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
        }
        help_texts = {
            "phone": _("Par exemple 06 12 34 56 78."),
            "notes": _("Ce qu'un collègue doit savoir pour bien accueillir la personne "
                       "(langue, aide nécessaire…). Visible par tous les agents."),
        }

    def clean(self):
        data = super().clean()
        if not data.get("email") and not data.get("phone") and not data.get("address"):
            self.add_error(None, _("Indiquez au moins un moyen de joindre la personne : "
                                   "courriel, téléphone ou adresse."))
        return data

    def values(self) -> dict:
        return {name: self.cleaned_data[name] for name in IDENTITY_FIELDS}


class InteractionForm(forms.ModelForm):
    service = forms.ModelChoiceField(label=_("Pour le service"), queryset=None,
                                     empty_label=None)

    class Meta:
        model = Interaction
        fields = ("service", "channel", "subject", "outcome", "notes", "follow_up",
                  "follow_up_due")
        widgets = {"notes": forms.Textarea(attrs={"rows": 3}),
                   "follow_up_due": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}

    def __init__(self, *args, services, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = services
        self.fields["channel"].initial = "counter"
        self.fields["outcome"].initial = Interaction.Outcome.ANSWERED

    def clean(self):
        data = super().clean()
        due = data.get("follow_up_due")
        if due and due < timezone.localdate():
            self.add_error("follow_up_due", _("Cette date est passée : choisissez aujourd'hui "
                                              "ou une date à venir."))
        if data.get("outcome") == Interaction.Outcome.FOLLOW_UP and not data.get("follow_up"):
            self.add_error("follow_up", _("Dites ce qu'il reste à faire."))
        return data

    def values(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields if name != "service"}


class MergeForm(forms.Form):
    absorbed = forms.UUIDField(widget=forms.HiddenInput)
    confirm = forms.BooleanField(
        label=_("Je confirme qu'il s'agit de la même personne"),
        error_messages={"required": _("Cochez la case pour confirmer qu'il s'agit de la même "
                                      "personne.")})
