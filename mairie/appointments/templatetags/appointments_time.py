"""Times of appointments as the resident reads them: at the counter's wall clock."""

from __future__ import annotations

import zoneinfo

from django import template
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def at_counter(value, counter=None):
    """An aware moment as a naive wall-clock time of `counter`'s time zone (its own, else the
    current one, which the pages and e-mails set to the organisation's or counter's)."""
    if value is None:
        return value
    zone = getattr(counter, "time_zone", "") or ""
    tz = zoneinfo.ZoneInfo(zone) if zone else timezone.get_current_timezone()
    return timezone.make_naive(value, tz)


def slot_when(start_at_counter, days: dict | None = None) -> str:
    """« lundi 14 décembre 2026, 10h00 » for a wall-clock time; `days` caches the date part
    (a list of slots spans a few days)."""
    day = start_at_counter.date()
    label = days.get(day) if days is not None else None
    if label is None:
        label = formats.date_format(start_at_counter, "l j F Y")
        if days is not None:
            days[day] = label
    return f"{label}, {start_at_counter:%H}h{start_at_counter:%M}"


_SLOT_SENTINEL = "00000000-0000-0000-0000-000000000000"


@register.simple_tag
def slot_links(appointment_type, slots):
    """The items of a list of free slots, each a link to its booking page: built here rather
    than in a template loop, since the page is the one a rush of residents reads (bench/)."""
    if not slots:
        return format_html('<li class="empty-state">{}</li>', _(
            "Aucun créneau libre pour le moment : revenez plus tard, de nouveaux créneaux "
            "s'ouvrent chaque jour."))
    link = reverse("appointments:book", args=[appointment_type.pk, _SLOT_SENTINEL])
    days: dict = {}
    items = []
    for slot in slots:
        start = at_counter(slot.start, slot.counter)
        place = ", ".join(part for part in (slot.counter.name, slot.counter.address) if part)
        items.append((link.replace(_SLOT_SENTINEL, str(slot.pk)),
                      timezone.localtime(slot.start).isoformat(),
                      slot_when(start, days), place))
    return format_html_join("\n", '<li><a href="{}"><time datetime="{}">{}</time></a> — {}'
                            "</li>", items)
