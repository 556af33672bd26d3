"""Forms of the service mail: the answer, the record to attach a mail to, a record created
from a mail, and the service addresses (decision 0467)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models_mail import ServiceMailbox


class ReplyForm(forms.Form):
    body = forms.CharField(label=_("Votre réponse"), max_length=20000,
                           widget=forms.Textarea(attrs={"rows": 8}),
                           help_text=_("Envoyée depuis l'adresse du service ; le courriel "
                                       "reçu est cité en dessous."))


class AttachForm(forms.Form):
    record = forms.UUIDField(widget=forms.HiddenInput)
    remember_address = forms.BooleanField(
        label=_("Noter cette adresse sur la fiche si elle n'en a pas"), required=False,
        initial=True)


class RecordFromMailForm(forms.Form):
    first_name = forms.CharField(label=_("Prénom"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Nom"), max_length=150)
    email = forms.EmailField(label=_("Courriel"), required=False)

    def values(self) -> dict:
        return {name: self.cleaned_data[name] for name in ("first_name", "last_name", "email")}


class MailboxForm(forms.ModelForm):
    service = forms.ModelChoiceField(label=_("Service"), queryset=None)

    class Meta:
        model = ServiceMailbox
        fields = ("address", "service", "display_name", "active")

    def __init__(self, *args, services, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = services

    def values(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}

