"""The form of a procedure's webhook endpoint (address, events, active)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .webhooks import EVENT_CHOICES


class WebhookEndpointForm(forms.Form):
    url = forms.URLField(
        label=_("Adresse de réception"), max_length=500, assume_scheme="https",
        help_text=_("L'adresse HTTPS du serveur qui reçoit les événements, par exemple "
                    "https://outil.example.fr/mairie/webhook."),
        error_messages={"required": _("Indiquez l'adresse de réception."),
                        "invalid": _("Saisissez une adresse web complète, commençant par "
                                     "https://.")})
    events = forms.MultipleChoiceField(
        label=_("Événements envoyés"), choices=EVENT_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choisissez au moins un événement.")})
    description = forms.CharField(label=_("Description"), max_length=200, required=False,
                                  help_text=_("À quoi sert ce webhook (facultatif)."))
    active = forms.BooleanField(label=_("Actif"), required=False, initial=True,
                                help_text=_("Décochez pour suspendre les envois. Réactiver "
                                            "remet le compteur d'échecs à zéro."))
