"""The residents' forms: booking a slot, joining the waiting list, choosing a new slot."""

from __future__ import annotations

import phonenumbers
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def _check_phone(value: str, country: str) -> str:
    value = (value or "").strip()
    if not value:
        return value
    try:
        number = phonenumbers.parse(value, country or "FR")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise forms.ValidationError(_("Ce numéro de téléphone n'est pas valide. Écrivez-le "
                                      "par exemple 06 12 34 56 78."))
    return value


class BookingForm(forms.Form):
    """Without an account: name, e-mail and phone (decision 0475). With one: prefilled name
    and e-mail, phone optional (for the SMS reminder)."""

    name = forms.CharField(label=_("Nom et prénom"), max_length=200,
                           widget=forms.TextInput(attrs={"autocomplete": "name"}))
    email = forms.EmailField(
        label=_("Adresse électronique"), max_length=254,
        help_text=_("La confirmation et le lien pour annuler ou déplacer le rendez-vous y sont "
                    "envoyés. Par exemple nom@exemple.fr."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    phone = forms.CharField(
        label=_("Téléphone"), max_length=30,
        help_text=_("Un SMS de rappel est envoyé la veille à un numéro de portable. Par "
                    "exemple 06 12 34 56 78."),
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}))

    def __init__(self, *args, account=None, country: str = "FR", **kwargs):
        super().__init__(*args, **kwargs)
        self.country = country
        if account is not None:
            self.fields["phone"].required = False
            self.fields["phone"].help_text = _(
                "Facultatif. Un SMS de rappel est envoyé la veille à un numéro de portable. "
                "Par exemple 06 12 34 56 78.")

    def clean_phone(self):
        return _check_phone(self.cleaned_data.get("phone", ""), self.country)


class WaitingListForm(forms.Form):
    name = forms.CharField(label=_("Nom et prénom"), max_length=200,
                           widget=forms.TextInput(attrs={"autocomplete": "name"}))
    email = forms.EmailField(
        label=_("Adresse électronique"), max_length=254,
        help_text=_("Vous y êtes prévenu quand une place se libère."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    counter = forms.ChoiceField(label=_("Lieu"), required=False, widget=forms.RadioSelect)
    wanted_until = forms.DateField(
        label=_("Jusqu'au"), required=False,
        help_text=_("Facultatif. Au-delà de cette date, vous n'êtes plus prévenu. Par exemple "
                    "31/12/2026."),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d", "%d/%m/%Y"])

    ANY = ""

    def __init__(self, *args, counters=(), today=None, **kwargs):
        kwargs.setdefault("prefix", "attente")
        super().__init__(*args, **kwargs)
        self.counters = {str(counter.pk): counter for counter in counters}
        self.today = today or timezone.localdate()
        self.fields["counter"].choices = [(self.ANY, _("N'importe quel lieu")), *[
            (pk, f"{counter.name}" + (f", {counter.address}" if counter.address else ""))
            for pk, counter in self.counters.items()]]
        self.fields["counter"].initial = self.ANY

    @property
    def several_counters(self) -> bool:
        return len(self.counters) > 1

    def clean_wanted_until(self):
        day = self.cleaned_data.get("wanted_until")
        if day is not None and day < self.today:
            raise forms.ValidationError(_("Cette date est déjà passée : laissez vide ou "
                                          "choisissez une date à venir."))
        return day

    def chosen_counter(self):
        return self.counters.get(self.cleaned_data.get("counter") or "")


class MoveForm(forms.Form):
    slot = forms.ChoiceField(label=_("Nouveau créneau"), widget=forms.RadioSelect,
                             error_messages={"required": _("Choisissez un créneau."),
                                             "invalid_choice": _(
                                                 "Ce créneau n'est plus proposé : choisissez-en "
                                                 "un autre.")})

    def __init__(self, *args, slots=(), labels=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.slots = {str(slot.pk): slot for slot in slots}
        self.fields["slot"].choices = [(pk, labels(slot) if labels else str(slot))
                                       for pk, slot in self.slots.items()]
