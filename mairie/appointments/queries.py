"""Reads of the appointments: the offer of free slots (public, per organisation), and one
appointment for its resident or an agent."""

from __future__ import annotations

import datetime

from django.db.models import F, QuerySet
from django.http import Http404
from django.utils import timezone

from . import rules
from .models import Appointment, AppointmentType, Slot

SEARCH_LIMIT = 50


def bookable_types(organisation) -> QuerySet[AppointmentType]:
    """The types a resident may book online on the organisation's portal."""
    return AppointmentType.objects.filter(organisation=organisation, is_active=True)


def bookable_type(organisation, pk) -> AppointmentType:
    found = bookable_types(organisation).filter(pk=pk).select_related("organisation").first()
    if found is None:
        raise Http404
    return found


def booking_window(appointment_type: AppointmentType,
                   now: datetime.datetime | None = None) -> tuple[datetime.datetime,
                                                                  datetime.datetime]:
    """From when to when the type may be booked now: after the minimal notice, up to the
    horizon."""
    now = now or timezone.now()
    return (now + datetime.timedelta(hours=appointment_type.min_notice_hours),
            now + datetime.timedelta(days=appointment_type.max_days_ahead))


def free_slots(appointment_type: AppointmentType, *, after: datetime.datetime | None = None,
               counter=None) -> QuerySet[Slot]:
    """The type's free slots within its booking window, from `after`, in time order. Served
    by the partial index `appointments_slot_search` (type, start) whatever the horizon."""
    opens, closes = booking_window(appointment_type)
    start = max(after, opens) if after else opens
    slots = Slot.objects.filter(organisation_id=appointment_type.organisation_id,
                                appointment_type=appointment_type, blocked=False,
                                withdrawn=False, holds=0, start__gte=start,
                                start__lte=closes, booked__lt=F("capacity"))
    if counter is not None:
        slots = slots.filter(counter=counter)
    return slots.order_by("start", "pk")


def next_free_slots(appointment_type: AppointmentType, *,
                    after: datetime.datetime | None = None, limit: int = 10,
                    counter=None) -> list[Slot]:
    """The next `limit` free slots of the type (at most SEARCH_LIMIT), with their counter."""
    return list(free_slots(appointment_type, after=after, counter=counter)
                .select_related("counter")[:max(1, min(limit, SEARCH_LIMIT))])


def bookable_slot(appointment_type: AppointmentType, pk) -> Slot:
    """A slot of the type chosen on the page (free or not: the booking says why not)."""
    found = (Slot.objects.filter(organisation_id=appointment_type.organisation_id,
                                 appointment_type=appointment_type, pk=pk)
             .select_related("counter").first())
    if found is None:
        raise Http404
    return found


def appointments_of_account(user) -> QuerySet[Appointment]:
    """A resident's own appointments, next first."""
    if not getattr(user, "is_authenticated", False):
        return Appointment.objects.none()
    return (Appointment.objects.filter(organisation_id=user.organisation_id, account=user)
            .select_related("slot__counter", "appointment_type").order_by("starts_at"))


def appointment_for_agent(user, organisation, pk) -> Appointment:
    if not rules.books_for_residents(user, organisation):
        raise Http404
    found = (Appointment.objects.filter(organisation=organisation, pk=pk)
             .select_related("slot__counter", "appointment_type").first())
    if found is None:
        raise Http404
    return found
