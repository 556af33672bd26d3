"""Residents' pages: choose a type of appointment, see its next free slots (no JavaScript).
Booking, the signed links and the waiting list are in `views_resident.py`."""

from __future__ import annotations

import datetime

from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from . import queries

SLOTS_PER_PAGE = 20


@require_safe
def types(request):
    return render(request, "appointments/types.html",
                  {"types": queries.bookable_types(request.organisation)})


@require_safe
def free_slots(request, pk):
    appointment_type = queries.bookable_type(request.organisation, pk)
    after = None
    day = request.GET.get("a_partir_du", "")
    if day:
        try:
            after = timezone.make_aware(datetime.datetime.combine(
                datetime.date.fromisoformat(day), datetime.time.min))
        except ValueError:
            after = None
    slots = queries.next_free_slots(appointment_type, after=after, limit=SLOTS_PER_PAGE)
    from .views_resident import waiting_list_form

    return render(request, "appointments/free_slots.html", {
        "type": appointment_type, "slots": slots, "day": day if after else "",
        # The form itself only when nothing is offered; else a link to its page, which keeps
        # the page a rush reads light (no form, no CSRF cookie).
        "waiting_form": None if slots else waiting_list_form(request, appointment_type),
        "next_day": (timezone.localdate(slots[-1].start) + datetime.timedelta(days=1)
                     if len(slots) == SLOTS_PER_PAGE else None)})
