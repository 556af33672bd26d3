"""The agents' desk (`/agent/rendez-vous/…`, decision 0485): the day and the week of the
counters an agent works, check-in and no-show, blocking slots, booking and cancelling for a
resident, linking a dossier, the day's export. Thin views: reads in `queries.py`, writes in
`services.py`, permissions in `rules.py`. Everything works without JavaScript."""

from __future__ import annotations

import datetime
import io

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mairie.core.web.views import agent_required

from . import queries, rules, services
from .forms_agent import (
    AgentNoteForm,
    AttendanceForm,
    DeskBookForm,
    DeskFilterForm,
    LinkDossierForm,
    local_today,
)
from .models import Appointment

DESK_PREFIX = "/agent/rendez-vous/"


def _filters(request):
    organisation = request.organisation
    counters = list(queries.desk_counters(request.user, organisation))
    mine = queries.counters_of_agent(request.user, organisation, counters)
    agents = list(queries.desk_agents(organisation, counters))
    form = DeskFilterForm(request.GET or None, counters=counters, mine=mine, agents=agents,
                          today=local_today(organisation))
    return form, *form.selection()


def _back(request, fallback: str) -> str:
    """Where an action returns: the desk page it was posted from (its filters kept)."""
    back = request.POST.get("retour", "")
    if back.startswith(DESK_PREFIX) and not back.startswith("//") and "\\" not in back:
        return back
    return fallback


def _context(request, form, counters, agent, day, **extra):
    return {"form": form, "counters": counters, "agent": agent, "day": day,
            "back": request.get_full_path(), "query": form.query(),
            "may_plan": rules.may_plan(request.user, request.organisation), **extra}


@agent_required
@require_GET
def desk_day(request):
    form, counters, agent, day = _filters(request)
    every_slot = form.every_slot()
    slots = queries.desk_slots(counters, day=day, agent=agent, booked_only=not every_slot)
    truncated = len(slots) > queries.DESK_SLOT_LIMIT
    now = timezone.now()
    for slot in slots:
        slot.may_block = rules.may_block(request.user, slot)
        slot.started = slot.start <= now
    return render(request, "appointments/agent/desk_day.html", _context(
        request, form, counters, agent, day, slots=slots[:queries.DESK_SLOT_LIMIT],
        truncated=truncated, every_slot=every_slot,
        free_count=(None if every_slot
                    else queries.desk_free_count(counters, day=day, agent=agent)),
        every_slot_query=form.query(afficher="tout"),
        previous=form.query(date=(day - datetime.timedelta(days=1))
                                                 .isoformat()),
        next=form.query(date=(day + datetime.timedelta(days=1)).isoformat()),
        week=form.query(date=day.isoformat())))


@agent_required
@require_GET
def desk_week(request):
    form, counters, agent, day = _filters(request)
    monday = day - datetime.timedelta(days=day.weekday())
    days = queries.desk_week(counters, monday=monday, agent=agent)
    for item in days:
        item["query"] = form.query(date=item["day"].isoformat())
    return render(request, "appointments/agent/desk_week.html", _context(
        request, form, counters, agent, day, days=days, monday=monday,
        sunday=monday + datetime.timedelta(days=6),
        previous=form.query(date=(monday - datetime.timedelta(days=7)).isoformat()),
        next=form.query(date=(monday + datetime.timedelta(days=7)).isoformat())))


@agent_required
@require_GET
def desk_export(request):
    """The day's list as CSV for a spreadsheet (UTF-8 with a byte-order mark, « ; »
    separated, formula-like cells neutralised), audited: it holds personal data."""
    from mairie.procedures.exports import CsvWriter

    _form, counters, agent, day = _filters(request)
    if not counters:
        raise Http404
    rows = queries.desk_export_rows(counters, day=day, agent=agent)
    services.record_desk_export(actor=request.user, organisation=request.organisation,
                                counters=counters, day=day, rows=len(rows), request=request)
    columns = [("heure", _("heure")), ("lieu", _("lieu")), ("agent", _("agent")),
               ("type", _("type")), ("nom", _("nom")), ("telephone", _("téléphone")),
               ("courriel", _("courriel")), ("presence", _("présence")),
               ("dossier", _("dossier"))]
    stream = io.BytesIO()
    writer = CsvWriter(stream, columns)
    for appointment in rows:
        writer.write([appointment.local_start.strftime("%H:%M"), appointment.slot.counter.name,
                      str(appointment.slot.agent), appointment.appointment_type.name,
                      appointment.name, appointment.phone, appointment.email,
                      appointment.get_attendance_display(),
                      appointment.dossier.number if appointment.dossier_id else ""])
    writer.close()
    response = HttpResponse(stream.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="rendez-vous-{day:%Y-%m-%d}.csv"'
    response["Cache-Control"] = "no-store"
    return response


@agent_required
@require_POST
def attendance(request, pk):
    appointment = queries.desk_appointment(request.user, request.organisation, pk)
    form = AttendanceForm(request.POST)
    back = _back(request, reverse("appointments:desk-appointment", args=[appointment.pk]))
    if "presence" not in request.POST or not form.is_valid():
        messages.error(request, _("Cette présence n'existe pas."))
        return redirect(back)
    try:
        services.set_attendance(actor=request.user, appointment=appointment,
                                attendance=form.cleaned_data["presence"],
                                expected=form.cleaned_data["vue"], request=request)
    except services.BookingRefused as exc:
        messages.error(request, exc.message)
    else:
        labels = {Appointment.Attendance.ARRIVED: _("%(name)s est noté(e) « Arrivé »."),
                  Appointment.Attendance.NO_SHOW: _("%(name)s est noté(e) « Absent »."),
                  Appointment.Attendance.EXPECTED: _("La présence de %(name)s est de nouveau "
                                                     "« Attendu »."), }
        messages.success(request, labels[form.cleaned_data["presence"]]
                         % {"name": appointment.name})
    return redirect(back)


@agent_required
@require_POST
def block(request, pk):
    slot = queries.desk_slot(request.user, request.organisation, pk)
    blocked = request.POST.get("bloquer") == "1"
    try:
        services.desk_block_slot(actor=request.user, slot=slot, blocked=blocked)
    except services.BookingRefused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, (_("Le créneau de %(time)s est bloqué : il n'est plus proposé.")
                                   if blocked else
                                   _("Le créneau de %(time)s est de nouveau proposé."))
                         % {"time": slot.local_start.strftime("%H:%M")})
    return redirect(_back(request, reverse("appointments:desk-day")))


def _next_slots(slot, exc=None):
    if exc is not None and getattr(exc, "next_slots", None) is not None:
        found = exc.next_slots
    else:
        found = queries.next_free_slots(slot.appointment_type, limit=5, notice=False)
    for other in found:
        other.local_start = other.start.astimezone(other.counter.zone)
    return found


@agent_required
@require_http_methods(["GET", "HEAD", "POST"])
def book(request, pk):
    """Book the slot for a resident who calls or stands at the counter. When it is taken
    meanwhile, the page comes back with what was typed and the next free slots."""
    slot = queries.desk_slot(request.user, request.organisation, pk)
    form = DeskBookForm(request.POST or None)
    alternatives = []
    if request.method == "POST" and form.is_valid():
        try:
            appointment = services.desk_book(actor=request.user, slot=slot, request=request,
                                             **form.cleaned_data)
        except services.SlotTaken as exc:
            form.add_error(None, exc.message)
            alternatives = _next_slots(slot, exc)
        except services.BookingRefused as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Rendez-vous réservé pour %(name)s le %(date)s à "
                                        "%(time)s : la confirmation part par courriel.")
                             % {"name": appointment.name,
                                "date": slot.local_start.strftime("%d/%m/%Y"),
                                "time": slot.local_start.strftime("%H:%M")})
            return redirect("appointments:desk-appointment", pk=appointment.pk)
    return render(request, "appointments/agent/book.html", {
        "slot": slot, "form": form, "alternatives": alternatives})


def _appointment_page(request, appointment, link_form=None, note_form=None, status=200,
                      **extra):
    return render(request, "appointments/agent/appointment.html", {
        "appointment": appointment,
        "link_form": link_form or LinkDossierForm(initial={
            "number": appointment.dossier.number if appointment.dossier_id else "",
            "current": str(appointment.dossier_id or "")}),
        "note_form": note_form or AgentNoteForm(initial={"note": appointment.agent_note,
                                                         "vue": appointment.agent_note}),
        "attendance": Appointment.Attendance,
        "started": appointment.starts_at <= timezone.now(),
        "day_query": f"date={appointment.local_start.date().isoformat()}&lieu="
                     f"{appointment.slot.counter_id}",
        **extra,
    }, status=status)


@agent_required
@require_GET
def appointment_detail(request, pk):
    appointment = queries.desk_appointment(request.user, request.organisation, pk)
    return _appointment_page(request, appointment)


@agent_required
@require_POST
def cancel(request, pk):
    appointment = queries.desk_appointment(request.user, request.organisation, pk)
    try:
        services.desk_cancel(actor=request.user, appointment=appointment, request=request)
    except services.BookingRefused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Le rendez-vous de %(name)s est annulé ; le créneau est "
                                    "de nouveau libre.") % {"name": appointment.name})
    return redirect("appointments:desk-appointment", pk=appointment.pk)


@agent_required
@require_POST
def link_dossier(request, pk):
    appointment = queries.desk_appointment(request.user, request.organisation, pk)
    form = LinkDossierForm(request.POST)
    if form.is_valid():
        number = form.cleaned_data["number"].strip()
        dossier = queries.linkable_dossier(request.user, request.organisation, number)
        if number and dossier is None:
            form.add_error("number", _("Aucun dossier de ce numéro parmi ceux que vous pouvez "
                                       "ouvrir."))
        else:
            try:
                services.link_dossier(actor=request.user, appointment=appointment,
                                      dossier=dossier,
                                      expected_dossier_id=form.cleaned_data["current"],
                                      request=request)
            except services.StaleDesk as exc:
                form.add_error(None, exc.message)
                data = form.data.copy()
                data["current"] = str(exc.current.dossier_id or "")
                form.data = data
                appointment.dossier = exc.current.dossier
            else:
                messages.success(request, _("Le rendez-vous est lié au dossier %(number)s.")
                                 % {"number": number} if dossier is not None
                                 else _("Le rendez-vous n'est plus lié à un dossier."))
                return redirect("appointments:desk-appointment", pk=appointment.pk)
    return _appointment_page(request, appointment, link_form=form)



@agent_required
@require_POST
def agent_note(request, pk):
    """Save the agents' note. When another agent changed it meanwhile, the page comes back
    with the current note shown and this agent's text kept in the field (decision 0487)."""
    appointment = queries.desk_appointment(request.user, request.organisation, pk)
    form = AgentNoteForm(request.POST)
    if form.is_valid():
        try:
            services.set_agent_note(actor=request.user, appointment=appointment,
                                    note=form.cleaned_data["note"],
                                    seen=form.cleaned_data["vue"], request=request)
        except services.StaleDesk as exc:
            form.add_error(None, exc.message)
            data = form.data.copy()
            data["vue"] = exc.current.agent_note  # the next save replaces it knowingly
            form.data = data
            appointment.agent_note = exc.current.agent_note
            return _appointment_page(request, appointment, note_form=form,
                                     note_changed=True)
        except ValidationError as exc:
            form.add_error(None, exc)  # {"note": …}: on its field
        else:
            messages.success(request, _("La note de l'agent est enregistrée."))
            return redirect("appointments:desk-appointment", pk=appointment.pk)
    return _appointment_page(request, appointment, note_form=form)
