"""Residents' pages: choose a type of appointment, see its next free slots (no JavaScript).
Booking, the signed links and the waiting list are in `views_resident.py`."""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.http import require_safe

from . import queries
from .views_resident import next_after, starting_point, waiting_list_form

SLOTS_PER_PAGE = 20


@require_safe
def types(request):
    return render(request, "appointments/types.html",
                  {"types": queries.bookable_types(request.organisation)})


@require_safe
def free_slots(request, pk):
    appointment_type = queries.bookable_type(request.organisation, pk)
    after, day = starting_point(request)
    slots = queries.next_free_times(appointment_type, after=after, limit=SLOTS_PER_PAGE)
    return render(request, "appointments/free_slots.html", {
        "type": appointment_type, "slots": slots, "day": day,
        # The form itself only when nothing is offered; else a link to its page, which keeps
        # the page a rush reads light (no form, no CSRF cookie).
        "waiting_form": None if slots else waiting_list_form(request, appointment_type),
        "next_after": next_after(slots, SLOTS_PER_PAGE)})
