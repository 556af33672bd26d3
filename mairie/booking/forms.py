"""Forms of the booking pages."""

from __future__ import annotations

import datetime
import decimal
import zoneinfo

from django import forms
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mairie.core.organisation.models import Role

from .models import Resource


class FreeSearchForm(forms.Form):
    """ "A room for 8 people Thursday afternoon": a day, a time range, a size, a type."""

    day = forms.DateField(label=_("Jour"), widget=forms.DateInput(attrs={"type": "date"}))
    start = forms.TimeField(label=_("De"), widget=forms.TimeInput(attrs={"type": "time"}))
    end = forms.TimeField(label=_("À"), widget=forms.TimeInput(attrs={"type": "time"}))
    min_capacity = forms.IntegerField(label=_("Nombre de personnes"), required=False,
                                      min_value=1, max_value=10000)
    kind = forms.ChoiceField(label=_("Type"), required=False,
                             choices=[("", _("Tous"))] + list(Resource.Kind.choices))

    def __init__(self, *args, organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.organisation = organisation

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            self.add_error("end", _("La fin doit être après le début."))
        return data

    def range(self) -> tuple[datetime.datetime, datetime.datetime]:
        tz = zoneinfo.ZoneInfo(self.organisation.time_zone)
        day = self.cleaned_data["day"]
        return (timezone.make_aware(datetime.datetime.combine(day, self.cleaned_data["start"]),
                                    tz),
                timezone.make_aware(datetime.datetime.combine(day, self.cleaned_data["end"]),
                                    tz))


def _aware(day: datetime.date, time: datetime.time, organisation) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, time),
                               zoneinfo.ZoneInfo(organisation.time_zone))


class Repeat(models.TextChoices):
    NONE = "", _("Une seule fois")
    WEEKLY = "weekly", _("Chaque semaine")
    BIWEEKLY = "biweekly", _("Toutes les deux semaines")
    MONTHLY = "monthly", _("Chaque mois")
    CUSTOM = "custom", _("Règle avancée (RRULE)")


SIMPLE_RULES = {Repeat.WEEKLY: "FREQ=WEEKLY", Repeat.BIWEEKLY: "FREQ=WEEKLY;INTERVAL=2",
                Repeat.MONTHLY: "FREQ=MONTHLY"}


class ReservationForm(forms.Form):
    """One slot (a day, a start and an end time), and optionally its recurrence: a simple
    choice ended by a date or a number of occurrences, or a raw RFC 5545 RRULE."""

    day = forms.DateField(label=_("Jour"),
                          widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    start = forms.TimeField(label=_("De"),
                            widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    end = forms.TimeField(label=_("À"),
                          widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    title = forms.CharField(label=_("Objet"), max_length=200, required=False,
                            help_text=_("Par exemple « Commission des finances »."))
    repeat = forms.ChoiceField(label=_("Répéter"), choices=Repeat.choices, required=False,
                               widget=forms.RadioSelect, initial=Repeat.NONE)
    until = forms.DateField(label=_("Jusqu'au (inclus)"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                            help_text=_("Pour une série : sa date de fin, ou bien le nombre "
                                        "d'occurrences ci-dessous."))
    count = forms.IntegerField(label=_("Nombre d'occurrences"), required=False, min_value=2,
                               max_value=200)
    rrule = forms.CharField(label=_("Règle de récurrence (RRULE, RFC 5545)"), max_length=500,
                            required=False,
                            help_text=_("Avec « Règle avancée » seulement. Par exemple "
                                        "FREQ=WEEKLY;BYDAY=TU,TH;COUNT=10. La première "
                                        "occurrence est le créneau choisi ci-dessus."))

    def __init__(self, *args, organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.organisation = organisation

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            self.add_error("end", _("La fin doit être après le début."))
        repeat = data.get("repeat") or Repeat.NONE
        if repeat in SIMPLE_RULES:
            until, count = data.get("until"), data.get("count")
            if until is None and count is None and "until" not in self.errors \
                    and "count" not in self.errors:
                self.add_error("until", _("Une série doit finir : indiquez sa date de fin ou "
                                          "son nombre d'occurrences."))
            elif until is not None and count is not None:
                self.add_error("count", _("Indiquez soit une date de fin, soit un nombre "
                                          "d'occurrences, pas les deux."))
            elif until is not None and data.get("day") and until < data["day"]:
                self.add_error("until", _("La date de fin est avant le premier jour de la "
                                          "série."))
        elif repeat == Repeat.CUSTOM and not (data.get("rrule") or "").strip():
            self.add_error("rrule", _("Indiquez la règle de récurrence."))
        return data

    def range(self) -> tuple[datetime.datetime, datetime.datetime]:
        day = self.cleaned_data["day"]
        return (_aware(day, self.cleaned_data["start"], self.organisation),
                _aware(day, self.cleaned_data["end"], self.organisation))

    @property
    def recurring(self) -> bool:
        return bool(self.cleaned_data.get("repeat"))

    def rule(self) -> str:
        """The RFC 5545 RRULE of the series ("" for a single slot). UNTIL is the end of the
        chosen day, in the organisation's local time like the occurrences."""
        repeat = self.cleaned_data.get("repeat") or Repeat.NONE
        if repeat == Repeat.CUSTOM:
            return self.cleaned_data["rrule"].strip()
        if repeat not in SIMPLE_RULES:
            return ""
        if self.cleaned_data.get("count"):
            return f"{SIMPLE_RULES[repeat]};COUNT={self.cleaned_data['count']}"
        return f"{SIMPLE_RULES[repeat]};UNTIL={self.cleaned_data['until']:%Y%m%d}T235959"

    def error_field(self, service_field: str) -> str | None:
        """The form field that shows a service error given on `service_field`."""
        if service_field == "rrule":
            return "rrule" if self.cleaned_data.get("repeat") == Repeat.CUSTOM else "repeat"
        return {"start": "day", "end": "end"}.get(service_field)


class RefuseForm(forms.Form):
    reason = forms.CharField(label=_("Motif du refus"), max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 3}),
                             help_text=_("Il est envoyé à la personne qui a demandé."))
    whole_series = forms.BooleanField(label=_("Refuser toutes les occurrences en attente de "
                                              "la série"), required=False)


class CheckOutForm(forms.Form):
    borrower = forms.ModelChoiceField(label=_("Emprunteur"), queryset=None,
                                      empty_label=_("Choisissez un agent"))
    due_on = forms.DateField(label=_("À rendre le"),
                             widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    condition_out = forms.CharField(label=_("État au départ"), max_length=2000, required=False,
                                    widget=forms.Textarea(attrs={"rows": 3}),
                                    help_text=_("Rayures, accessoires remis (chargeur, "
                                                "sacoche)…"))

    def __init__(self, *args, borrowers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["borrower"].queryset = borrowers
        self.fields["borrower"].label_from_instance = (
            lambda user: f"{user.get_full_name() or user.email} ({user.email})")


class CheckInForm(forms.Form):
    condition_in = forms.CharField(label=_("État au retour"), max_length=2000, required=False,
                                   widget=forms.Textarea(attrs={"rows": 3}))


class ResourceForm(forms.Form):
    """A resource and its rules; the "may book" lines are the `RightFormSet` beside it."""

    kind = forms.ChoiceField(label=_("Type"), choices=Resource.Kind.choices,
                             widget=forms.RadioSelect)
    name = forms.CharField(label=_("Nom"), max_length=200)
    service = forms.ModelChoiceField(label=_("Service gestionnaire"), queryset=None,
                                     empty_label=None)
    description = forms.CharField(label=_("Description"), required=False,
                                  widget=forms.Textarea(attrs={"rows": 3}))
    location = forms.CharField(label=_("Lieu"), max_length=300, required=False)
    capacity = forms.IntegerField(label=_("Capacité (places)"), required=False, min_value=1,
                                  max_value=10000)
    equipment = forms.CharField(label=_("Équipements"), max_length=1000, required=False,
                                help_text=_("Séparés par des virgules : vidéoprojecteur, "
                                            "visioconférence…"))
    inventory_number = forms.CharField(label=_("Numéro d'inventaire"), max_length=100,
                                       required=False)
    accessible = forms.BooleanField(label=_("Accessible aux personnes à mobilité réduite"),
                                    required=False)
    accessibility_notes = forms.CharField(label=_("Accessibilité, précisions"), required=False,
                                          widget=forms.Textarea(attrs={"rows": 2}))
    max_days_ahead = forms.IntegerField(label=_("Réservable jusqu'à (jours à l'avance)"),
                                        min_value=1, max_value=730, initial=90)
    max_duration_hours = forms.DecimalField(
        label=_("Durée maximale d'une réservation (heures)"), required=False, min_value=0.5,
        max_value=24 * 31, decimal_places=1, help_text=_("Vide : sans limite."))
    requires_approval = forms.BooleanField(label=_("Chaque réservation doit être validée"),
                                           required=False)
    approver_service = forms.ModelChoiceField(
        label=_("Service qui valide"), queryset=None, required=False,
        empty_label=_("Le service gestionnaire"))
    approver_role = forms.ChoiceField(label=_("Rôle qui valide"), choices=Role.choices,
                                      initial=Role.MANAGER)
    quota_hours_per_week = forms.IntegerField(
        label=_("Heures par semaine et par personne"), required=False, min_value=1,
        max_value=168, help_text=_("Vide : sans limite."))
    quota_future_reservations = forms.IntegerField(
        label=_("Réservations à venir par personne"), required=False, min_value=1,
        max_value=1000, help_text=_("Vide : sans limite."))

    RULE_FIELDS = ("description", "location", "capacity", "inventory_number", "accessible",
                   "accessibility_notes", "max_days_ahead", "requires_approval",
                   "approver_service", "approver_role", "quota_hours_per_week",
                   "quota_future_reservations")

    def __init__(self, *args, services, all_services, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = services
        self.fields["approver_service"].queryset = all_services

    @classmethod
    def initial_of(cls, resource: Resource) -> dict:
        initial = {name: getattr(resource, name) for name in cls.RULE_FIELDS}
        initial.update(kind=resource.kind, name=resource.name, service=resource.service,
                       equipment=", ".join(resource.equipment or []))
        if resource.max_duration:
            initial["max_duration_hours"] = round(
                decimal.Decimal(resource.max_duration.total_seconds()) / 3600, 1)
        return initial

    def values(self) -> dict:
        """The keyword arguments of `services.create_resource`/`update_resource`."""
        data = self.cleaned_data
        values = {name: data[name] for name in self.RULE_FIELDS}
        values["equipment"] = [item.strip() for item in data["equipment"].split(",")
                               if item.strip()]
        hours = data.get("max_duration_hours")
        values["max_duration"] = (datetime.timedelta(minutes=int(hours * 60)) if hours
                                  else None)
        return values


class RightForm(forms.Form):
    service = forms.ModelChoiceField(label=_("Service"), queryset=None, required=False,
                                     empty_label=_("Tout service"))
    role = forms.ChoiceField(label=_("Rôle"), required=False,
                             choices=[("", _("Tout rôle"))] + list(Role.choices))

    def __init__(self, *args, all_services, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = all_services


RightFormSet = forms.formset_factory(RightForm, extra=2, max_num=30, absolute_max=30)


def rights_of(formset) -> list[tuple]:
    """The (service or None, role or "") lines filled in the formset; a blank line is none."""
    lines = []
    for form in formset.forms:
        data = getattr(form, "cleaned_data", None) or {}
        if data.get("service") or data.get("role"):
            lines.append((data.get("service"), data.get("role") or ""))
    return list(dict.fromkeys(lines))
