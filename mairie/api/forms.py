"""The form that creates a personal token from "Mon compte"."""

import datetime as dt

from django import forms
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from .scopes import all_scopes
from .services import default_expiry_date, local_today, max_expiry_date


class DateInput(forms.DateInput):
    input_type = "date"


class PersonalTokenForm(forms.Form):
    name = forms.CharField(
        label=_("Nom du jeton"), max_length=100,
        error_messages={"required": _("Donnez un nom au jeton.")},
        help_text=_("Pour le reconnaître plus tard, par exemple « Tableur du service »."))
    scopes = forms.MultipleChoiceField(
        label=_("Portées"), widget=forms.CheckboxSelectMultiple,
        help_text=_("Ce que le jeton pourra faire, dans la limite de vos propres droits."),
        error_messages={"required": _("Choisissez au moins une portée.")})
    expires_on = forms.DateField(
        label=_("Date d'expiration"), widget=DateInput(format="%Y-%m-%d"),
        error_messages={"required": _("Choisissez une date d'expiration."),
                        "invalid": _("Saisissez une date valide, par exemple 31/12/2026.")},
        help_text=_("Le jeton fonctionne jusqu'à la fin de ce jour, un an au plus. "
                    "Format : jj/mm/aaaa."))

    def __init__(self, *args, organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.organisation = organisation
        self.fields["scopes"].choices = [
            (scope.code, f"{scope.label} ({scope.code})") for scope in all_scopes()]
        self.scope_descriptions = {scope.code: scope.description for scope in all_scopes()}
        self.min_date = local_today(organisation)
        self.max_date = max_expiry_date(organisation)
        self.fields["expires_on"].initial = default_expiry_date(organisation)
        self.fields["expires_on"].widget.attrs.update(
            min=self.min_date.isoformat(), max=self.max_date.isoformat())
        self.fields["expires_on"].input_formats = ["%Y-%m-%d", "%d/%m/%Y"]

    def clean_expires_on(self) -> dt.date:
        day = self.cleaned_data["expires_on"]
        if day < self.min_date:
            raise forms.ValidationError(_("La date d'expiration doit être aujourd'hui ou après."))
        if day > self.max_date:
            raise forms.ValidationError(
                _("Un jeton expire au plus tard le %(date)s (un an).")
                % {"date": date_format(self.max_date, "SHORT_DATE_FORMAT")})
        return day
