"""Forms of the booking pages."""

from __future__ import annotations

import datetime
import zoneinfo

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

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
