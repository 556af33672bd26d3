"""Times of appointments as the resident reads them: at the counter's wall clock."""

from __future__ import annotations

import zoneinfo

from django import template
from django.utils import timezone

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
