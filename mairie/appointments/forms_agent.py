"""Forms of the agents' appointment pages: the desk's filters and actions (decision 0485)
and the plan's administration (decision 0486)."""

from __future__ import annotations

import datetime
import zoneinfo

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import (
    AGENT_NOTE_MAX_LENGTH,
    AgentAvailability,
    Appointment,
    AppointmentType,
    Closure,
    Counter,
    Weekday,
)

ALL = "tous"
MINE = ""
# What the day shows: the appointments (and blocked slots), or every slot.
BOOKED, EVERY_SLOT = "", "tout"
DATE = {"widget": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}


def _time(label, required=False):
    return forms.TimeField(label=label, required=required,
                           widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))


# --- The desk ------------------------------------------------------------------------------


class DeskFilterForm(forms.Form):
    """Which counters, which agent, which day (or week). Default: today at the agent's own
    counters (all the counters they see when they receive nowhere)."""

    lieu = forms.ChoiceField(label=_("Lieu d'accueil"), required=False)
    agent = forms.ChoiceField(label=_("Agent"), required=False)
    date = forms.DateField(label=_("Jour"), required=False, **DATE)
    afficher = forms.ChoiceField(
        label=_("Créneaux"), required=False,
        choices=[(BOOKED, _("Rendez-vous pris et créneaux bloqués")),
                 (EVERY_SLOT, _("Tous les créneaux, libres compris"))])

    def __init__(self, data, *, counters, mine, agents, today):
        super().__init__(data)
        self.counters, self.mine, self.agents, self.today = counters, mine, agents, today
        choices = [(MINE, _("Mes lieux d'accueil"))] if mine else []
        choices += [(ALL, _("Tous les lieux"))] + [(str(c.pk), c.name) for c in counters]
        self.fields["lieu"].choices = choices
        self.fields["agent"].choices = [("", _("Tous les agents"))] + [
            (str(a.pk), str(a)) for a in agents]

    def selection(self):
        """(counters, agent or None, day), falling back to the defaults on bad input."""
        data = self.cleaned_data if self.is_valid() else {}
        chosen = data.get("lieu", MINE)
        if chosen == ALL or (chosen == MINE and not self.mine):
            counters = list(self.counters)
        elif chosen == MINE:
            counters = list(self.mine)
        else:
            counters = [c for c in self.counters if str(c.pk) == chosen]
        agent = next((a for a in self.agents if str(a.pk) == data.get("agent")), None)
        return counters, agent, data.get("date") or self.today

    def every_slot(self) -> bool:
        """Whether the day lists the free slots too (not by default: the agents' day is the
        people they receive; the free slots are one choice away)."""
        return self.is_valid() and self.cleaned_data.get("afficher") == EVERY_SLOT

    def query(self, **changes) -> str:
        """The filters as a query string, with `changes` (e.g. another date)."""
        from urllib.parse import urlencode

        data = self.cleaned_data if self.is_valid() else {}
        values = {"lieu": data.get("lieu", MINE), "agent": data.get("agent", ""),
                  "date": (data.get("date") or self.today).isoformat(),
                  "afficher": data.get("afficher", BOOKED)}
        values.update(changes)
        return urlencode({key: value for key, value in values.items() if value})


class AttendanceForm(forms.Form):
    presence = forms.ChoiceField(choices=Appointment.Attendance.choices, required=False)
    vue = forms.ChoiceField(choices=Appointment.Attendance.choices, required=False)


class DeskBookForm(forms.Form):
    """Booking for a resident on the phone or at the counter."""

    name = forms.CharField(label=_("Nom et prénom"), max_length=200)
    email = forms.EmailField(label=_("Courriel"),
                             help_text=_("La confirmation et le lien pour annuler y sont "
                                         "envoyés."))
    phone = forms.CharField(label=_("Téléphone"), max_length=30,
                            help_text=_("Par exemple 06 12 34 56 78."))
    channel = forms.ChoiceField(label=_("La personne"), widget=forms.RadioSelect,
                                choices=[(Appointment.Channel.PHONE, _("appelle au téléphone")),
                                         (Appointment.Channel.COUNTER, _("est à l'accueil"))],
                                initial=Appointment.Channel.PHONE)


class LinkDossierForm(forms.Form):
    number = forms.CharField(label=_("Numéro du dossier"), max_length=20, required=False,
                             help_text=_("Par exemple 2026-000123 ; vide pour retirer le "
                                         "lien."))
    current = forms.CharField(widget=forms.HiddenInput, required=False)


class NoteField(forms.CharField):
    """A textarea's text with its line breaks as « \n » before its length is checked: the
    browser counts a line break as one character, and sends it as two."""

    def to_python(self, value):
        value = super().to_python(value)
        return value.replace("\r\n", "\n").replace("\r", "\n")


class AgentNoteForm(forms.Form):
    """The agents' note of an appointment. `vue` is the note the agent read (decision
    0487): another agent's change meanwhile is not overwritten."""

    note = NoteField(
        label=_("Note de l'agent"), max_length=AGENT_NOTE_MAX_LENGTH, required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Pour les agents de l'accueil, jamais montrée à la personne : pièces à "
                    "apporter, rappel à faire… 2 000 caractères au plus ; vide pour effacer."))
    vue = NoteField(widget=forms.HiddenInput, required=False)


# --- The plan --------------------------------------------------------------------------------


class VersionedForm(forms.ModelForm):
    version = forms.CharField(widget=forms.HiddenInput, required=False)

    def values(self) -> dict:
        return {name: self.cleaned_data[name] for name in self._meta.fields
                if name in self.cleaned_data}


class CounterForm(VersionedForm):
    class Meta:
        model = Counter
        fields = ["name", "address", "time_zone", "holiday_subdivision", "is_active"]


RANGES_PER_DAY = 3


class OpeningHoursForm(forms.Form):
    """The weekly hours: up to three ranges a day (a lunch break makes two)."""

    version = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, data=None, *, hours=(), version="", **kwargs):
        initial = {"version": version}
        per_day: dict[int, list] = {}
        for row in hours:
            per_day.setdefault(row.weekday, []).append(row)
        for weekday, rows in per_day.items():
            for index, row in enumerate(sorted(rows, key=lambda r: r.start)[:RANGES_PER_DAY]):
                initial[f"d{weekday}_{index}_start"] = row.start
                initial[f"d{weekday}_{index}_end"] = row.end
        super().__init__(data, initial=initial, **kwargs)
        for weekday in Weekday:
            for index in range(RANGES_PER_DAY):
                for part, label in (("start", _("de")), ("end", _("à"))):
                    self.fields[f"d{weekday}_{index}_{part}"] = _time(
                        _("%(day)s, plage %(n)s, %(part)s") % {
                            "day": weekday.label, "n": index + 1, "part": label})

    def days(self):
        """For the template: per weekday, its label and its ranges' (start, end) fields."""
        return [(weekday.label, [(self[f"d{weekday}_{i}_start"], self[f"d{weekday}_{i}_end"])
                                 for i in range(RANGES_PER_DAY)]) for weekday in Weekday]

    def clean(self):
        data = super().clean()
        ranges = []
        for weekday in Weekday:
            day = []
            for index in range(RANGES_PER_DAY):
                start_name, end_name = f"d{weekday}_{index}_start", f"d{weekday}_{index}_end"
                start, end = data.get(start_name), data.get(end_name)
                if start_name in self.errors or end_name in self.errors:
                    continue
                if (start is None) != (end is None):
                    self.add_error(end_name if end is None else start_name,
                                   _("Indiquez l'heure de début et celle de fin."))
                elif start is not None and not start < end:
                    self.add_error(end_name, _("L'heure de fin doit être après celle de "
                                               "début."))
                elif start is not None:
                    for other_start, other_end, _other in day:
                        if start < other_end and other_start < end:
                            self.add_error(start_name, _("Cette plage chevauche une autre "
                                                         "plage du même jour."))
                            break
                    else:
                        day.append((start, end, index))
            ranges += [(int(weekday), start, end) for start, end, _i in day]
        self.ranges = ranges
        return data


class ClosureForm(forms.ModelForm):
    class Meta:
        model = Closure
        fields = ["kind", "starts_on", "ends_on", "start", "end", "label"]
        widgets = {"kind": forms.RadioSelect,
                   "starts_on": DATE["widget"], "ends_on": DATE["widget"],
                   "start": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                   "end": forms.TimeInput(attrs={"type": "time"}, format="%H:%M")}
        help_texts = {"start": _("Vide : toute la journée (fermeture seulement).")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = Closure.Kind.choices

    def clean(self):
        data = super().clean()
        starts_on, ends_on = data.get("starts_on"), data.get("ends_on")
        if starts_on and ends_on and ends_on < starts_on:
            self.add_error("ends_on", _("La date de fin doit être le jour de début ou après."))
        start, end = data.get("start"), data.get("end")
        if (start is None) != (end is None) and "start" not in self.errors \
                and "end" not in self.errors:
            self.add_error("end" if end is None else "start",
                           _("Indiquez les deux heures, ou aucune pour toute la journée."))
        elif start is not None and end is not None and not start < end:
            self.add_error("end", _("L'heure de fin doit être après celle de début."))
        if data.get("kind") == Closure.Kind.OPEN and start is None and "start" not in self.errors:
            self.add_error("start", _("Une ouverture exceptionnelle a besoin de ses heures."))
        return data

    def _post_clean(self):  # the model's checks are the service's; keep the form's messages
        pass

    def values(self) -> dict:
        return {name: self.cleaned_data[name] for name in self._meta.fields}


class AppointmentTypeForm(VersionedForm):
    class Meta:
        model = AppointmentType
        fields = ["name", "description", "duration_minutes", "capacity", "counters", "agents",
                  "min_notice_hours", "max_days_ahead", "max_future_per_person", "is_active"]
        widgets = {"counters": forms.CheckboxSelectMultiple,
                   "agents": forms.CheckboxSelectMultiple}

    def __init__(self, *args, counters, agents, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["counters"].queryset = counters
        self.fields["agents"].queryset = agents
        self.fields["agents"].label_from_instance = lambda user: str(user)

    def _save_m2m(self):  # written by the service
        pass

    def values(self) -> dict:
        return {name: self.cleaned_data[name] for name in self._meta.fields
                if name not in ("counters", "agents")}


class AvailabilityForm(forms.ModelForm):
    class Meta:
        model = AgentAvailability
        fields = ["agent", "weekday", "on_date", "start", "end", "valid_from", "valid_until"]
        widgets = {"on_date": DATE["widget"], "valid_from": DATE["widget"],
                   "valid_until": DATE["widget"],
                   "start": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                   "end": forms.TimeInput(attrs={"type": "time"}, format="%H:%M")}
        help_texts = {"weekday": _("Chaque semaine ce jour-là…"),
                      "on_date": _("…ou seulement ce jour-là (une ouverture exceptionnelle)."),
                      "valid_until": _("Vide : sans fin.")}

    def __init__(self, *args, agents, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agent"].queryset = agents
        self.fields["agent"].label_from_instance = lambda user: str(user)
        self.fields["weekday"].choices = [("", _("— aucun —"))] + list(Weekday.choices)

    def clean(self):
        data = super().clean()
        if (data.get("weekday") is None) == (data.get("on_date") is None) \
                and "weekday" not in self.errors and "on_date" not in self.errors:
            self.add_error("weekday", _("Choisissez un jour de la semaine, ou une date, pas "
                                        "les deux."))
        start, end = data.get("start"), data.get("end")
        if start and end and not start < end:
            self.add_error("end", _("L'heure de fin doit être après celle de début."))
        valid_from, valid_until = data.get("valid_from"), data.get("valid_until")
        if valid_from and valid_until and valid_until < valid_from:
            self.add_error("valid_until", _("La fin de validité doit être après son début."))
        return data

    def _post_clean(self):
        pass

    def values(self) -> dict:
        return {name: self.cleaned_data[name] for name in self._meta.fields}


class AbsenceForm(forms.Form):
    agent = forms.ModelChoiceField(label=_("Agent"), queryset=None)
    starts_on = forms.DateField(label=_("Du"), **DATE)
    starts_time = _time(_("à partir de"))
    ends_on = forms.DateField(label=_("Au (inclus)"), **DATE)
    ends_time = _time(_("jusqu'à"))
    reason = forms.CharField(label=_("Motif"), max_length=200, required=False,
                             help_text=_("Congé, formation… (visible des agents qui "
                                         "planifient)."))

    def __init__(self, *args, agents, organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agent"].queryset = agents
        self.fields["agent"].label_from_instance = lambda user: str(user)
        self.fields["starts_time"].help_text = _("Vide : dès le début de la journée.")
        self.fields["ends_time"].help_text = _("Vide : jusqu'à la fin de la journée.")
        self.zone = zoneinfo.ZoneInfo(organisation.time_zone)

    def clean(self):
        data = super().clean()
        if data.get("starts_on") and data.get("ends_on"):
            starts = datetime.datetime.combine(data["starts_on"],
                                               data.get("starts_time") or datetime.time.min,
                                               tzinfo=self.zone)
            ends = (datetime.datetime.combine(data["ends_on"], data["ends_time"],
                                              tzinfo=self.zone) if data.get("ends_time")
                    else datetime.datetime.combine(data["ends_on"] + datetime.timedelta(days=1),
                                                   datetime.time.min, tzinfo=self.zone))
            if not starts < ends:
                self.add_error("ends_on", _("La fin de l'absence doit être après son début."))
            data["starts_at"], data["ends_at"] = starts, ends
        return data

    def values(self) -> dict:
        return {"agent": self.cleaned_data["agent"], "starts_at": self.cleaned_data["starts_at"],
                "ends_at": self.cleaned_data["ends_at"],
                "reason": self.cleaned_data["reason"]}


def local_today(organisation) -> datetime.date:
    return timezone.localdate(timezone=zoneinfo.ZoneInfo(organisation.time_zone))
