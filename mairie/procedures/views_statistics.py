"""The agents' statistics page: per procedure and per service they may see (every one for
directors and administrators), as server-side SVG charts, each with its data table."""

from __future__ import annotations

from django import forms
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_safe

from mairie.core.web.views import agent_required

from . import queries
from . import statistics as stats


class StatisticsFilterForm(forms.Form):
    procedure = forms.ChoiceField(label=gettext_lazy("Démarche"), required=False)
    service = forms.ChoiceField(label=gettext_lazy("Service"), required=False)

    def __init__(self, *args, procedures=(), services=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["procedure"].choices = [("", _("Toutes"))] + [
            (str(p.pk), p.title) for p in procedures]
        self.fields["service"].choices = [("", _("Tous"))] + [
            (str(s.pk), s.name) for s in services]


@agent_required
@require_safe
def statistics_page(request):
    organisation = request.organisation
    scope = queries.AgentScope(request.user, organisation)
    procedures = list(stats.procedures_for_statistics(request.user, organisation, scope=scope))
    services = stats.services_of(procedures)
    form = StatisticsFilterForm(request.GET or None, procedures=procedures, services=services)
    chosen = procedures
    if form.is_bound and form.is_valid():
        if form.cleaned_data["procedure"]:
            chosen = [p for p in chosen if str(p.pk) == form.cleaned_data["procedure"]]
        if form.cleaned_data["service"]:
            chosen = [p for p in chosen if str(p.service_id) == form.cleaned_data["service"]]
    with timezone.override(organisation.time_zone or None):
        dossiers = stats.dossiers_for_statistics(request.user, organisation,
                                                 procedures=chosen, scope=scope)
        figures = stats.compute(dossiers, procedures=chosen)
        week_labels = [(date_format(day, "j M"), date_format(day, "j F Y"), n)
                       for day, n in figures.weeks]
    weekly = stats.column_chart([(short, n) for short, _long, n in week_labels])
    by_state = stats.bar_chart([(row["label"], row["count"]) for row in figures.states])
    return render(request, "procedures/agent/statistics.html", {
        "form": form, "figures": figures, "weeks": week_labels,
        "weekly": weekly, "by_state": by_state,
        "median": stats.duration_text(figures.median),
        "procedure_rows": [{**row, "median_text": stats.duration_text(row["median"])}
                           for row in figures.procedures],
        "period_start": figures.start,
        "may_see_all": scope.may_see_all,
    })


urlpatterns = [
    path("agent/statistiques/", statistics_page, name="statistics"),
]
