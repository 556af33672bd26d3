"""The retention settings form of a procedure (builder area, `views_retention.py`)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models_retention import RetentionPolicy
from .retention import MAX_MONTHS


class RetentionForm(forms.Form):
    months = forms.IntegerField(
        label=_("Durée de conservation après la décision, en mois"), required=False,
        min_value=1, max_value=MAX_MONTHS,
        error_messages={"invalid": _("Indiquez un nombre entier de mois, par exemple 24.")},
        help_text=_("Compté à partir de la date de la décision (acceptation, refus, classement). "
                    "Par exemple 24 pour deux ans. Laissez vide pour conserver les dossiers "
                    "sans limite de durée."))
    mode = forms.ChoiceField(
        label=_("À la fin de cette durée"), widget=forms.RadioSelect,
        choices=[(RetentionPolicy.Mode.ANONYMISE, _(
                     "Anonymiser : les réponses, le demandeur, son courriel, le texte des "
                     "messages et toutes les pièces sont effacés ; le numéro, l'état et les "
                     "dates restent pour les statistiques.")),
                 (RetentionPolicy.Mode.DELETE, _(
                     "Supprimer : le dossier disparaît entièrement, avec ses pièces, ses "
                     "messages et ses documents."))],
        error_messages={"required": _("Choisissez ce qu'il advient des dossiers : anonymiser "
                                      "ou supprimer.")})
    identity_fields = forms.MultipleChoiceField(
        label=_("Pièces d'identité à supprimer dès la décision"), required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Ces pièces ne servent qu'à instruire la demande : elles sont supprimées "
                    "dès que le dossier est décidé, sans attendre la fin de la durée de "
                    "conservation."))
    version = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, file_fields: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["identity_fields"].choices = [
            (key, f"{label} ({key})") for key, label in file_fields.items()]
        self.fields["identity_fields"].error_messages["invalid_choice"] = _(
            "« %(value)s » n'est pas un champ fichier de cette démarche.")
