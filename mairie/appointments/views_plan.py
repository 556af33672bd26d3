"""The plan's administration (`/agent/rendez-vous/planning/…`, decision 0486): counters and
their weekly hours and exceptions, types of appointment, agents' availabilities and absences.
For `rules.may_plan` holders; thin views over `queries.py` and `services.py`. The slots
follow by themselves (the receivers regenerate them after each saved change)."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms.models import model_to_dict
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mairie.core.web.views import agent_required

from . import queries, rules, services
from .forms_agent import (
    AbsenceForm,
    AppointmentTypeForm,
    AvailabilityForm,
    ClosureForm,
    CounterForm,
    OpeningHoursForm,
)


def plan_required(view):
    @agent_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not rules.may_plan(request.user, request.organisation):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


def _form_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _stale(form, exc: services.StalePlan) -> None:
    form.add_error(None, _("Quelqu'un a enregistré une modification pendant que vous "
                           "saisissiez : rien n'a été enregistré. Vos saisies sont gardées ; "
                           "vérifiez l'état actuel puis enregistrez de nouveau."))
    data = form.data.copy()
    data["version"] = services.version_of(exc.current)
    form.data = data


@plan_required
@require_GET
def plan(request):
    organisation = request.organisation
    return render(request, "appointments/agent/plan.html", {
        "counters": queries.counters_for_planner(request.user, organisation),
        "types": queries.types_for_planner(request.user, organisation)})


def _counter_form_page(request, form, counter):
    return render(request, "appointments/agent/counter_form.html",
                  {"form": form, "counter": counter})


@plan_required
@require_http_methods(["GET", "HEAD", "POST"])
def counter_edit(request, pk=None):
    organisation = request.organisation
    counter = queries.counter_for_planner(request.user, organisation, pk) if pk else None
    initial = (dict(model_to_dict(counter, fields=services.COUNTER_FIELDS),
                    version=services.version_of(counter)) if counter else None)
    form = CounterForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.save_counter(actor=request.user, organisation=organisation,
                                          values=form.values(), counter=counter,
                                          expected_version=form.cleaned_data["version"],
                                          request=request)
        except services.StalePlan as exc:
            _stale(form, exc)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Le lieu « %(name)s » est enregistré.")
                             % {"name": saved.name})
            return redirect("appointments:plan-counter", pk=saved.pk)
    return _counter_form_page(request, form, counter)


@plan_required
@require_GET
def counter_page(request, pk):
    organisation = request.organisation
    counter = queries.counter_for_planner(request.user, organisation, pk)
    hours = OpeningHoursForm(hours=counter.opening_hours.all())
    return render(request, "appointments/agent/counter.html", {
        "counter": counter, "days": hours.days(),
        "closures": queries.closures_for_planner(request.user, organisation, counter),
        "availabilities": queries.availabilities_for_planner(request.user, organisation,
                                                             counter)})


@plan_required
@require_http_methods(["GET", "HEAD", "POST"])
def hours_edit(request, pk):
    counter = queries.counter_for_planner(request.user, request.organisation, pk)
    form = OpeningHoursForm(request.POST or None, hours=counter.opening_hours.all(),
                            version=services.version_of(counter))
    if request.method == "POST" and form.is_valid():
        try:
            services.save_opening_hours(actor=request.user, counter=counter, ranges=form.ranges,
                                        expected_version=form.cleaned_data["version"],
                                        request=request)
        except services.StalePlan as exc:
            _stale(form, exc)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Les horaires sont enregistrés ; les créneaux suivent."))
            return redirect("appointments:plan-counter", pk=counter.pk)
    return render(request, "appointments/agent/hours_form.html",
                  {"counter": counter, "form": form})


@plan_required
@require_http_methods(["GET", "HEAD", "POST"])
def closure_new(request, pk):
    counter = queries.counter_for_planner(request.user, request.organisation, pk)
    form = ClosureForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.add_closure(actor=request.user, counter=counter, values=form.values(),
                                 request=request)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("L'exception aux horaires est enregistrée."))
            return redirect("appointments:plan-counter", pk=counter.pk)
    return render(request, "appointments/agent/closure_form.html",
                  {"counter": counter, "form": form})


def _delete(request, row, message):
    if row is None:
        messages.error(request, _("Cette ligne n'existe plus : quelqu'un l'a déjà supprimée."))
        return
    services.delete_plan_row(actor=request.user, row=row, request=request)
    messages.success(request, message)


@plan_required
@require_POST
def closure_delete(request, pk, row):
    counter = queries.counter_for_planner(request.user, request.organisation, pk)
    _delete(request, queries.closures_for_planner(request.user, request.organisation, counter)
            .filter(pk=row).first(), _("L'exception aux horaires est supprimée."))
    return redirect("appointments:plan-counter", pk=counter.pk)


@plan_required
@require_http_methods(["GET", "HEAD", "POST"])
def availability_new(request, pk):
    organisation = request.organisation
    counter = queries.counter_for_planner(request.user, organisation, pk)
    form = AvailabilityForm(request.POST or None,
                            agents=queries.plan_agents(request.user, organisation))
    if request.method == "POST" and form.is_valid():
        try:
            services.add_availability(actor=request.user, counter=counter,
                                      values=form.values(), request=request)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("La disponibilité est enregistrée ; les créneaux "
                                        "suivent."))
            return redirect("appointments:plan-counter", pk=counter.pk)
    return render(request, "appointments/agent/availability_form.html",
                  {"counter": counter, "form": form})


@plan_required
@require_POST
def availability_delete(request, pk, row):
    organisation = request.organisation
    counter = queries.counter_for_planner(request.user, organisation, pk)
    _delete(request, queries.availabilities_for_planner(request.user, organisation, counter)
            .filter(pk=row).first(), _("La disponibilité est supprimée."))
    return redirect("appointments:plan-counter", pk=counter.pk)


@plan_required
@require_http_methods(["GET", "HEAD", "POST"])
def type_edit(request, pk=None):
    organisation = request.organisation
    appointment_type = queries.type_for_planner(request.user, organisation, pk) if pk else None
    initial = None
    if appointment_type is not None:
        initial = dict(model_to_dict(appointment_type, fields=[
            *services.TYPE_FIELDS, "counters", "agents"]),
            version=services.version_of(appointment_type))
    form = AppointmentTypeForm(request.POST or None, initial=initial,
                               counters=queries.counters_for_planner(request.user, organisation),
                               agents=queries.plan_agents(request.user, organisation))
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.save_type(actor=request.user, organisation=organisation,
                                       values=form.values(),
                                       counters=form.cleaned_data["counters"],
                                       agents=form.cleaned_data["agents"],
                                       appointment_type=appointment_type,
                                       expected_version=form.cleaned_data["version"],
                                       request=request)
        except services.StalePlan as exc:
            _stale(form, exc)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Le type « %(name)s » est enregistré ; ses créneaux "
                                        "suivent.") % {"name": saved.name})
            return redirect("appointments:plan")
    return render(request, "appointments/agent/type_form.html",
                  {"form": form, "appointment_type": appointment_type})


@plan_required
@require_http_methods(["GET", "HEAD", "POST"])
def absences(request):
    organisation = request.organisation
    form = AbsenceForm(request.POST or None, organisation=organisation,
                       agents=queries.plan_agents(request.user, organisation))
    if request.method == "POST" and form.is_valid():
        try:
            services.add_absence(actor=request.user, organisation=organisation,
                                 values=form.values(), request=request)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("L'absence est enregistrée ; les créneaux de l'agent "
                                        "suivent."))
            return redirect("appointments:plan-absences")
    return render(request, "appointments/agent/absences.html", {
        "form": form, "absences": queries.absences_for_planner(request.user, organisation)})


@plan_required
@require_POST
def absence_delete(request, row):
    found = (queries.absences_for_planner(request.user, request.organisation,
                                          upcoming_only=False).filter(pk=row).first())
    _delete(request, found, _("L'absence est supprimée."))
    return redirect("appointments:plan-absences")

