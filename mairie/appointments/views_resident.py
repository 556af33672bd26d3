"""Residents' pages of the appointments, all usable without JavaScript: booking a slot, the
confirmation, managing by the signed link (cancel, move, the .ics), the waiting list and
« Mes rendez-vous »."""

from __future__ import annotations

import datetime
import uuid
import zoneinfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from . import abuse, ics, queries, services, services_resident
from .forms import BookingForm, MoveForm, WaitingListForm
from .models import Appointment, Slot
from .templatetags.appointments_time import at_counter, slot_when

DRAFT = "appointments_booking_draft"
MOVE_SLOTS = 20


def _page(request, template: str, context: dict, *, status: int = 200):
    """Render with the organisation's time zone current (a counter's own zone is applied by
    the `at_counter` filter)."""
    with timezone.override(zoneinfo.ZoneInfo(request.organisation.time_zone)):
        return render(request, template, context, status=status)


def _account(request):
    return request.user if request.user.is_authenticated else None


def _slot_label(slot: Slot, *, with_place: bool = True) -> str:
    when = slot_when(at_counter(slot.start, slot.counter))
    if not with_place:
        return when
    place = ", ".join(part for part in (slot.counter.name, slot.counter.address) if part)
    return f"{when} — {place}"


def _labels(slots):
    """Each slot's time, and its place when the slots are at several counters."""
    with_place = len({slot.counter_id for slot in slots}) > 1
    return lambda slot: _slot_label(slot, with_place=with_place)


# --- Booking ---------------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
def book(request, type_pk, slot_pk):
    appointment_type = queries.bookable_type(request.organisation, type_pk)
    slot = queries.bookable_slot(appointment_type, slot_pk)
    account = _account(request)
    draft = request.session.get(DRAFT) or {}
    if account is not None:
        initial = {"name": account.get_full_name(), "email": account.email}
    else:
        initial = {}
    if draft.get("type") == str(appointment_type.pk):
        initial.update({key: draft.get(key, "") for key in ("name", "email", "phone")
                        if draft.get(key)})
    form = BookingForm(request.POST or None, account=account,
                       country=request.organisation.country, initial=initial)
    context = {"type": appointment_type, "slot": slot, "form": form, "account": account,
               "taken": None, "check": None}
    with timezone.override(zoneinfo.ZoneInfo(request.organisation.time_zone)):
        if request.method == "POST":
            email = request.POST.get("email", "") or getattr(account, "email", "")
            check = abuse.guard("book", request, email=email)
            valid = form.is_valid()
            if not check.passed:
                form.add_error(None, check.error)
            elif valid:
                try:
                    appointment = services.book_appointment(
                        appointment_type=appointment_type, slot=slot, account=account,
                        actor=account, name=form.cleaned_data["name"],
                        email=form.cleaned_data["email"], phone=form.cleaned_data["phone"],
                        request=request)
                except services.SlotTaken as exc:
                    # Kept for the next slot's page: the links below do not carry the input.
                    request.session[DRAFT] = {"type": str(appointment_type.pk),
                                              **{key: form.cleaned_data[key]
                                                 for key in ("name", "email", "phone")}}
                    context.update(taken=exc.next_slots, taken_message=exc.message)
                except services.BookingRefused as exc:
                    form.add_error(None, exc.message)
                else:
                    request.session.pop(DRAFT, None)
                    return redirect("appointments:confirmed",
                                    token=services.manage_token(appointment))
            if check.required:
                context["check"] = check
        elif not slot.is_free:
            context.update(taken=queries.alternatives(appointment_type, slot.start),
                           taken_message=_("Ce créneau n'est plus libre. Voici d'autres "
                                           "créneaux libres, à partir de l'heure "
                                           "choisie."))
        return render(request, "appointments/book.html", context)


# --- Managing by the signed link --------------------------------------------------------------


def _by_token(request, token):
    """(appointment, None), or (None, the page explaining the link is not valid)."""
    try:
        return services.appointment_for_token(token=token,
                                              organisation=request.organisation), None
    except services.InvalidLink as exc:
        services_resident.link_refused(request, kind="manage")
        return None, _page(request, "appointments/invalid_link.html",
                           {"message": exc.message}, status=404)


def _actor(request, appointment: Appointment):
    """Who acts through the link: the account that booked, if signed in, else nobody (the
    link is the authority)."""
    account = _account(request)
    if account is not None and account.pk == appointment.account_id:
        return account
    return None


def _manage_context(request, appointment: Appointment, token: str) -> dict:
    return {"appointment": appointment, "type": appointment.appointment_type,
            "slot": appointment.slot, "counter": appointment.slot.counter, "token": token,
            "manage_url": request.build_absolute_uri(_manage_path(token)),
            "changeable": (appointment.status == Appointment.Status.BOOKED
                           and appointment.starts_at > timezone.now())}


def _manage_path(token: str) -> str:
    return reverse("appointments:manage", args=[token])


@require_safe
def confirmed(request, token):
    appointment, refused = _by_token(request, token)
    if refused:
        return refused
    return _page(request, "appointments/confirmed.html",
                 _manage_context(request, appointment, token))


@require_safe
def manage(request, token):
    appointment, refused = _by_token(request, token)
    if refused:
        return refused
    return _page(request, "appointments/manage.html",
                 _manage_context(request, appointment, token))


@require_safe
def calendar_file(request, token):
    appointment, refused = _by_token(request, token)
    if refused:
        return refused
    content = ics.appointment_calendar(
        appointment, method=ics.PUBLISH,
        manage_url=request.build_absolute_uri(_manage_path(token)))
    response = HttpResponse(content, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="rendez-vous.ics"'
    return response


@require_http_methods(["GET", "HEAD", "POST"])
def cancel(request, token):
    appointment, refused = _by_token(request, token)
    if refused:
        return refused
    context = _manage_context(request, appointment, token)
    if request.method == "POST":
        try:
            services.cancel_appointment(appointment=appointment,
                                        actor=_actor(request, appointment), request=request)
        except services.BookingRefused as exc:
            context["error"] = exc.message
        else:
            messages.success(request, _("Votre rendez-vous est annulé. Un courriel de "
                                        "confirmation vous est envoyé."))
            return redirect("appointments:manage", token=token)
    return _page(request, "appointments/cancel.html", context)


def starting_point(request) -> tuple[datetime.datetime | None, str]:
    """Where a list of free slots starts, and the day to show in its date field: just after
    the moment in « apres » (the « Créneaux suivants » link, `next_after`), else the day in
    « a_partir_du » (the date field), else now. A wrong value is ignored."""
    continued = request.GET.get("apres", "")
    if continued:
        try:
            moment = datetime.datetime.fromisoformat(continued)
        except ValueError:
            moment = None
        if moment is not None and timezone.is_aware(moment):
            return moment + datetime.timedelta(seconds=1), ""
    day = request.GET.get("a_partir_du", "")
    if not day:
        return None, ""
    try:
        return timezone.make_aware(datetime.datetime.combine(
            datetime.date.fromisoformat(day), datetime.time.min),
            zoneinfo.ZoneInfo(request.organisation.time_zone)), day
    except ValueError:
        return None, ""


def next_after(slots: list[Slot], limit: int) -> str:
    """The « apres » value of the « Créneaux suivants » link of a full list: its last time."""
    if not slots or len(slots) < limit:
        return ""
    return slots[-1].start.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@require_http_methods(["GET", "HEAD", "POST"])
def move(request, token):
    appointment, refused = _by_token(request, token)
    if refused:
        return refused
    appointment_type = appointment.appointment_type
    after, day = starting_point(request)
    with timezone.override(zoneinfo.ZoneInfo(request.organisation.time_zone)):
        slots = [slot for slot in queries.next_free_times(appointment_type, after=after,
                                                          limit=MOVE_SLOTS + 1)
                 if slot.pk != appointment.slot_id][:MOVE_SLOTS]
        chosen = None
        if request.method == "POST":
            chosen = _chosen_slot(appointment_type, request.POST.get("slot"))
            if chosen is not None and chosen not in slots:
                slots = [chosen, *slots]
        form = MoveForm(request.POST or None, slots=slots, labels=_labels(slots))
        context = {**_manage_context(request, appointment, token), "form": form,
                   "slots": slots, "day": day, "taken_message": "",
                   "next_after": next_after(slots, MOVE_SLOTS)}
        if request.method == "POST" and form.is_valid():
            try:
                services.move_appointment(appointment=appointment, slot=chosen,
                                          actor=_actor(request, appointment), request=request)
            except services.SlotTaken as exc:
                fresh = [s for s in exc.next_slots if s.pk != appointment.slot_id]
                context.update(taken_message=exc.message, slots=fresh,
                               form=MoveForm(slots=fresh, labels=_labels(fresh)))
            except services.BookingRefused as exc:
                form.add_error("slot", exc.message)
            else:
                messages.success(request, _(
                    "Votre rendez-vous est déplacé au %(date)s. Un courriel avec le nouvel "
                    "horaire vous est envoyé.") % {
                    "date": slot_when(at_counter(chosen.start, chosen.counter))})
                return redirect("appointments:manage", token=token)
        return render(request, "appointments/move.html", context)


def _chosen_slot(appointment_type, value) -> Slot | None:
    try:
        return queries.bookable_slot(appointment_type, uuid.UUID(str(value)))
    except (TypeError, ValueError, Http404):
        return None


# --- Waiting list -------------------------------------------------------------------------------


def waiting_list_form(request, appointment_type, data=None) -> WaitingListForm:
    account = _account(request)
    initial = {"name": account.get_full_name(), "email": account.email} if account else {}
    today = timezone.localdate(timezone=zoneinfo.ZoneInfo(request.organisation.time_zone))
    return WaitingListForm(data, initial=initial, today=today,
                           counters=queries.waiting_list_counters(appointment_type))


@require_http_methods(["GET", "HEAD", "POST"])
def waiting_list(request, type_pk):
    appointment_type = queries.bookable_type(request.organisation, type_pk)
    form = waiting_list_form(request, appointment_type,
                             request.POST if request.method == "POST" else None)
    context = {"type": appointment_type, "form": form, "check": None}
    if request.method == "POST":
        account = _account(request)
        check = abuse.guard("waiting_list", request,
                            email=request.POST.get("attente-email", "")
                            or getattr(account, "email", ""))
        valid = form.is_valid()
        if not check.passed:
            form.add_error(None, check.error)
        elif valid:
            try:
                services_resident.join_waiting_list(
                    appointment_type=appointment_type, name=form.cleaned_data["name"],
                    email=form.cleaned_data["email"], counter=form.chosen_counter(),
                    wanted_until=form.cleaned_data["wanted_until"], account=account,
                    request=request)
            except ValidationError as exc:
                if hasattr(exc, "error_dict"):
                    for field, errors in exc.error_dict.items():
                        form.add_error(field if field in form.fields else None, errors)
                else:
                    form.add_error(None, exc.messages)
            else:
                messages.success(request, _(
                    "C'est noté : vous recevrez un courriel à %(email)s dès qu'une place se "
                    "libère. Chaque courriel contient un lien pour vous désinscrire.") % {
                    "email": form.cleaned_data["email"]})
                return redirect("appointments:free-slots", pk=appointment_type.pk)
        if check.required:
            context["check"] = check
    return _page(request, "appointments/waiting_list.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
def waiting_list_leave(request, token):
    try:
        entry = services_resident.entry_for_token(token=token,
                                                  organisation=request.organisation)
    except services_resident.InvalidWaitingLink:
        services_resident.link_refused(request, kind="waiting_list")
        return _page(request, "appointments/invalid_link.html", {
            "message": _("Ce lien de désinscription n'est pas valide : il a été modifié ou "
                         "recopié incomplètement. Utilisez le lien reçu par courriel, ou "
                         "contactez la mairie.")}, status=404)
    left = False
    if request.method == "POST":
        left = services_resident.leave_waiting_list(entry, request=request)
        entry.refresh_from_db()
    return _page(request, "appointments/waiting_list_leave.html",
                 {"entry": entry, "type": entry.appointment_type, "left": left})


# --- Mes rendez-vous ------------------------------------------------------------------------------


@login_required
@require_safe
def mine(request):
    now = timezone.now()
    upcoming, other = [], []
    for appointment in queries.appointments_of_account(request.user):
        item = {"appointment": appointment, "token": services.manage_token(appointment)}
        if appointment.status == Appointment.Status.BOOKED and appointment.starts_at > now:
            upcoming.append(item)
        else:
            other.append(item)
    other.reverse()  # the latest first
    return _page(request, "appointments/mine.html", {"upcoming": upcoming, "other": other})
